"""The FID Inception-v3 network ("pt_inception-2015-12-05"), for natural images, from user weights.

This is the Inception-v3 that the reference FID code (TTUR, pytorch-fid, torch-fidelity and through
it torchmetrics) runs: TensorFlow's 2015-12-05 ImageNet graph with 1008 outputs. It differs from
the textbook Inception-v3 in its pooling branches: average pools ignore the zero padding
(``count_include_pad=False``) and the last block (Mixed_7c) max-pools. Images are resized to
299×299 (bilinear), scaled from [0, 1] to [−1, 1], and grayscale is repeated to three channels.
Outputs: the 2048-D average-pooled features (FID, KID, precision/recall) and the 1008-way logits
(Inception Score).

Parameter names follow torchvision's ``Inception3`` as patched by pytorch-fid, so a state dict
converted from ``pt_inception-2015-12-05-6726825d.pth`` with
``safetensors.torch.save_file(torch.load(p), out)`` loads strictly. Weights are read only from a
``.safetensors`` file the user provides: nothing is downloaded and nothing is unpickled.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.batches import batched
from ..errors import CheckpointError, GenlabError

FEATURE_DIM, NUM_LOGITS, INPUT_SIZE = 2048, 1008, 299


class ConvBN(nn.Module):
    """Convolution without bias, batch norm (TensorFlow's ε = 0.001), ReLU."""

    def __init__(self, cin: int, cout: int, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: Tensor) -> Tensor:
    # TensorFlow's SAME average pool divides by the number of real (unpadded) pixels
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class MixedA(nn.Module):
    """35×35 block: 1×1 | 1×1→5×5 | 1×1→3×3→3×3 | pool→1×1."""

    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = ConvBN(cin, 64, 1)
        self.branch5x5_1 = ConvBN(cin, 48, 1)
        self.branch5x5_2 = ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1)
        self.branch_pool = ConvBN(cin, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1x1(x),
                          self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(_avg_pool(x))], 1)


class ReduceB(nn.Module):
    """35×35 → 17×17: strided 3×3 | 1×1→3×3→strided 3×3 | max-pool."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = ConvBN(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch3x3(x),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, stride=2)], 1)


class MixedC(nn.Module):
    """17×17 block with factorised 7×7 convolutions (1×7 and 7×1)."""

    def __init__(self, cin: int, channels_7x7: int):
        super().__init__()
        c = channels_7x7
        row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        self.branch1x1 = ConvBN(cin, 192, 1)
        self.branch7x7_1 = ConvBN(cin, c, 1)
        self.branch7x7_2 = ConvBN(c, c, **row)
        self.branch7x7_3 = ConvBN(c, 192, **col)
        self.branch7x7dbl_1 = ConvBN(cin, c, 1)
        self.branch7x7dbl_2 = ConvBN(c, c, **col)
        self.branch7x7dbl_3 = ConvBN(c, c, **row)
        self.branch7x7dbl_4 = ConvBN(c, c, **col)
        self.branch7x7dbl_5 = ConvBN(c, 192, **row)
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        seven = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                      self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), seven, double, self.branch_pool(_avg_pool(x))], 1)


class ReduceD(nn.Module):
    """17×17 → 8×8: 1×1→strided 3×3 | 1×1→1×7→7×1→strided 3×3 | max-pool."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = ConvBN(cin, 192, 1)
        self.branch3x3_2 = ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(cin, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        seven = x
        for layer in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            seven = layer(seven)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven, F.max_pool2d(x, 3, stride=2)], 1)


