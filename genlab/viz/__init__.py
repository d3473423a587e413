"""Pictures and pages: image grids, plots and a self-contained HTML report.

This package knows nothing of models or training: it takes tensors, arrays and files
(images are N×C×H×W floats in [0, 1], C = 1 or 3) and returns PIL images, matplotlib
figures (Agg canvas, no pyplot state) or HTML.
"""
from .grids import grid_image, labelled_rows, make_grid, png_data_uri, save_grid, save_image, strip, to_pil
from .plots import (figure_data_uri, figure_to_png, histogram, interpolation_strip, latent_scatter, manifold_grid,
                    read_metrics_csv, training_curves)
from .report import Report

__all__ = ["make_grid", "grid_image", "save_grid", "save_image", "strip", "labelled_rows", "png_data_uri", "to_pil",
           "latent_scatter", "training_curves", "read_metrics_csv", "interpolation_strip", "manifold_grid",
           "histogram", "figure_to_png", "figure_data_uri", "Report"]
