"""Vision-transformer pieces: patches, position embeddings, pre-norm transformer blocks, random
token masking (He et al. 2022). No training logic.

    patches = patchify(x, 4)                    # N×C×28×28 -> N×49×(C·16)
    x = unpatchify(patches, 4, (7, 7), C)       # and back
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


def patch_grid(image_shape: Sequence[int], patch_size: int) -> tuple[int, int]:
    """(rows, cols) of non-overlapping ``patch_size`` squares tiling a C×H×W image exactly."""
    _, h, w = image_shape
    if patch_size < 1 or h % patch_size or w % patch_size:
        raise ValueError(f"patch size {patch_size} does not tile {h}×{w} images")
    return h // patch_size, w // patch_size


def patchify(x: Tensor, patch_size: int) -> Tensor:
    """N×C×H×W -> N×L×(p·p·C), patches in row-major order, each flattened as (p, p, C)."""
    n, c, h, w = x.shape
    p = patch_size
    gh, gw = h // p, w // p
    x = x.reshape(n, c, gh, p, gw, p)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, gh * gw, p * p * c)


def unpatchify(patches: Tensor, patch_size: int, grid: tuple[int, int], channels: int) -> Tensor:
    """Inverse of :func:`patchify`: N×L×(p·p·C) -> N×C×H×W."""
    n = patches.shape[0]
    p, (gh, gw) = patch_size, grid
    x = patches.reshape(n, gh, gw, p, p, channels)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(n, channels, gh * p, gw * p)


def sincos_1d(dim: int, positions: Tensor) -> Tensor:
    """Transformer sine-cosine embedding of ``positions`` (any shape) -> (*, dim), dim even."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angles = positions.double()[..., None] * omega
    return torch.cat([angles.sin(), angles.cos()], -1).float()


