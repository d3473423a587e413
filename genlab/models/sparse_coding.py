"""Sparse coding (Olshausen & Field 1996) and predictive sparse decomposition (Kavukcuoglu et al.
2008).

    codes       a*(x) = argmin_a ½‖x − D a‖² + λ‖a‖₁       (Lasso; ISTA or FISTA)
    dictionary  D ← D − η ∇_D ½‖x − D a*‖²,  then every atom (column of D) rescaled to unit norm
    PSD         an encoder f(x) = shrink_θ(W x + b) trained so that f(x) ≈ a*(x): fast codes

Written ‖x − D a‖² + λ‖a‖₁ without the ½ (as PSD's paper does), λ is twice ours. Images are coded whole
(``patch_size=0``) or as patches: training draws random p×p patches from every image, and
``encode`` tiles an image into non-overlapping patches and codes each.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from ..registry import register
from .base import GenerativeModel, ModelConfig, Player, Range, adam


def soft_threshold(u: Tensor, t) -> Tensor:
    """sign(u)·max(|u| − t, 0): the proximal operator of t‖·‖₁."""
    return torch.sign(u) * (u.abs() - t).clamp_min(0)


def lipschitz(D: Tensor) -> Tensor:
    """L = largest eigenvalue of DᵀD: the Lipschitz constant of ∇_a ½‖x − D a‖²."""
    gram = D.T @ D
    return torch.linalg.eigvalsh(gram)[-1].clamp_min(1e-12)


def ista(x: Tensor, D: Tensor, lam: float, iterations: int = 100, fast: bool = True,
         step: float | Tensor | None = None) -> Tensor:
    """Lasso codes argmin_a ½‖x − D a‖² + lam‖a‖₁ for every row of ``x`` at once.

    ``x`` N×d data vectors, ``D`` d×K dictionary (atoms as columns) -> codes N×K. ISTA iterates
    a ← shrink_{lam/L}(a − (1/L)(DᵀD a − Dᵀx)) from a = 0; ``fast`` adds FISTA's momentum
    (Beck & Teboulle 2009), O(1/t²) instead of O(1/t) in the objective.
    """
    step = float(1.0 / lipschitz(D) if step is None else step)
    # the gradient step y − step·(DᵀD y − Dᵀx) as one fused y·M + b per iteration
    M = torch.eye(D.shape[1], dtype=D.dtype, device=D.device) - step * (D.T @ D)
    b = step * (x @ D)
    threshold = lam * step
    a = torch.zeros(len(x), D.shape[1], dtype=x.dtype, device=x.device)
    y, t = a, 1.0
    for _ in range(iterations):
        u = torch.addmm(b, y, M)
        a_next = u - u.clamp(-threshold, threshold)          # soft threshold in two operations
        if fast:
            t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
            y = torch.lerp(a_next, a, -(t - 1) / t_next)     # a' + ((t − 1)/t')(a' − a)
            t = t_next
        else:
            y = a_next
        a = a_next
    return a


def lasso_objective(x: Tensor, D: Tensor, a: Tensor, lam: float) -> Tensor:
    """½‖x − D a‖² + lam‖a‖₁ per row."""
    return 0.5 * (x - a @ D.T).pow(2).sum(1) + lam * a.abs().sum(1)


@dataclass
class SparseCodingConfig(ModelConfig):
    atoms: Annotated[int, Range(1)] = 64   # K: columns of the dictionary
    lam: Annotated[float, Range(0)] = 0.5   # sparsity weight λ in ½‖x − Da‖² + λ‖a‖₁
    solver: Literal["ista", "fista"] = "fista"   # the Lasso solver: ISTA, or FISTA (its accelerated form)
    iterations: Annotated[int, Range(1)] = 50   # solver iterations per code
    patch_size: Annotated[int, Range(0)] = 8   # p×p patches (images are tiled, the border zero-padded); 0: whole images
    patches_per_image: Annotated[int, Range(1)] = 8   # random patches drawn from each training image per step
    dc: bool = True                           # code each vector's mean brightness apart (unpenalised), atoms zero-mean
    lr: Annotated[float, Range(0, low_open=True)] = 1e-2   # Adam's learning rate for the dictionary


class SparseCodingBase(GenerativeModel):
    """The dictionary player and the patch plumbing shared by sparse coding and PSD.

    With ``dc`` every vector (patch or image) is split into its per-channel mean and the rest: the
    means are kept exactly as C extra code entries, free of the sparsity penalty, and the atoms
    code the zero-mean rest. Without it most atoms of photo patches would spend themselves on
    brightness and colour instead of edges.
    """

    def __init__(self, config: SparseCodingConfig):
        super().__init__(config)
        c, h, w = config.image_shape
        p = config.patch_size
        if p < 0 or p > min(h, w):
            raise ConfigError(f"patch_size={p} must be 0 (whole images) or between 1 and {min(h, w)}; "
                              f"e.g. --set patch_size=8")
        if config.atoms < 1 or config.iterations < 1 or config.patches_per_image < 1 or config.lam < 0:
            raise ConfigError("atoms, iterations and patches_per_image must be at least 1 and lam at least 0; "
                              "e.g. --set atoms=64 --set lam=0.5")
        self.vector_shape = (c, p, p) if p else (c, h, w)
        self.dim = math.prod(self.vector_shape)
        self.code_size = config.atoms + (c if config.dc else 0)      # per vector: K atoms (+ C means)
        # a random start; prepare() replaces it with data vectors
        self.dictionary = nn.Parameter(torch.randn(self.dim, config.atoms))
        self.normalise_atoms()
        self._cache = None

    # --- vectors: random patches for training, tiles for coding --------------------------------

    def training_vectors(self, x: Tensor) -> Tensor:
        """Whole images flattened, or ``patches_per_image`` random p×p patches of each image."""
        p = self.config.patch_size
        if not p:
            return x.flatten(1)
        cols = F.unfold(x, p)                                   # N×(C·p·p)×positions
        pick = torch.randint(cols.shape[2], (len(x), self.config.patches_per_image), device=x.device)
        chosen = torch.gather(cols, 2, pick[:, None].expand(-1, cols.shape[1], -1))
        return chosen.transpose(1, 2).reshape(-1, cols.shape[1])

    def _tiles(self, x: Tensor) -> Tensor:
        """Images -> non-overlapping patch vectors (N·tiles)×d; the border is zero-padded."""
        p = self.config.patch_size
        if not p:
            return x.flatten(1)
        h, w = x.shape[2:]
        hp, wp = math.ceil(h / p) * p, math.ceil(w / p) * p
        cols = F.unfold(F.pad(x, (0, wp - w, 0, hp - h)), p, stride=p)
        return cols.transpose(1, 2).reshape(-1, cols.shape[1])

    def _untile(self, vectors: Tensor, n: int) -> Tensor:
        p = self.config.patch_size
        c, h, w = self.image_shape
        if not p:
            return vectors.view(n, c, h, w)
        hp, wp = math.ceil(h / p) * p, math.ceil(w / p) * p
        cols = vectors.view(n, -1, vectors.shape[1]).transpose(1, 2)
        return F.fold(cols, (hp, wp), p, stride=p)[:, :, :h, :w]

    def split_dc(self, vectors: Tensor) -> tuple[Tensor, Tensor]:
        """(vectors less their per-channel means, the means N×C); unchanged and N×0 without ``dc``."""
        if not self.config.dc:
            return vectors, vectors[:, :0]
        c = self.vector_shape[0]
        v = vectors.reshape(len(vectors), c, -1)
        means = v.mean(2)
        return (v - means[..., None]).reshape(vectors.shape), means

    @torch.no_grad()
    def prepare(self, data) -> None:
        """Start the dictionary from training vectors (patches): the most contrasted of a random
        pool four times the size, so that few atoms start on a blank corner of a digit."""
        per_image = self.config.patches_per_image if self.config.patch_size else 1
        take = torch.randperm(len(data))[:max(1, math.ceil(4 * self.config.atoms / per_image))]
        vectors, _ = self.split_dc(self.training_vectors(data.x[take].to(self.device)))
        vectors = vectors[vectors.norm(dim=1).argsort(descending=True)[:self.config.atoms]]
        start = self.dictionary.detach().clone().T
        start[:len(vectors)] = vectors
        blank = start.norm(dim=1) < 1e-3
        start[blank] = torch.randn(int(blank.sum()), self.dim, device=self.device)
        self.dictionary.copy_(start.T)
        self.normalise_atoms()

    @torch.no_grad()
    def normalise_atoms(self) -> None:
        """Unit-norm atoms (zero-mean per channel with ``dc``): the scale lives in the codes."""
        d = self.dictionary
        if self.config.dc:
            d = d.view(self.vector_shape[0], -1, d.shape[1])
            d = (d - d.mean(1, keepdim=True)).view_as(self.dictionary)
        self.dictionary.copy_(F.normalize(d, dim=0))

    # --- codes ---------------------------------------------------------------------------------

    def lasso(self, vectors: Tensor, iterations: int | None = None) -> Tensor:
        """a* of zero-mean vectors (after :meth:`split_dc`) by the configured solver."""
        return ista(vectors, self.dictionary.detach(), self.config.lam, iterations or self.config.iterations,
                    fast=self.config.solver == "fista")

    def _code_tiles(self, x: Tensor, coder) -> Tensor:
        rest, means = self.split_dc(self._tiles(x))
        return torch.cat([coder(rest), means], 1).view(len(x), -1)

    def sparse_code(self, x: Tensor) -> Tensor:
        """Optimal codes a*(x) by the solver: N×(tiles·code_size), per tile K atoms then C means."""
        return self._code_tiles(x, self.lasso)

    def decode(self, z: Tensor, y=None) -> Tensor:
        """x̂ = D a (+ the means) of codes a = ``z``, per tile for patches."""
        self.labels(y, len(z))
        codes = z.reshape(-1, self.code_size)
        k = self.config.atoms
        vectors = codes[:, :k] @ self.dictionary.T
        if self.config.dc:
            c = self.vector_shape[0]
            vectors = (vectors.view(len(codes), c, -1) + codes[:, k:, None]).view(len(codes), -1)
        return self._untile(vectors, len(z))

    def reconstruct(self, x: Tensor, y=None) -> Tensor:
        return self.decode(self.encode(x, y))

    def atoms(self) -> Tensor:
        """The dictionary's columns as images K×C×p×p, scaled to [0, 1] with 0.5 for zero."""
        d = self.dictionary.detach().T
        d = 0.5 + 0.5 * d / d.abs().amax(1, keepdim=True).clamp_min(1e-12)
        return d.view(-1, *self.vector_shape)

    # --- the dictionary player -------------------------------------------------------------------

    def _fresh_codes(self, batch: dict) -> tuple[Tensor, Tensor]:
        """(zero-mean training vectors, a*) for a batch, remembered for a second player."""
        vectors, _ = self.split_dc(self.training_vectors(batch["x"]))
        with torch.no_grad():
            codes = self.lasso(vectors)
        self._cache = (batch["x"], vectors, codes)
        return vectors, codes

    def dictionary_loss(self, batch: dict) -> dict:
        vectors, codes = self._fresh_codes(batch)
        residual = 0.5 * (vectors - codes @ self.dictionary.T).pow(2).sum(1).mean()
        l1 = codes.abs().sum(1).mean()
        return {"loss": residual, "objective": residual.detach() + self.config.lam * l1,
                "active": (codes != 0).float().mean()}

    def dictionary_player(self) -> Player:
        return Player("dictionary", [self.dictionary], adam([self.dictionary], self.config.lr), self.dictionary_loss,
                      after_step=self.normalise_atoms)


