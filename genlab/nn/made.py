"""Masked layers for MADE, the masked autoencoder for distribution estimation (Germain et al. 2015).

An MLP becomes autoregressive by zeroing weights. Every unit k of layer l gets a degree m_l(k):

    input d         m_0(d) = position of d in the order, 1 … D
    hidden unit k   m_l(k) ∈ [min_k' m_{l−1}(k'), D − 1]          drawn at random
    hidden mask     M_l[k, k'] = 1[m_l(k) ≥ m_{l−1}(k')]
    output mask     M_out[d, k] = 1[m_0(d) > m_L(k)]
    direct mask     M_dir[d, d'] = 1[m_0(d) > m_0(d')]              (optional input → output map)

A unit of degree m sees only inputs of position ≤ m, so output d sees only inputs strictly before
it: p(x_d | x_<d) for every d in one pass. Drawing hidden degrees from the previous layer's least
degree upward leaves no unit that nothing reads (Germain et al., §4).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a 0/1 ``mask`` (out × in) given at each call,
    so that one layer serves several connectivities (connectivity-agnostic training)."""

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        weight = self.weight if mask is None else self.weight * mask
        return F.linear(x, weight, self.bias)


def order_positions(order: Tensor) -> Tensor:
    """Positions 1 … D of every dimension, from an ``order`` (D, the dimensions in the order they
    are generated): the input degrees m_0."""
    positions = torch.empty_like(order)
    positions[order] = torch.arange(1, len(order) + 1, device=order.device, dtype=order.dtype)
    return positions


def made_degrees(positions: Tensor, hidden: Sequence[int], generator: torch.Generator | None = None) -> list[Tensor]:
    """Degrees of the hidden units of every hidden layer: layer l draws uniformly in
    [least degree of layer l−1, D − 1] (with D = 1 no hidden unit can feed an output)."""
    d = len(positions)
    low = int(positions.min()) if d else 1
    out = []
    for size in hidden:
        high = max(d - 1, low)
        degrees = torch.randint(low, high + 1, (size,), generator=generator)
        out.append(degrees)
        low = int(degrees.min()) if size else low
    return out


def made_masks(positions: Tensor, hidden_degrees: Sequence[Tensor], *, inputs_per_dim: int = 1,
               outputs_per_dim: int = 1) -> tuple[list[Tensor], Tensor]:
    """The masks of a MADE: one per hidden layer and the output layer (out × in float 0/1, for
    :class:`MaskedLinear`), and the direct input → output mask. ``positions`` are the input degrees
    (:func:`order_positions`); each dimension's degree repeats over its ``inputs_per_dim`` input
    features (one-hot categories) and its ``outputs_per_dim`` output parameters."""
    m_in = positions.repeat_interleave(inputs_per_dim)
    m_out = positions.repeat_interleave(outputs_per_dim)
    masks, previous = [], m_in
    for degrees in hidden_degrees:
        masks.append((degrees.view(-1, 1) >= previous.view(1, -1)).float())
        previous = degrees
    masks.append((m_out.view(-1, 1) > previous.view(1, -1)).float())
    direct = (m_out.view(-1, 1) > m_in.view(1, -1)).float()
    return masks, direct


__all__ = ["MaskedLinear", "made_degrees", "made_masks", "order_positions"]
