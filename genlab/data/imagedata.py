"""ImageData: images with their optional labels, targets and masks, kept as tensors in memory.

``meta`` describes the pixel values: ``levels`` L (each pixel stores one of v/(L−1), v = 0…L−1;
absent means 256 grey levels), ``categorical`` (the values are unordered codes) and ``binarize``:
with ``"dynamic"``, grey images yield x ~ Bernoulli(x) afresh every time a batch is fetched
(:class:`~genlab.data.batches.BernoulliBatches`); images that are already 0/1 are yielded as they are.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError
from .batches import BernoulliBatches, TensorBatches, iterate, tensor_loader

RANGE_SLACK = 1e-3   # float images may stray this far outside [0, 1] (rounding), no further


def as_images(x) -> Tensor:
    """``x`` as N×C×H×W float images in [0, 1], or one line saying what to change.

    * a torch tensor or numpy array; uint8 (0..255) is scaled to [0, 1], other integer types are refused;
    * floats must already lie in [0, 1] (0.001 of rounding slack): 0..255 floats or [-1, 1] data are refused;
    * 4-D N×C×H×W. Channels-last N×H×W×C (last dim 1, 3 or 4, both H and W above 4) is refused with
      the ``permute(0, 3, 1, 2)`` to apply: reading it as N×C×H×W would make W×C-pixel images;
    * 3-D N×H×W grey images are read as N×1×H×W, except when N is 3 or 4, where one C×H×W colour
      image is as likely: those are refused with both fixes (``x[:, None]`` or ``x[None]``);
    * any other rank is refused.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, Tensor):
        raise DataError(f"ImageData images must be a torch tensor or numpy array (N×C×H×W), not {type(x).__name__}")
    shape = tuple(x.shape)
    if x.ndim == 3:
        if shape[0] in (3, 4):
            raise DataError(f"images of shape {shape} are ambiguous: pass x[:, None] for {shape[0]} grey images "
                            f"or x[None] for one {shape[0]}-channel image (ImageData wants N×C×H×W)")
        x = x[:, None]
    elif x.ndim != 4:
        raise DataError(f"images must be a 4-D N×C×H×W tensor (or 3-D N×H×W grey), got {x.ndim}-D shape {shape}")
    elif shape[3] in (1, 3, 4) and shape[1] > 4 and shape[2] > 4:
        raise DataError(f"images of shape {shape} look channels-last (N×H×W×C); ImageData wants N×C×H×W: "
                        "pass x.permute(0, 3, 1, 2)")
    if x.dtype == torch.uint8:
        return x.float().div_(255)
    if x.dtype == torch.bool or not x.is_floating_point():
        raise DataError(f"images must be uint8 (0..255) or floats in [0, 1], got {str(x.dtype).removeprefix('torch.')}")
    if x.numel():
        lo, hi = float(x.min()), float(x.max())
        if lo < -RANGE_SLACK or hi > 1 + RANGE_SLACK:
            raise DataError(f"float images must lie in [0, 1], found {lo:.3g}..{hi:.3g}: divide 0..255 values by 255 "
                            "(or pass uint8), map [-1, 1] data with (x + 1) / 2")
    return x


def is_binary(x: Tensor) -> bool:
    """Every value exactly 0 or 1."""
    return bool(((x == 0) | (x == 1)).all())


@dataclass(repr=False)
class ImageData:
    """Images ``x`` (N×C×H×W float in [0,1]), optional labels ``y`` (N, long), optional paired
    ``target`` images and segmentation ``mask`` (N×H×W, long); for unpaired translation the
    ``domain`` of each image (N, long: an index into ``meta["domains"]``, the domains' names), and
    for multi-domain translation its ``attributes`` (N×K float 0/1, named by ``meta["attributes"]``).

    ``x`` may also be given as uint8 (scaled to [0, 1]), as a numpy array, or as N×H×W grey
    images; channels-last, other ranks and floats outside [0, 1] are refused (:func:`as_images`)."""

    x: Tensor
    y: Tensor | None = None
    target: Tensor | None = None
    mask: Tensor | None = None
    classes: list[str] | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)
    domain: Tensor | None = None
    attributes: Tensor | None = None

    def __post_init__(self):
        self.x = as_images(self.x)
        if isinstance(self.y, np.ndarray):
            self.y = torch.from_numpy(self.y)
        if self.y is not None and len(self.y) != len(self.x):
            raise DataError(f"ImageData has {len(self.x)} images but {len(self.y)} labels; give one label per image")
        for name in ("domain", "attributes"):
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                setattr(self, name, value := torch.from_numpy(value))
            if value is not None and len(value) != len(self.x):
                raise DataError(f"ImageData has {len(self.x)} images but {len(value)} {name} entries; give one per image")

    def __repr__(self) -> str:
        n, shape = len(self.x), "×".join(str(d) for d in self.x.shape[1:])
        text = f"ImageData({self.name or 'unnamed'!r}, {n}×{shape}"
        if self.classes:
            shown = ", ".join(self.classes[:5]) + (", …" if len(self.classes) > 5 else "")
            text += f", {len(self.classes)} classes: {shown}"
        elif self.y is not None:
            text += f", {self.num_classes} classes"
        return text + ")"

    def __len__(self) -> int:
        return len(self.x)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        if self.classes:
            return len(self.classes)
        if self.y is not None and len(self.y):
            return int(self.y.max()) + 1
        return 0

    def subset(self, index) -> "ImageData":
        index = torch.as_tensor(index, dtype=torch.long)
        pick = lambda t: None if t is None else t.index_select(0, index)  # noqa: E731
        # already checked: a copy with the rows picked, without validating the images again
        out = copy.copy(self)
        out.x, out.y, out.target, out.mask = pick(self.x), pick(self.y), pick(self.target), pick(self.mask)
        out.domain, out.attributes = pick(self.domain), pick(self.attributes)
        out.meta = dict(self.meta)   # the subset's own dict: changing one's meta leaves the other's alone
        return out

    @property
    def redraws(self) -> bool:
        """Whether fetched batches are fresh Bernoulli draws (dynamic binarisation of grey images)."""
        return self.meta.get("binarize") == "dynamic" and not is_binary(self.x)

    def dataset(self) -> TensorBatches:
        kind = BernoulliBatches if self.redraws else TensorBatches
        return kind(x=self.x, y=self.y, target=self.target, mask=self.mask, domain=self.domain,
                    attributes=self.attributes)

    def loader(self, batch_size: int, shuffle: bool = True, drop_last: bool = False, seed: int = 0):
        return tensor_loader(self.dataset(), batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)

    def batches(self, batch_size: int = 256):
        return iterate(self.dataset(), batch_size)

    def spread(self, n: int) -> "ImageData":
        """``n`` evenly spaced items: every class of class-sorted data shows up."""
        return self.subset(torch.linspace(0, len(self) - 1, min(n, len(self))).long())

    def batch(self, n: int | None = None, start: int = 0) -> dict:
        stop = len(self) if n is None else min(len(self), start + n)
        return self.dataset().__getitems__(range(start, stop))