class MixedE(nn.Module):
    """8×8 block whose 3×3 paths fan out into parallel 1×3 and 3×1 convolutions.

    ``pool="max"`` is the FID network's last block (Mixed_7c), which max-pools where the paper
    average-pools; the reference features depend on it.
    """

    def __init__(self, cin: int, pool: str = "avg"):
        super().__init__()
        self.pool = pool
        self.branch1x1 = ConvBN(cin, 320, 1)
        self.branch3x3_1 = ConvBN(cin, 384, 1)
        self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBN(cin, 448, 1)
        self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.pool == "max" else _avg_pool(x)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(a), self.branch3x3_2b(a),
                          self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b), self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 as used for FID; ``forward`` gives (N×2048 pool features, N×1008 logits)."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)
        self.Mixed_5b = MixedA(192, 32)
        self.Mixed_5c = MixedA(256, 64)
        self.Mixed_5d = MixedA(288, 64)
        self.Mixed_6a = ReduceB(288)
        self.Mixed_6b = MixedC(768, 128)
        self.Mixed_6c = MixedC(768, 160)
        self.Mixed_6d = MixedC(768, 160)
        self.Mixed_6e = MixedC(768, 192)
        self.Mixed_7a = ReduceD(768)
        self.Mixed_7b = MixedE(1280, pool="avg")
        self.Mixed_7c = MixedE(2048, pool="max")
        self.fc = nn.Linear(FEATURE_DIM, NUM_LOGITS)

    @staticmethod
    def prepare(x: Tensor) -> Tensor:
        """[0, 1] images of any size, 1 or 3 channels -> 3×299×299 in [−1, 1]."""
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise GenlabError(f"Inception-v3 takes N×C×H×W images with 1 or 3 channels, got shape {tuple(x.shape)}")
        x = x.float()
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        # channels-last (with load_inception's channels-last weights): oneDNN's faster CPU path, ~30%
        return (2 * x - 1).contiguous(memory_format=torch.channels_last)

    def features(self, x: Tensor) -> Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(self.prepare(x))))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean((2, 3))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f = self.features(x)
        return f, self.fc(f)

    def unbiased_logits(self, features: Tensor) -> Tensor:
        # the reference Inception Score code multiplies the pool features by the softmax weights
        # without adding the bias (torch-fidelity and torchmetrics call these "logits_unbiased")
        return features @ self.fc.weight.T

    # --- the judge interface used by evaluate(): batched, no grad, on the network's device ---------

    @torch.no_grad()
    def embed(self, x: Tensor, batch_size: int = 32) -> tuple[Tensor, Tensor]:
        """Features (N×2048) and Inception-Score class probabilities (N×1008), on the CPU."""
        self.eval()
        device = next(self.parameters()).device
        feats = batched(self.features, x, batch_size, device)
        return feats, self.unbiased_logits(feats.to(device)).softmax(1).cpu()

    def features_of(self, x: Tensor) -> Tensor:
        return self.embed(x)[0]

    def probs_of(self, x: Tensor) -> Tensor:
        return self.embed(x)[1]


def load_inception(path: str | Path | None = None, device=None) -> FIDInceptionV3:
    """The FID Inception-v3 with weights from ``path`` (default: ``require_inception()``)."""
    from ..io import load_tensors
    from .judge import require_inception

    path = require_inception(path)
    tensors = load_tensors(path)
    with torch.device("meta"):  # shapes only: the file supplies every value, so skip 24M random inits
        net = FIDInceptionV3()
    expected = net.state_dict()
    # files converted from older PyTorch lack BatchNorm's num_batches_tracked counters; they do not
    # influence inference, so zero counters fill in for them
    for key in expected:
        if key.endswith("num_batches_tracked"):
            tensors.setdefault(key, torch.zeros((), dtype=torch.long))
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        parts = [f"{label} {len(keys)} ({', '.join(keys[:3])}{', …' if len(keys) > 3 else ''})"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
        raise CheckpointError(f"{path} does not hold the FID Inception-v3 weights (pt_inception-2015-12-05): "
                              f"{'; '.join(parts)}; convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth "
                              "and point GENLAB_INCEPTION at the result")
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    net.load_state_dict(tensors, strict=True, assign=True)
    return net.to(device or "cpu", memory_format=torch.channels_last).eval().requires_grad_(False)
