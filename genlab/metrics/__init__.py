"""Metrics: sample quality on judge features, likelihood bounds, reconstruction, representation."""
from .image import auroc_auprc, bce, mse, psnr, ssim
from .representation import linear_probe, probe_table
from .sample import (class_coverage, density_coverage, duplicate_rate, duplicate_reference, fid, inception_score, kid,
                     memorization, nearest_neighbours, precision_recall)

__all__ = ["fid", "kid", "inception_score", "precision_recall", "density_coverage", "class_coverage",
           "duplicate_rate", "duplicate_reference", "nearest_neighbours", "memorization", "mse", "bce", "psnr", "ssim",
           "auroc_auprc", "linear_probe", "probe_table"]
