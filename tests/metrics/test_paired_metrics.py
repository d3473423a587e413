import math

import pytest
import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import multiclass_jaccard_index

from genlab.metrics.image import psnr
from genlab.metrics.paired import (gradient_energy, judged_agreement, masked_mse, masked_psnr, restoration_scores,
                                   segmentation_scores, sharpness, upsample_baselines)

# target [[0, 0], [1, 2]], prediction [[0, 1], [1, 1]], 4 classes (class 3 in neither):
#   class 0: TP 1, FP 0, FN 1 -> IoU 1/2, Dice 2/3
#   class 1: TP 1, FP 2, FN 0 -> IoU 1/3, Dice 2/4
#   class 2: TP 0, FP 0, FN 1 -> IoU 0,   Dice 0
#   pixel accuracy 2/4; mean IoU (1/2 + 1/3 + 0)/3 = 5/18; Dice (2/3 + 1/2 + 0)/3 = 7/18
TARGET = torch.tensor([[[0, 0], [1, 2]]])
PRED = torch.tensor([[[0, 1], [1, 1]]])


def test_segmentation_hand_computed_2x2():
    s = segmentation_scores(PRED, TARGET, num_classes=4)
    assert s["pixel_accuracy"] == pytest.approx(0.5)
    assert s["mean_iou"] == pytest.approx(5 / 18)
    assert s["dice"] == pytest.approx(7 / 18)
    assert s["iou_per_class"][:3] == pytest.approx([1 / 2, 1 / 3, 0.0])
    assert math.isnan(s["iou_per_class"][3]) and math.isnan(s["dice_per_class"][3])
    # logits give the same scores as their argmax
    logits = F.one_hot(PRED, 4).permute(0, 3, 1, 2).float() * 3 + 0.1 * torch.randn(1, 4, 2, 2)
    from_logits = segmentation_scores(logits, TARGET, 4)
    for key in ("pixel_accuracy", "mean_iou", "dice"):
        assert from_logits[key] == pytest.approx(s[key])
    assert from_logits["iou_per_class"] == pytest.approx(s["iou_per_class"], nan_ok=True)


def test_segmentation_perfect_wrong_and_dice_iou_identity():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 3, (2, 6, 6), generator=g)
    perfect = segmentation_scores(target, target, 3)
    assert perfect["mean_iou"] == 1.0 and perfect["dice"] == 1.0 and perfect["pixel_accuracy"] == 1.0
    wrong = segmentation_scores((target + 1) % 3, target, 3)
    assert wrong["mean_iou"] == 0.0 and wrong["dice"] == 0.0 and wrong["pixel_accuracy"] == 0.0
    pred = torch.randint(0, 3, (2, 6, 6), generator=g)
    s = segmentation_scores(pred, target, 3)
    for iou, dice in zip(s["iou_per_class"], s["dice_per_class"]):
        assert dice == pytest.approx(2 * iou / (1 + iou))
    # with every class present, per-class IoU agrees with torchmetrics' jaccard
    ref = multiclass_jaccard_index(pred, target, num_classes=3, average="none")
    assert s["iou_per_class"] == pytest.approx(ref.tolist(), abs=1e-6)


def test_segmentation_skips_absent_classes():
    # class 2 of 3 occurs nowhere: including it as 0 would give a mean IoU of 2/3 instead of 1
    target = torch.tensor([[[0, 1], [1, 0]]])
    s = segmentation_scores(target, target, 3)
    assert s["mean_iou"] == 1.0 and s["dice"] == 1.0
    assert s["iou_per_class"][:2] == [1.0, 1.0] and math.isnan(s["iou_per_class"][2])
    # a class only predicted (a false positive) is not skipped: it counts with IoU 0
    pred = torch.tensor([[[0, 1], [1, 2]]])
    assert segmentation_scores(pred, target, 3)["iou_per_class"][2] == 0.0


def test_segmentation_errors():
    with pytest.raises(ValueError, match="differs from target shape"):
        segmentation_scores(torch.zeros(1, 3, 3, dtype=torch.long), TARGET, 3)
    with pytest.raises(ValueError, match="class channels"):
        segmentation_scores(torch.zeros(1, 5, 2, 2), TARGET, 3)
    with pytest.raises(ValueError, match="outside"):
        segmentation_scores(PRED, TARGET, 2)


def test_masked_psnr_hand_computed():
    x = torch.zeros(1, 1, 2, 2)
    x_hat = torch.tensor([[[[0.1, 0.2], [0.3, 0.5]]]])
    mask = torch.tensor([[[1, 1], [0, 0]]])
    # masked MSE = (0.01 + 0.04) / 2 = 0.025; PSNR = 10·log10(1 / 0.025) = 16.0206 dB
    assert masked_mse(x_hat, x, mask) == pytest.approx(0.025)
    assert masked_psnr(x_hat, x, mask) == pytest.approx(10 * math.log10(40))
    # errors outside the mask are ignored
    worse = x_hat.clone()
    worse[..., 1, :] = 1.0
    assert masked_psnr(worse, x, mask) == pytest.approx(masked_psnr(x_hat, x, mask))
    # every channel of a masked pixel counts: channel 2 off by 0.3 on both masked pixels
    x2 = torch.zeros(1, 2, 2, 2)
    x_hat2 = torch.cat([x_hat, torch.full_like(x_hat, 0.3)], dim=1)
    assert masked_mse(x_hat2, x2, mask) == pytest.approx((0.01 + 0.04 + 0.09 + 0.09) / 4)


