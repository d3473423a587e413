"""Batches from in-memory tensors: one index tensor per batch, no per-sample Python.

A standard ``DataLoader`` wraps the dataset so that Lightning can swap in its distributed
sampler; ``__getitems__`` makes the loader fetch a whole batch with one tensor index.

Dynamic binarisation (as in the IWAE experiments, Burda et al. 2016): grey images g ∈ [0, 1] are
kept, and each time a batch is drawn its images are sampled anew,

    x ~ Bernoulli(g)        x_i = 1 with probability g_i, independently per pixel

so a model sees a fresh binary version of every image each epoch (:class:`BernoulliBatches`).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset


class TensorBatches(Dataset):
    """Dataset over resident tensors (equal first dimension) returning dict batches."""

    def __init__(self, **tensors: Tensor | None):
        self.tensors = {k: v for k, v in tensors.items() if v is not None}
        sizes = {len(v) for v in self.tensors.values()}
        if len(sizes) != 1:
            raise ValueError(f"tensors differ in length: { {k: len(v) for k, v in self.tensors.items()} }")
        self.n = sizes.pop()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {k: v[i] for k, v in self.tensors.items()}

    def __getitems__(self, indices) -> dict:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return {k: v.index_select(0, idx) for k, v in self.tensors.items()}


class BernoulliBatches(TensorBatches):
    """TensorBatches whose ``x`` holds grey levels and yields ``x ~ Bernoulli(x)``, drawn afresh on every
    fetch, one vectorised draw per batch from torch's global generator: Lightning's ``seed_everything``
    makes a run's draws reproducible, as it does for shuffling and dropout."""

    def __getitem__(self, i: int) -> dict:
        item = super().__getitem__(i)
        item["x"] = torch.bernoulli(item["x"])
        return item

    def __getitems__(self, indices) -> dict:
        batch = super().__getitems__(indices)
        batch["x"] = torch.bernoulli(batch["x"])
        return batch


def identity_collate(batch):
    return batch


def stack_collate(samples: list[dict]) -> dict:
    return {k: torch.stack([s[k] for s in samples]) for k in samples[0]}


def tensor_loader(dataset: TensorBatches, batch_size: int, shuffle: bool = True,
                  drop_last: bool = False, seed: int = 0) -> DataLoader:
    """A DataLoader over resident tensors; Lightning may replace its sampler for DDP."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                      collate_fn=identity_collate, generator=generator, num_workers=0)


def iterate(dataset: TensorBatches, batch_size: int):
    """Sequential batches for evaluation."""
    for start in range(0, len(dataset), batch_size):
        yield dataset.__getitems__(range(start, min(start + batch_size, len(dataset))))


@torch.no_grad()
def batched(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 500,
            device: torch.device | None = None) -> Tensor:
    """``fn`` over ``x`` in slices of ``batch_size`` (each moved to ``device`` when given), the
    results concatenated on the CPU: bounded memory for models and metrics over many images."""
    parts = [fn(x[i:i + batch_size].to(device) if device is not None else x[i:i + batch_size]).cpu()
             for i in range(0, len(x), batch_size)]
    return torch.cat(parts) if parts else x[:0]
