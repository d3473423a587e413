"""Vector quantisation (van den Oord et al. 2017): snap each D-dim vector to its nearest codebook entry.

    k(i)   = argmin_k ‖z_e(i) − e_k‖²                 nearest code for every grid position i
    z_q(i) = e_{k(i)}
    output = z_e + sg[z_q − z_e]                      straight-through: forward z_q, gradient to z_e

    codebook loss   = Σ_i ‖sg[z_e(i)] − e_{k(i)}‖²     moves the codes (dropped with EMA updates)
    commitment loss = Σ_i ‖z_e(i) − sg[e_{k(i)}]‖²     keeps the encoder near its codes (× β)

With ``ema=True`` the codebook is not learned by gradient but follows exponential moving averages of
the vectors assigned to each code (decay γ, Laplace-smoothed counts so that rarely used codes do not
divide by zero):

    N_k ← γ N_k + (1 − γ) n_k,   m_k ← γ m_k + (1 − γ) Σ_{i: k(i)=k} z_e(i),   e_k = m_k / Ñ_k

The codebook starts from random encoder outputs of the first training batch (a random uniform
start leaves most codes far from the data), and codes that no vector has chosen for
``restart_after`` training steps are re-initialised the same way from the current batch (dead-code
restarts), so the codebook does not collapse onto a few entries.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def perplexity(counts: Tensor) -> Tensor:
    """exp(−Σ_k p_k log p_k) of code counts: K for uniform use, 1 when a single code is used."""
    p = counts.float() / counts.sum().clamp_min(1)
    return torch.exp(-torch.special.xlogy(p, p).sum())


@dataclass
class Quantized:
    """What :class:`VectorQuantizer` returns. Losses are per image (summed over positions and
    dimensions, averaged over the batch), like genlab's reconstruction losses."""

    z_q: Tensor            # N×D×h×w, straight-through (forward: codes, backward: identity to z_e)
    indices: Tensor        # N×h×w long
    codebook_loss: Tensor  # ‖sg[z_e] − e‖² (zero with EMA updates)
    commitment_loss: Tensor  # ‖z_e − sg[e]‖²
    perplexity: Tensor     # of this batch's code counts
    usage: Tensor          # share of the codebook used in this batch


class VectorQuantizer(nn.Module):
    """Nearest-neighbour quantiser over a codebook of ``num_codes`` vectors of size ``dim``.

    Works on channel-first grids N×D×h×w (any number of trailing spatial dimensions, including none).
    """

    def __init__(self, num_codes: int, dim: int, ema: bool = False, decay: float = 0.99, eps: float = 1e-5,
                 restart_after: int = 5):
        super().__init__()
        self.num_codes, self.dim = num_codes, dim
        self.ema, self.decay, self.eps = ema, decay, eps
        self.restart_after = restart_after
        init = torch.empty(num_codes, dim).uniform_(-1 / num_codes, 1 / num_codes)
        self.codebook = nn.Parameter(init, requires_grad=not ema)
        if ema:
            self.register_buffer("cluster_size", torch.zeros(num_codes))
            self.register_buffer("embed_sum", init.clone())
        # training steps since each code was last chosen (for dead-code restarts)
        self.register_buffer("unused_steps", torch.zeros(num_codes, dtype=torch.long))
        self.register_buffer("initialised", torch.tensor(False))

    def nearest(self, flat: Tensor) -> Tensor:
        """Index of the nearest code for each row of ``flat`` (M×D): ‖z‖² − 2 z·e + ‖e‖², argmin."""
        e = self.codebook.detach()
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)
        return d.argmin(1)

    def lookup(self, indices: Tensor) -> Tensor:
        """Codes of an index grid (N×h×w) as a channel-first tensor N×D×h×w."""
        return F.embedding(indices, self.codebook).movedim(-1, 1)

    def forward(self, z_e: Tensor) -> Quantized:
        flat = z_e.movedim(1, -1).reshape(-1, self.dim)
        updating = self.training and torch.is_grad_enabled()
        if updating and not self.initialised:
            self._reset(torch.arange(self.num_codes, device=flat.device), flat.detach())
            self.initialised.fill_(True)
        with torch.no_grad():
            idx = self.nearest(flat.detach())
        grid = (z_e.shape[0], *z_e.shape[2:])
        z_q = self.lookup(idx.view(grid))
        n = z_e.shape[0]
        commitment = (z_e - z_q.detach()).pow(2).sum() / n
        codebook = (z_q - z_e.detach()).pow(2).sum() / n if not self.ema else z_e.new_zeros(())
        counts = torch.bincount(idx, minlength=self.num_codes)
        if updating:
            self._update(flat.detach(), idx, counts)
        z_st = z_e + (z_q - z_e).detach()
        return Quantized(z_st, idx.view(grid), codebook, commitment, perplexity(counts),
                         (counts > 0).float().mean())

    @torch.no_grad()
    def _update(self, flat: Tensor, idx: Tensor, counts: Tensor) -> None:
        if self.ema:
            g = self.decay
            self.cluster_size.mul_(g).add_(counts.float(), alpha=1 - g)
            sums = torch.zeros_like(self.embed_sum).index_add_(0, idx, flat)
            self.embed_sum.mul_(g).add_(sums, alpha=1 - g)
            total = self.cluster_size.sum()
            smoothed = (self.cluster_size + self.eps) / (total + self.num_codes * self.eps) * total
            self.codebook.copy_(self.embed_sum / smoothed.unsqueeze(1))
        self.unused_steps.add_(1).masked_fill_(counts > 0, 0)
        if self.restart_after > 0:
            self.restart_dead(flat)

    @torch.no_grad()
    def restart_dead(self, flat: Tensor) -> int:
        """Re-initialise codes unused for ``restart_after`` steps from random rows of ``flat``
        (this batch's encoder outputs); returns how many were restarted."""
        dead = (self.unused_steps >= self.restart_after).nonzero().squeeze(1)
        if dead.numel() == 0:
            return 0
        self._reset(dead, flat)
        return int(dead.numel())

    @torch.no_grad()
    def _reset(self, codes: Tensor, flat: Tensor) -> None:
        """Set ``codes`` to random rows of ``flat`` (M×D)."""
        pick = torch.randint(len(flat), (codes.numel(),), device=flat.device)
        fresh = flat[pick]
        self.codebook.index_copy_(0, codes, fresh)
        if self.ema:
            # a fresh code starts as if one vector had chosen it
            self.cluster_size.index_fill_(0, codes, 1.0)
            self.embed_sum.index_copy_(0, codes, fresh)
        self.unused_steps.index_fill_(0, codes, 0)


__all__ = ["VectorQuantizer", "Quantized", "perplexity"]