@register("sparse-coding", SparseCodingConfig, "Sparse coding: dictionary learning with ISTA/FISTA Lasso codes")
class SparseCoding(SparseCodingBase):
    def encode(self, x: Tensor, y=None) -> Tensor:
        """Sparse codes N×(tiles·code_size) by the solver."""
        self.labels(y, len(x))
        return self.sparse_code(x)

    def players(self) -> list[Player]:
        # the dictionary is the only parameter: the codes are solved, not learned
        return [self.dictionary_player()]


@dataclass
class PSDConfig(SparseCodingConfig):
    encoder: Literal["shrink", "tanh"] = "shrink"   # shrink_θ(Wx + b) or g·tanh(Wx + b)
    encoder_lr: Annotated[float, Range(0, low_open=True)] = 1e-2   # Adam's learning rate for the encoder W, b, θ


@register("psd", PSDConfig, "Predictive sparse decomposition: sparse coding plus an encoder that predicts the codes")
class PSD(SparseCodingBase):
    """Sparse coding whose codes an encoder learns to predict: ``encode`` is one matrix product
    and a shrinkage instead of an iterative solver; ``sparse_code`` gives the solver's a*."""

    def __init__(self, config: PSDConfig):
        super().__init__(config)
        k = config.atoms
        self.weight = nn.Parameter(torch.zeros(k, self.dim))
        self.bias = nn.Parameter(torch.zeros(k))
        self.scale = nn.Parameter(torch.ones(k))     # shrink: per-atom threshold θ; tanh: per-atom gain g
        self.init_encoder()

    @torch.no_grad()
    def init_encoder(self) -> None:
        """W = Dᵀ/L, θ = λ/L: the encoder starts as one ISTA step from a = 0."""
        step = 1.0 / float(lipschitz(self.dictionary))
        self.weight.copy_(self.dictionary.T * step)
        self.bias.zero_()
        self.scale.fill_(self.config.lam * step if self.config.encoder == "shrink" else 1.0)

    def prepare(self, data) -> None:
        super().prepare(data)
        self.init_encoder()

    def predict_codes(self, vectors: Tensor) -> Tensor:
        u = vectors @ self.weight.T + self.bias
        if self.config.encoder == "shrink":
            return soft_threshold(u, self.scale.abs())
        return self.scale * torch.tanh(u)

    def encode(self, x: Tensor, y=None) -> Tensor:
        """Fast codes f(x) ≈ a*(x), laid out like :meth:`sparse_code`."""
        self.labels(y, len(x))
        return self._code_tiles(x, self.predict_codes)

    def encoder_loss(self, batch: dict) -> dict:
        # the dictionary player has just solved this batch (same patches): reuse its codes once
        cached, self._cache = self._cache, None
        vectors, codes = cached[1:] if cached is not None and cached[0] is batch["x"] else self._fresh_codes(batch)
        pred = self.predict_codes(vectors)
        loss = (pred - codes).pow(2).sum(1).mean()
        relative = loss.detach() / codes.pow(2).sum(1).mean().clamp_min(1e-12)
        return {"loss": loss, "relative": relative}

    def players(self) -> list[Player]:
        params = [self.weight, self.bias, self.scale]
        return [self.dictionary_player(),
                Player("encoder", params, adam(params, self.config.encoder_lr), self.encoder_loss)]


__all__ = ["SparseCoding", "SparseCodingConfig", "PSD", "PSDConfig", "ista", "soft_threshold", "lipschitz",
           "lasso_objective"]
