"""ImageData: images with their optional labels, targets and masks, kept as tensors in memory."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import Tensor

from .batches import TensorBatches, iterate, tensor_loader


@dataclass
class ImageData:
    """Images ``x`` (N×C×H×W float in [0,1]), optional labels ``y`` (N, long), optional paired
    ``target`` images and segmentation ``mask`` (N×H×W, long)."""

    x: Tensor
    y: Tensor | None = None
    target: Tensor | None = None
    mask: Tensor | None = None
    classes: list[str] | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)

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
        return replace(self, x=pick(self.x), y=pick(self.y), target=pick(self.target), mask=pick(self.mask))

    def dataset(self) -> TensorBatches:
        return TensorBatches(x=self.x, y=self.y, target=self.target, mask=self.mask)

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
