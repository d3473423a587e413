import math

import pytest
import torch

from genlab.metrics import auroc_auprc, linear_probe, mse, psnr, ssim


def test_psnr_known_offset_and_ssim():
    x = torch.rand(4, 1, 16, 16) * 0.8
    d = 0.05
    assert mse(x + d, x) == pytest.approx(d * d, rel=1e-5)
    assert psnr(x + d, x) == pytest.approx(10 * math.log10(1 / d ** 2), rel=1e-4)
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-6)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    assert ssim(noisy, x) < 0.9


def test_auroc_and_probe():
    labels = torch.tensor([0] * 50 + [1] * 50)
    perfect = auroc_auprc(labels.float() + 0.01 * torch.rand(100), labels)
    assert perfect["auroc"] == 1.0 and perfect["auprc"] == 1.0
    g = torch.Generator().manual_seed(0)
    rnd = auroc_auprc(torch.rand(2000, generator=g), torch.arange(2000) % 2)
    assert abs(rnd["auroc"] - 0.5) < 0.05
    with pytest.raises(ValueError, match="both"):
        auroc_auprc(torch.rand(5), torch.zeros(5))
    x = torch.randn(400, 5, generator=torch.Generator().manual_seed(0))  # seeded: the accuracy is exact
    y = (x[:, 0] + x[:, 1] > 0).long()
    assert linear_probe(x[:300], y[:300], x[300:], y[300:]) > 0.95
