"""Judge networks: classifiers whose features and probabilities stand in for Inception-v3.

Standard FID/KID/IS use Inception-v3 features; its weights cannot be downloaded here, and on
digits a small classifier of the same data is the more telling judge. The default is a
LeNet (LeCun et al. 1998: Conv-ReLU-MaxPool ×2, fully connected), widened to reach ≥ 98% test accuracy on mnist5k.
Judges are cached per dataset and image shape as safetensors + JSON.
"""
from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.batches import batched
from ..errors import CheckpointError, DataError, GenlabError
from ..io import load_tensors, read_json, save_tensors, write_json


class Judge(nn.Module):
    """LeNet-style classifier; ``features`` is the penultimate (128-D) layer."""

    def __init__(self, image_shape=(1, 28, 28), num_classes: int = 10, width: int = 64, feature_dim: int = 128):
        super().__init__()
        c, h, w = image_shape
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        self.body = nn.Sequential(
            nn.Conv2d(c, width, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(width, 2 * width, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True), nn.Flatten())
        flat = 2 * width * math.ceil(math.ceil(h / 2) / 2) * math.ceil(math.ceil(w / 2) / 2)
        self.head = nn.Sequential(nn.Linear(flat, feature_dim), nn.ReLU())
        self.out = nn.Sequential(nn.Dropout(0.3), nn.Linear(feature_dim, num_classes))
        self.arch = {"image_shape": list(image_shape), "num_classes": num_classes, "width": width,
                     "feature_dim": feature_dim}

    def features(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.features(x))

    def _chunks(self, fn, x: Tensor, batch_size: int = 500) -> Tensor:
        was = self.training
        self.eval()
        # channels-last inputs (with the weights made channels-last by train_judge/load_judge) take
        # oneDNN's faster convolution path on the CPU (~25%)
        out = batched(lambda b: fn(b.float().contiguous(memory_format=torch.channels_last)), x, batch_size)
        self.train(was)
        return out

    def features_of(self, x: Tensor) -> Tensor:
        return self._chunks(self.features, x)

    def probs_of(self, x: Tensor) -> Tensor:
        return self._chunks(lambda b: self(b).softmax(1), x)

    def embed(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Features and class probabilities in one pass."""
        def both(b: Tensor) -> Tensor:
            f = self.features(b)
            return torch.cat([f, self.out(f).softmax(1)], 1)

        d = self.arch["feature_dim"]
        out = self._chunks(both, x)
        return out[:, :d], out[:, d:]

    def predict(self, x: Tensor) -> Tensor:
        return self.probs_of(x).argmax(1)


def _augment(x: Tensor, g: torch.Generator) -> Tensor:
    """Per-image random affine (±10° rotation, ±10% scale, ±2 px shift), vectorised with grid_sample."""
    n, _, h, w = x.shape
    angle = (torch.rand(n, generator=g) - 0.5) * math.radians(20)
    scale = 1 + (torch.rand(n, generator=g) - 0.5) * 0.2
    shift = (torch.rand(n, 2, generator=g) - 0.5) * torch.tensor([4 / w, 4 / h]) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def train_judge(data_spec: str = "mnist5k", epochs: int = 10, seed: int = 0, image_size=None, channels=None,
                progress: bool = False) -> tuple[Judge, dict]:
    """A plain loop (an instrument, not a genlab model): Adam, one-cycle rate, light affine augmentation."""
    from ..data import load_data

    train = load_data(data_spec, "train", image_size=image_size, channels=channels)
    test = load_data(data_spec, "test", image_size=image_size, channels=channels)
    if train.y is None:
        raise DataError(f"{data_spec} has no labels, so no judge can be trained on it; use labelled data "
                        "(class sub-folders, a y array, or a built-in labelled set)")
    started = time.perf_counter()
    judge = train_classifier(train, epochs, seed, progress=progress)
    accuracy = float((judge.predict(test.x) == test.y).float().mean())
    info = {"data": data_spec, "image_shape": list(train.shape), "num_classes": judge.num_classes,
            "classes": train.classes, "test_accuracy": accuracy, "epochs": epochs, "seed": seed,
            "seconds": round(time.perf_counter() - started, 1), "feature_dim": judge.arch["feature_dim"],
            "arch": judge.arch}
    return judge, info


def train_classifier(train, epochs: int = 10, seed: int = 0, num_classes: int | None = None,
                     progress: bool = False) -> Judge:
    """The judge's recipe on any labelled ImageData (also used by `genlab augment` to train on few
    real and many generated images): Adam, one-cycle rate, light affine augmentation, batch 64."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    judge = Judge(train.shape, num_classes or max(train.num_classes, int(train.y.max()) + 1))
    opt = torch.optim.Adam(judge.parameters(), lr=2e-3)
    steps = epochs * math.ceil(len(train) / 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    judge.train()
    with torch.enable_grad():  # callers such as evaluate() may run under no_grad
        _fit(judge, train, epochs, opt, sched, g, progress)
    return judge.eval().to(memory_format=torch.channels_last)


def _fit(judge, train, epochs, opt, sched, g, progress) -> None:
    for epoch in range(epochs):
        order = torch.randperm(len(train), generator=g)
        for i in range(0, len(train), 64):
            idx = order[i:i + 64]
            loss = F.cross_entropy(judge(_augment(train.x[idx], g)), train.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if progress:
            print(f"judge epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}", flush=True)


def judge_path(data_spec: str, image_shape) -> Path:
    from ..data.download import cache_dir

    key = re.sub(r"[^A-Za-z0-9._-]+", "_", data_spec).strip("_") + "-" + "x".join(map(str, image_shape))
    return cache_dir() / "judges" / key


def save_judge(judge: Judge, info: dict, folder: Path) -> Path:
    save_tensors(judge.state_dict(), folder / "model.safetensors")
    write_json(folder / "judge.json", info)
    return folder


def load_judge(folder: Path, what: str = "judge", fix: str | None = None) -> tuple[Judge, dict]:
    """A cached Judge network (``what`` names it in the refusal, ``fix`` says how to get a good one)."""
    try:
        info = read_json(folder / "judge.json")
        judge = Judge(**{**info["arch"], "image_shape": tuple(info["arch"]["image_shape"])})
        judge.load_state_dict(load_tensors(folder / "model.safetensors"))
    except (CheckpointError, KeyError, TypeError, RuntimeError) as exc:
        fix = fix or f"retrain it with `genlab judge train --data {folder.name.rsplit('-', 1)[0]} --overwrite`"
        raise CheckpointError(f"the cached {what} in {folder} is unusable ({str(exc).splitlines()[0]}); {fix}") from None
    return judge.eval().to(memory_format=torch.channels_last), info


def get_judge(data_spec: str, image_shape, train_if_missing: bool = True, progress: bool = False,
              overwrite: bool = False) -> tuple[Judge, dict]:
    """The cached judge for this data and image shape, trained and stored on first use."""
    folder = judge_path(data_spec, image_shape)
    if (folder / "judge.json").is_file() and not overwrite:
        return load_judge(folder)
    if not train_if_missing:
        raise GenlabError(f"no judge for {data_spec} {tuple(image_shape)}; run `genlab judge train --data {data_spec}`")
    c, h, w = image_shape
    judge, info = train_judge(data_spec, image_size=(h, w), channels=c, progress=progress)
    save_judge(judge, info, folder)
    return judge, info


def list_judges() -> list[dict]:
    from ..data.download import cache_dir

    root = cache_dir() / "judges"
    return [dict(read_json(p / "judge.json"), path=str(p)) for p in sorted(root.glob("*")) if (p / "judge.json").is_file()]


INCEPTION_NAMES = ("pt_inception-2015-12-05*", "weights-inception-2015-12-05*", "inception*.safetensors")


def inception_weights_path() -> Path | None:
    """User-provided Inception-v3 weights: $GENLAB_INCEPTION, or torchmetrics'/torch-fidelity's caches.

    In a cache folder a converted ``.safetensors`` file wins over the ``.pth`` beside it.
    """
    if os.environ.get("GENLAB_INCEPTION"):
        path = Path(os.environ["GENLAB_INCEPTION"]).expanduser()
        return path if path.is_file() else None
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    for folder in (torch_home / "hub" / "checkpoints", Path.home() / ".cache" / "torch-fidelity"):
        found = sorted({p for pattern in INCEPTION_NAMES for p in folder.glob(pattern)},
                       key=lambda p: (p.suffix != ".safetensors", p.name))
        if found:
            return found[0]
    return None


def require_inception(path: str | Path | None = None) -> Path:
    """``path`` (or the weights found by :func:`inception_weights_path`), checked to be safetensors."""
    if path is None and os.environ.get("GENLAB_INCEPTION") and inception_weights_path() is None:
        raise GenlabError(f"GENLAB_INCEPTION is set to {os.environ['GENLAB_INCEPTION']}, which is not a file; point "
                          "it at a .safetensors file of the FID Inception-v3 weights")
    path = Path(path).expanduser() if path is not None else inception_weights_path()
    if path is None:
        raise GenlabError("no Inception-v3 weights found; genlab never downloads them: set GENLAB_INCEPTION to a "
                          ".safetensors file of the FID Inception weights (convert a .pth once, on a machine you "
                          "trust, with safetensors.torch.save_file(torch.load(path), out))")
    if path.suffix != ".safetensors":
        raise GenlabError(f"{path} is a pickle (.pth); genlab never unpickles files: convert it once with "
                          "safetensors.torch.save_file(torch.load(path), 'inception.safetensors') and set GENLAB_INCEPTION")
    if not path.is_file():
        raise GenlabError(f"Inception-v3 weights {path} do not exist; check the path")
    return path