def test_masked_psnr_per_image_and_full_mask():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 8, 8, generator=g) * 0.8
    x_hat = (x + 0.05 * torch.randn(3, 3, 8, 8, generator=g)).clamp(0, 1)
    full = torch.ones(3, 8, 8, dtype=torch.long)
    assert masked_psnr(x_hat, x, full) == pytest.approx(psnr(x_hat, x), rel=1e-5)
    # image 0: 1 pixel off by 0.1 -> 20 dB; image 1: 2 pixels off by 0.01 -> 40 dB; image 2: empty mask, skipped
    y = torch.zeros(3, 1, 2, 2)
    y_hat = torch.tensor([0.1, 0.0, 0.0, 0.0, 0.01, 0.01, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5]).view(3, 1, 2, 2)
    m = torch.tensor([1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]).view(3, 2, 2)
    assert masked_psnr(y_hat, y, m) == pytest.approx((20 + 40) / 2)
    with pytest.raises(ValueError, match="selects no pixel"):
        masked_psnr(y_hat, y, torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="mask must be"):
        masked_psnr(y_hat, y, torch.ones(3, 1, 2, 2))
    with pytest.raises(ValueError, match="0 .ignored. and 1"):
        masked_mse(y_hat, y, torch.full((3, 2, 2), 0.5))
    with pytest.raises(ValueError, match="differs from target shape"):
        masked_psnr(y_hat, torch.zeros(3, 1, 2, 3), m)


def test_restoration_scores():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 1, 12, 12, generator=g)
    out = x.clone()
    out[:, :, :6] = 0.5
    mask = torch.zeros(2, 12, 12)
    mask[:, :6] = 1
    s = restoration_scores(out, x)
    assert set(s) == {"psnr", "ssim", "mse"} and s["psnr"] == pytest.approx(psnr(out, x))
    holes = restoration_scores(out, x, mask)
    # every error lies in the hole, which is half the image: hole MSE is twice the full MSE (+3 dB)
    assert holes["hole_mse"] == pytest.approx(2 * holes["mse"], rel=1e-5)
    assert holes["hole_psnr"] == pytest.approx(masked_psnr(out, x, mask))
    assert restoration_scores(x, x)["ssim"] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="differs from target shape"):
        restoration_scores(out, x[:1])


def test_sharpness_and_gradient_energy_hand_computed():
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 1] = 1.0
    # valid Laplacian responses at (1,1), (1,2), (2,1), (2,2): -4, 1, 1, 0 -> mean -1/2, variance 18/4 - 1/4
    assert sharpness(x) == pytest.approx(4.25)
    # 12 horizontal differences, two of them ±1: 2/12; the same vertically
    assert gradient_energy(x) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="at least 3"):
        sharpness(torch.zeros(1, 1, 2, 5))
    with pytest.raises(ValueError, match="N×C×H×W"):
        gradient_energy(torch.zeros(4, 4))


def test_blur_lowers_sharpness():
    g = torch.Generator().manual_seed(3)
    sharp = torch.rand(2, 3, 16, 16, generator=g)
    blurred = F.avg_pool2d(sharp, 3, stride=1, padding=1, count_include_pad=False)
    assert sharpness(blurred) < 0.5 * sharpness(sharp)
    assert gradient_energy(blurred) < 0.5 * gradient_energy(sharp)
    assert sharpness(torch.full((1, 1, 8, 8), 0.7)) == 0.0


def test_upsample_baselines():
    low = torch.zeros(2, 3, 4, 4)
    low[..., 2:] = 1.0                              # a step edge: raw bicubic overshoots past [0, 1]
    up = upsample_baselines(low, 4)
    assert set(up) == {"bicubic", "nearest"}
    assert up["bicubic"].shape == up["nearest"].shape == (2, 3, 16, 16)
    raw = F.interpolate(low, scale_factor=4, mode="bicubic", align_corners=False)
    assert raw.min() < 0 and raw.max() > 1
    assert up["bicubic"].min() >= 0 and up["bicubic"].max() <= 1
    assert torch.equal(up["nearest"], low.repeat_interleave(4, dim=2).repeat_interleave(4, dim=3))
    assert torch.allclose(upsample_baselines(torch.full((1, 1, 3, 3), 0.4), 2)["bicubic"], torch.tensor(0.4))
    with pytest.raises(ValueError, match="scale"):
        upsample_baselines(low, 0)


def test_judged_agreement():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert judged_agreement(probs, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert judged_agreement(torch.tensor([0, 1, 0]), [0, 1, 1]) == pytest.approx(2 / 3)
    assert judged_agreement(probs, torch.tensor([0, 1, 0])) == 1.0
    with pytest.raises(ValueError, match="3 judged outputs but 2 labels"):
        judged_agreement(probs, torch.tensor([0, 1]))