def sincos_2d(dim: int, grid: tuple[int, int]) -> Tensor:
    """Fixed 2-D position embedding (MAE): half the channels encode the row, half the column.
    Returns (rows·cols)×dim in the row-major order of :func:`patchify`."""
    if dim % 4:
        raise ValueError(f"2-D sine-cosine embeddings need a width divisible by 4, got {dim}")
    rows, cols = torch.meshgrid(torch.arange(grid[0]), torch.arange(grid[1]), indexing="ij")
    return torch.cat([sincos_1d(dim // 2, rows.flatten()), sincos_1d(dim // 2, cols.flatten())], -1)


class PositionEmbedding(nn.Module):
    """Adds a (1 + L)×dim table to tokens [cls, patch_1 … patch_L]; ``kind`` 'sincos' is a
    fixed buffer (the cls row is zero, as in MAE), 'learned' a parameter."""

    def __init__(self, dim: int, grid: tuple[int, int], kind: str = "sincos"):
        super().__init__()
        table = torch.cat([torch.zeros(1, dim), sincos_2d(dim, grid)])[None]
        if kind == "sincos":
            self.register_buffer("table", table)
        elif kind == "learned":
            self.table = nn.Parameter(torch.randn_like(table) * 0.02)
        else:
            raise ValueError(f"unknown position embedding {kind!r}; use sincos or learned")

    def forward(self, tokens: Tensor, index: Tensor | None = None) -> Tensor:
        """``tokens`` N×(1+L')×dim; ``index`` N×L' picks which patch positions they hold (all if None)."""
        table = self.table.expand(len(tokens), -1, -1)
        if index is None:
            return tokens + table[:, :tokens.shape[1]]
        patch_rows = torch.gather(table[:, 1:], 1, index[..., None].expand(-1, -1, table.shape[-1]))
        return tokens + torch.cat([table[:, :1], patch_rows], 1)


class Transformer(nn.Module):
    """``depth`` pre-norm blocks (x + MHA(LN(x)); x + MLP(LN(x))) and a final LayerNorm."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(dim, heads, int(dim * mlp_ratio), dropout=dropout, activation="gelu",
                                       batch_first=True, norm_first=True)
            for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


def random_masking(n: int, length: int, ratio: float, generator: torch.Generator | None = None,
                   device=None) -> tuple[Tensor, Tensor, Tensor]:
    """Per row, hide exactly ``round(ratio·length)`` random tokens (argsort of uniform noise).

    Returns ``keep`` (N×K indices of the visible tokens, in shuffled order), ``mask`` (N×L, 1 =
    hidden) and ``restore`` (N×L: the permutation that puts [kept, hidden] back in place)."""
    hidden = int(round(ratio * length))
    if not 0 <= hidden < length:
        raise ValueError(f"masking ratio {ratio} hides {hidden} of {length} tokens; at least one must stay visible")
    noise = torch.rand(n, length, generator=generator).to(device)
    shuffle = noise.argsort(1)
    restore = shuffle.argsort(1)
    keep = shuffle[:, :length - hidden]
    mask = torch.ones(n, length, device=device)
    mask[:, :length - hidden] = 0
    return keep, torch.gather(mask, 1, restore), restore


def init_vit_weights(module: nn.Module) -> None:
    """MAE's initialisation: Xavier-uniform linear layers, zero biases, unit LayerNorms."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def gather_tokens(tokens: Tensor, index: Tensor) -> Tensor:
    """tokens N×L×D, index N×K -> N×K×D."""
    return torch.gather(tokens, 1, index[..., None].expand(-1, -1, tokens.shape[-1]))


class MAEEncoder(nn.Module):
    """Patch embedding + cls token + position embedding + pre-norm transformer.

    ``forward(x, keep=None)``: images N×C×H×W -> tokens N×(1+K)×dim, where the K patch tokens are
    the positions in ``keep`` (N×K indices), or all patches when ``keep`` is None.
    """

    def __init__(self, image_shape, patch_size: int, dim: int, depth: int, heads: int, mlp_ratio: float,
                 pos_embed: str):
        super().__init__()
        self.patch_size = patch_size
        self.grid = patch_grid(image_shape, patch_size)
        self.embed = nn.Linear(patch_size * patch_size * image_shape[0], dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = PositionEmbedding(dim, self.grid, pos_embed)
        self.transformer = Transformer(dim, depth, heads, mlp_ratio)

    def forward(self, x: Tensor, keep: Tensor | None = None) -> Tensor:
        tokens = self.embed(patchify(x, self.patch_size))
        if keep is not None:
            tokens = gather_tokens(tokens, keep)
        tokens = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], 1)
        return self.transformer(self.pos(tokens, keep))


class MAEDecoder(nn.Module):
    """Visible tokens + mask tokens, unshuffled to image order, through a light transformer, then a
    linear layer to the pixels of every patch."""

    def __init__(self, grid, in_dim: int, dim: int, depth: int, heads: int, mlp_ratio: float, patch_dim: int,
                 pos_embed: str):
        super().__init__()
        self.project = nn.Linear(in_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = PositionEmbedding(dim, grid, pos_embed)
        self.transformer = Transformer(dim, depth, heads, mlp_ratio)
        self.head = nn.Linear(dim, patch_dim)

    def forward(self, tokens: Tensor, restore: Tensor) -> Tensor:
        """``tokens`` N×(1+K)×in_dim (cls first), ``restore`` N×L -> predicted patches N×L×patch_dim."""
        t = self.project(tokens)
        n, length = restore.shape
        hidden = self.mask_token.expand(n, length - (t.shape[1] - 1), -1)
        patches = gather_tokens(torch.cat([t[:, 1:], hidden], 1), restore)
        t = self.pos(torch.cat([t[:, :1], patches], 1))
        return self.head(self.transformer(t)[:, 1:])


__all__ = ["patch_grid", "patchify", "unpatchify", "sincos_1d", "sincos_2d", "PositionEmbedding", "Transformer",
           "random_masking", "init_vit_weights", "gather_tokens", "MAEEncoder", "MAEDecoder"]
