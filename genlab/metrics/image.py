"""Reconstruction and restoration metrics (images N×C×H×W in [0, 1]) and anomaly-score metrics."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure


def mse(x_hat, x) -> float:
    return float(F.mse_loss(x_hat, x))


def bce(x_hat, x) -> float:
    return float(F.binary_cross_entropy(x_hat.clamp(1e-6, 1 - 1e-6), x))


def psnr(x_hat, x, data_range: float = 1.0) -> float:
    """Mean over images of 10·log10(range² / MSE_image) (per-image, then averaged)."""
    return float(peak_signal_noise_ratio(x_hat, x, data_range=data_range, reduction="elementwise_mean",
                                         dim=(1, 2, 3)))


def ssim(x_hat, x, data_range: float = 1.0) -> float:
    """Mean structural similarity (Gaussian window 11, σ 1.5; Wang et al. 2004)."""
    kernel = 11 if min(x.shape[-2:]) >= 11 else (min(x.shape[-2:]) // 2) * 2 - 1
    return float(structural_similarity_index_measure(x_hat, x, data_range=data_range, kernel_size=kernel))


def auroc_auprc(scores, labels) -> dict:
    """Area under the ROC and precision-recall curves of anomaly ``scores`` (labels: 1 = anomalous)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    s = torch.as_tensor(scores).double().numpy()
    y = torch.as_tensor(labels).long().numpy()
    if len(set(y.tolist())) < 2:
        raise ValueError("auroc needs both normal (0) and anomalous (1) examples")
    return {"auroc": float(roc_auc_score(y, s)), "auprc": float(average_precision_score(y, s))}
