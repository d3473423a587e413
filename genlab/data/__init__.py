"""Where images come from: ``load_data(spec)`` -> ImageData; ``make_pairs(data, task)`` -> pairs."""
from .batches import TensorBatches
from .imagedata import ImageData
from .sources import DATASETS, binarized, load_data, load_spec, parse_binarize
from .tasks import TASKS, lab_to_rgb, make_pairs, parse_task, phantom

__all__ = ["ImageData", "load_data", "load_spec", "parse_binarize", "binarized", "DATASETS", "TensorBatches", "TASKS", "make_pairs", "parse_task", "lab_to_rgb",
           "phantom"]
