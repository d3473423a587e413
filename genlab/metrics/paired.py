"""Metrics for paired tasks (segmentation, restoration, super-resolution, judged translation).

Segmentation, from the confusion matrix over all pixels (TP, FP, FN per class c):

    pixel accuracy = Σ_c TP_c / #pixels
    IoU_c          = TP_c / (TP_c + FP_c + FN_c)          (Jaccard)
    Dice_c         = 2·TP_c / (2·TP_c + FP_c + FN_c)      (= 2·IoU_c / (1 + IoU_c))
    mean IoU, Dice = mean over the classes that occur in the target or the prediction

Restoration (images N×C×H×W in [0, 1], mask N×H×W with 1 = scored pixel):

    masked MSE_i   = Σ_{p∈M_i} Σ_ch (x̂ − x)² / (C·|M_i|)
    masked PSNR_i  = 10·log10(range² / masked MSE_i),  averaged over images with |M_i| > 0

No-reference sharpness (higher = sharper; blurring lowers both):

    sharpness       = mean_i mean_ch Var[(L ∗ x)_{i,ch}],  L = [[0, 1, 0], [1, −4, 1], [0, 1, 0]] (valid positions)
    gradient energy = mean_i ( mean (x[h, w+1] − x[h, w])² + mean (x[h+1, w] − x[h, w])² )

Super-resolution baselines: bicubic (Keys 1981) and nearest-neighbour upsampling by the scale factor.
Judged agreement: the share of outputs that a classifier assigns to the label of their source.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import multiclass_confusion_matrix

from .image import mse as _full_mse
from .image import psnr as _full_psnr
from .image import ssim as _full_ssim

_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _check_images(x, name: str = "x", min_size: int = 1) -> torch.Tensor:
    if not torch.is_tensor(x) or x.dim() != 4:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{name} must be an N×C×H×W image tensor, got {shape}; add the batch/channel axes")
    if x.shape[0] == 0:
        raise ValueError(f"{name} holds no images; pass at least one")
    if min(x.shape[-2:]) < min_size:
        raise ValueError(f"{name} is {x.shape[-2]}×{x.shape[-1]}; this metric needs images of at least "
                         f"{min_size}×{min_size}")
    return x


def _check_pair(x_hat, x):
    _check_images(x_hat, "x_hat")
    _check_images(x, "x")
    if x_hat.shape != x.shape:
        raise ValueError(f"output shape {tuple(x_hat.shape)} differs from target shape {tuple(x.shape)}; "
                         "score images of the same size")


def _check_mask(mask, x) -> torch.Tensor:
    """The mask as bool N×H×W; 0/1 values only, so a soft mask is not silently thresholded."""
    n, _, h, w = x.shape
    if not torch.is_tensor(mask) or tuple(mask.shape) != (n, h, w):
        shape = tuple(mask.shape) if torch.is_tensor(mask) else type(mask).__name__
        raise ValueError(f"mask must be N×H×W = {(n, h, w)} matching the images, got {shape}")
    if mask.dtype != torch.bool:
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask must hold only 0 (ignored) and 1 (scored); threshold a soft mask first")
        mask = mask != 0
    return mask


# ---------------------------------------------------------------------------------------------- segmentation
def segmentation_scores(pred, target, num_classes: int) -> dict:
    """Pixel accuracy, mean IoU, Dice and per-class IoU/Dice of a segmentation.

    ``pred``: N×K×H×W logits/probabilities (argmax over K) or N×H×W class indices; ``target``: N×H×W
    indices in [0, num_classes). Classes absent from both target and prediction are skipped in the
    means and are NaN in ``iou_per_class``/``dice_per_class``.
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if not torch.is_tensor(target) or target.dim() != 3:
        shape = tuple(target.shape) if torch.is_tensor(target) else type(target).__name__
        raise ValueError(f"target must be an N×H×W tensor of class indices, got {shape}")
    if target.is_floating_point():
        raise ValueError("target must hold integer class indices (long), not floats")
    if not torch.is_tensor(pred) or pred.dim() not in (3, 4):
        shape = tuple(pred.shape) if torch.is_tensor(pred) else type(pred).__name__
        raise ValueError(f"pred must be N×K×H×W scores or N×H×W class indices, got {shape}")
    if pred.dim() == 4:
        if pred.shape[1] != num_classes:
            raise ValueError(f"pred has {pred.shape[1]} class channels but num_classes={num_classes}")
        pred = pred.argmax(dim=1)
    elif pred.is_floating_point():
        raise ValueError("N×H×W pred must hold integer class indices; pass N×K×H×W scores to take the argmax")
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}")
    if target.numel() == 0:
        raise ValueError("target holds no pixels; pass at least one labelled pixel")
    for name, t in (("target", target), ("pred", pred)):
        if int(t.min()) < 0 or int(t.max()) >= num_classes:
            raise ValueError(f"{name} holds class {int(t.min()) if int(t.min()) < 0 else int(t.max())}, "
                             f"outside [0, {num_classes}); check num_classes")

    # torchmetrics builds the confusion matrix (rows = target, columns = prediction); its jaccard/F1 scores
    # report 0 (not NaN) for a class absent from both, so the per-class arithmetic is done here.
    cm = multiclass_confusion_matrix(pred.reshape(-1).long(), target.reshape(-1).long(), num_classes,
                                     validate_args=False).double()
    tp = cm.diagonal()
    fp = cm.sum(dim=0) - tp
    fn = cm.sum(dim=1) - tp
    present = (tp + fp + fn) > 0
    nan = torch.full_like(tp, math.nan)
    iou = torch.where(present, tp / (tp + fp + fn).clamp_min(1), nan)
    dice = torch.where(present, 2 * tp / (2 * tp + fp + fn).clamp_min(1), nan)
    return {
        "pixel_accuracy": float(tp.sum() / cm.sum()),
        "mean_iou": float(iou[present].mean()),
        "dice": float(dice[present].mean()),
        "iou_per_class": [float(v) for v in iou],
        "dice_per_class": [float(v) for v in dice],
    }


