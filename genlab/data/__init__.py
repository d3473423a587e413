"""Where images come from: ``load_data(spec)`` -> ImageData."""
from .batches import TensorBatches
from .imagedata import ImageData
from .sources import DATASETS, load_data

__all__ = ["ImageData", "load_data", "DATASETS", "TensorBatches"]