# ----------------------------------------------------------------------------------------------- restoration
def _masked_mse_per_image(x_hat, x, mask) -> tuple[torch.Tensor, torch.Tensor]:
    _check_pair(x_hat, x)
    mask = _check_mask(mask, x)
    counts = mask.flatten(1).sum(dim=1)
    if int(counts.sum()) == 0:
        raise ValueError("mask selects no pixel in any image; mark the scored pixels with 1")
    sq = (x_hat.double() - x.double()).pow(2).sum(dim=1)            # summed over channels: N×H×W
    per_pixel = (sq * mask).flatten(1).sum(dim=1) / (counts.clamp_min(1) * x.shape[1])
    keep = counts > 0
    return per_pixel[keep], keep


def masked_mse(x_hat, x, mask) -> float:
    """Mean squared error over the pixels where ``mask`` is 1 (all channels), per image then averaged."""
    per_image, _ = _masked_mse_per_image(x_hat, x, mask)
    return float(per_image.mean())


def masked_psnr(x_hat, x, mask, data_range: float = 1.0) -> float:
    """PSNR over the masked pixels only, per image then averaged over images whose mask is non-empty.

    An image restored exactly inside its mask has PSNR +inf, as the full-image ``psnr`` does.
    """
    if data_range <= 0:
        raise ValueError(f"data_range must be positive, got {data_range}")
    per_image, _ = _masked_mse_per_image(x_hat, x, mask)
    return float((10 * torch.log10(data_range ** 2 / per_image)).mean())


def restoration_scores(output, target, mask=None) -> dict:
    """``psnr``, ``ssim`` and ``mse`` of ``output`` against ``target``; with ``mask`` (N×H×W, 1 = hole)
    also ``hole_psnr`` and ``hole_mse`` over the masked pixels."""
    _check_pair(output, target)
    scores = {"psnr": _full_psnr(output, target), "ssim": _full_ssim(output, target),
              "mse": _full_mse(output, target)}
    if mask is not None:
        scores["hole_psnr"] = masked_psnr(output, target, mask)
        scores["hole_mse"] = masked_mse(output, target, mask)
    return scores


# ------------------------------------------------------------------------------------------------- sharpness
def sharpness(x) -> float:
    """Variance of the Laplacian (3×3, per channel, valid positions), averaged over channels and images."""
    _check_images(x, "x", min_size=3)
    c = x.shape[1]
    kernel = _LAPLACIAN.to(dtype=torch.float64, device=x.device).expand(c, 1, 3, 3)
    # valid convolution: zero padding would add a false edge along the border of every image
    lap = F.conv2d(x.double(), kernel, groups=c)
    return float(lap.flatten(2).var(dim=2, unbiased=False).mean())


def gradient_energy(x) -> float:
    """Mean squared horizontal plus mean squared vertical finite difference, averaged over images."""
    _check_images(x, "x", min_size=2)
    x = x.double()
    dx = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).mean(dim=1)
    dy = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).mean(dim=1)
    return float((dx + dy).mean())


# ------------------------------------------------------------------------------------------ super-resolution
def upsample_baselines(low, scale: int) -> dict[str, torch.Tensor]:
    """``{"bicubic": ..., "nearest": ...}``: ``low`` (N×C×h×w) upsampled by the integer ``scale``."""
    _check_images(low, "low")
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ValueError(f"scale must be a positive integer (2, 4, ...), got {scale!r}")
    low = low.float()
    bicubic = F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False)
    nearest = F.interpolate(low, scale_factor=scale, mode="nearest")
    # bicubic overshoots near edges; clamp back to the [0, 1] image range
    return {"bicubic": bicubic.clamp(0.0, 1.0), "nearest": nearest}


# ---------------------------------------------------------------------------------------------------- judge
def judged_agreement(probs_or_labels, labels) -> float:
    """Share of outputs whose judged class (argmax of N×K scores, or N given indices) equals ``labels``."""
    judged = torch.as_tensor(probs_or_labels)
    labels = torch.as_tensor(labels)
    if labels.dim() != 1:
        raise ValueError(f"labels must be a 1-D tensor of N class indices, got shape {tuple(labels.shape)}")
    if judged.dim() == 2:
        judged = judged.argmax(dim=1)
    elif judged.dim() != 1:
        raise ValueError(f"judged outputs must be N×K scores or N indices, got shape {tuple(judged.shape)}")
    elif judged.is_floating_point():
        raise ValueError("1-D judged outputs must be integer class indices; pass N×K scores to take the argmax")
    if judged.shape[0] != labels.shape[0]:
        raise ValueError(f"{judged.shape[0]} judged outputs but {labels.shape[0]} labels; pass one label each")
    if labels.shape[0] == 0:
        raise ValueError("no outputs to judge; pass at least one")
    return float((judged.long() == labels.long()).double().mean())
