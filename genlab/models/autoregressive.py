"""Autoregressive models: an exact density factored one dimension at a time.

    p(x) = ∏_i p(x_i | x_<i)        i in raster order (row by row, left to right), and inside a
                                     pixel channel by channel (R → G → B)
    loss = −log p(x) = −Σ_i log p(x_i | x_<i)        nats per image; bits/dim = loss / (D·ln 2)

Every pixel value is one of ``levels`` discrete values v ∈ {0, …, L−1} (the image stores v/(L−1)):
L = 2 for binarised digits, 256 for grey levels, K for the code maps of a VQ-VAE. The network
reads the whole image at once (training is parallel) but is wired, by masks, so that the output
for dimension i sees only x_<i. What it outputs per dimension is one of three distributions:

    bernoulli   one logit, p(x_i = 1) = σ(a_i)                      (L = 2)
    softmax     L logits, p(x_i = v) = softmax(a_i)_v                (van den Oord et al. 2016)
    logistic    μ_i, log s_i: the logistic's mass over the bin of v   (discretised logistic,
                Salimans et al. 2017), two numbers per dimension whatever L is

Sampling goes one dimension at a time: D network passes for D dimensions, which is why these
models are slow to sample and fast to score. ``temperature`` divides the logits (softmax and
bernoulli) or multiplies the logistic's scale.

    fvsbn    (the fully visible sigmoid belief network; Frey 1998)
             a_i = b_i + Σ_{j<i} W_ij x_j       one strictly lower-triangular linear map:
             logistic regression of each dimension on all dimensions before it.
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
from .base import GenerativeModel, ModelConfig, Player, Range

OUTPUTS = ("bernoulli", "softmax", "logistic")


@dataclass
class AutoregressiveConfig(ModelConfig):
    # discrete values per pixel (2: binarised, 256: grey levels, K: a VQ-VAE's codes); set from the data
    levels: Annotated[int, Range(2)] = 256
    # the values are categories without order (a VQ-VAE's codes): read one-hot; set from the data
    categorical: bool = False
    # the distribution of each dimension: auto picks bernoulli for 2 levels, else the model's own
    output: Literal["auto", "bernoulli", "softmax", "logistic"] = "auto"

    @classmethod
    def data_values(cls, data) -> dict:
        values = super().data_values(data)
        meta = data.meta
        levels = int(meta.get("levels", 256))
        return {**values, "levels": levels, "categorical": bool(meta.get("categorical", False))}


class Autoregressive(GenerativeModel):
    """Family base: ``network(inp, y)`` maps the network input to the distribution parameters of
    every dimension at once, N×P×C×H×W, wired so that dimension (c, i, j) sees only the dimensions
    before it. Subclasses build the network; the base scores, trains and samples."""

    auto_output = "softmax"   # the output of ``output=auto`` for more than two levels
    default_batch_size = 64
    preview_count = 16        # samples drawn for the per-epoch preview (sampling is slow)

    def __init__(self, config: AutoregressiveConfig):
        super().__init__(config)
        self.output = self.resolve_output(config)
        self.levels = config.levels

    @classmethod
    def resolve_output(cls, config) -> str:
        out = config.output
        if out == "auto":
            out = "bernoulli" if config.levels == 2 else "softmax" if config.categorical else cls.auto_output
        if out == "bernoulli" and config.levels != 2:
            raise ConfigError(f"output=bernoulli needs binary pixels, but the data has {config.levels} levels; use "
                              "output=softmax or logistic, or binarise the data (--binarize 0.5, or mnist5k-bin)")
        if out == "logistic" and config.categorical:
            raise ConfigError("output=logistic orders the values, but these are categories (a VQ-VAE's codes); "
                              "use output=softmax")
        return out

    # --- shapes ------------------------------------------------------------------------------------

    @property
    def params_per_dim(self) -> int:
        return {"bernoulli": 1, "softmax": self.levels, "logistic": 2}[self.output]

    @property
    def input_features(self) -> int:
        """Numbers the network reads per dimension: one-hot for categories, else the value itself."""
        return self.levels if self.config.categorical else 1

    @property
    def dims(self) -> int:
        return math.prod(self.image_shape)

    # --- the values and the network input ------------------------------------------------------------

    def to_levels(self, x: Tensor) -> Tensor:
        """Images in [0, 1] -> their discrete values v ∈ {0, …, L−1} (long), N×C×H×W."""
        return (x.float() * (self.levels - 1)).round().clamp(0, self.levels - 1).long()

    def from_levels(self, v: Tensor) -> Tensor:
        return v.float() / (self.levels - 1)

    def network_input(self, v: Tensor) -> Tensor:
        """What the network reads: N×C×E×H×W floats, E = ``input_features``: one-hot categories, or
        the value scaled to [−1, 1]."""
        if self.config.categorical:
            return F.one_hot(v, self.levels).permute(0, 1, 4, 2, 3).float()
        return (self.from_levels(v) * 2 - 1).unsqueeze(2)

    def network(self, inp: Tensor, y: Tensor | None = None) -> Tensor:
        """N×C×E×H×W input -> N×P×C×H×W distribution parameters (masked: dimension i sees x_<i)."""
        raise NotImplementedError

    def step_params(self, inp: Tensor, y: Tensor | None, i: int, j: int) -> Tensor:
        """The parameters of pixel (i, j), N×P×C, while sampling. Subclasses that can compute only
        what the pixel needs (a PixelCNN's rows above) override this."""
        return self.network(inp, y)[..., i, j]

    # --- densities --------------------------------------------------------------------------------------

    def dim_log_prob(self, params: Tensor, v: Tensor) -> Tensor:
        """log p(x_i | x_<i) of every dimension: N×C×H×W nats."""
        if self.output == "bernoulli":
            return -F.binary_cross_entropy_with_logits(params[:, 0], v.float(), reduction="none")
        if self.output == "softmax":
            return -F.cross_entropy(params, v, reduction="none")
        return logistic_log_prob(params[:, 0], params[:, 1], v, self.levels)

    def log_prob(self, x: Tensor, y=None) -> Tensor:
        """Exact log p(x) in nats per image (N)."""
        y = self.labels(y, len(x))
        v = self.to_levels(x)
        return self.dim_log_prob(self.network(self.network_input(v), y), v).flatten(1).sum(1)

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        y = batch.get("y") if self.label_space is not None else None
        nll = -self.log_prob(x, y).mean()
        return {"loss": nll, "bits_per_dim": nll.detach() / (self.dims * math.log(2))}

    def players(self) -> list[Player]:
        return self.single_player(self.registry_name)

    # --- sampling ---------------------------------------------------------------------------------------

    def draw(self, params: Tensor, u: Tensor, temperature: float) -> Tensor:
        """One value per row from N×P parameters, by inverting the CDF at uniforms ``u`` (N)."""
        if self.output == "bernoulli":
            return (u < torch.sigmoid(params[:, 0] / temperature)).long()
        if self.output == "softmax":
            probs = torch.softmax(params.float() / temperature, dim=1)
        else:
            probs = logistic_probs(params[:, 0], params[:, 1] + math.log(temperature), self.levels)
        cdf = probs.cumsum(1)
        return torch.searchsorted(cdf, (u * cdf[:, -1]).unsqueeze(1).contiguous()).squeeze(1).clamp_max(self.levels - 1)

    def order(self) -> list[tuple[int, int]]:
        """The pixels (row, column) in the order they are generated."""
        _, h, w = self.image_shape
        return [(i, j) for i in range(h) for j in range(w)]

    @torch.no_grad()
    def generate(self, n: int, y=None, *, given: Tensor | None = None, known: Tensor | None = None,
                 temperature: float = 1.0, generator: torch.Generator | None = None, progress: bool | None = None) -> Tensor:
        """Images drawn one dimension at a time; where ``known`` (bool, C×H×W or N×C×H×W) is true the
        values of ``given`` (images in [0, 1]) are kept and the rest is sampled conditioned on
        the dimensions before it. Returns N×C×H×W in [0, 1]."""
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        from tqdm.auto import tqdm

        y = self.labels(y, n)
        c, h, w = self.image_shape
        device = self.device
        v = torch.zeros(n, c, h, w, dtype=torch.long, device=device)
        if given is not None:
            v = self.to_levels(given.to(device)).expand(n, c, h, w).clone()
            known = known.to(device).expand(n, c, h, w)
        inp = self.network_input(v)
        pixels = self.order()
        bar = tqdm(pixels, desc=f"sampling {n} × {c}×{h}×{w}", unit="px", leave=False,
                   disable=None if progress is None else not progress)   # None: shown on a terminal
        for i, j in bar:
            if known is not None and bool(known[:, :, i, j].all()):
                continue
            for ch in range(c):
                u = torch.rand(n, generator=generator).to(device)
                if known is not None and bool(known[:, ch, i, j].all()):
                    continue
                params = self.step_params(inp, y, i, j)[:, :, ch]
                value = self.draw(params.float(), u, temperature)
                if known is not None:
                    value = torch.where(known[:, ch, i, j], v[:, ch, i, j], value)
                v[:, ch, i, j] = value
                inp[:, ch, :, i, j] = self.network_input(value.view(n, 1, 1, 1))[:, 0, :, 0, 0]
        return self.from_levels(v)

    def sample(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images drawn pixel by pixel in raster order; ``generator`` makes them reproducible.
        A class-conditional model given no ``y`` draws every class in turn (as the conditional GANs)."""
        if y is None and self.label_space is not None:
            from .gan.game import stratified_labels

            y = stratified_labels(n, self.label_space.size)
        return self.generate(n, y, temperature=temperature, generator=generator)

    def complete(self, x: Tensor, known: Tensor, samples: int = 1, y=None, *, temperature: float = 1.0,
                 generator: torch.Generator | None = None) -> Tensor:
        """``samples`` completions of each image of ``x`` (N×C×H×W): the pixels where ``known``
        (H×W, C×H×W or N×C×H×W) is true are kept, the others sampled. Returns N×samples×C×H×W."""
        self.check_input(x)
        n = len(x)
        known = known.bool()
        while known.dim() < 4:
            known = known.unsqueeze(0)
        known = known.expand(n, *self.image_shape)
        y = self.labels(y, n)
        given = x.repeat_interleave(samples, 0)
        out = self.generate(n * samples, None if y is None else y.repeat_interleave(samples), given=given,
                            known=known.repeat_interleave(samples, 0), temperature=temperature, generator=generator)
        return out.view(n, samples, *self.image_shape)

    def preview(self, batch: dict) -> Tensor:
        return self.sample(self.preview_count, generator=torch.Generator().manual_seed(0))


def _log_sigmoid_diff(a: Tensor, b: Tensor) -> Tensor:
    """log(σ(a) − σ(b)) for a > b without cancellation:
    σ(a) − σ(b) = e^a (1 − e^{b−a}) / ((1 + e^a)(1 + e^b)) = σ(a) · σ(−b) · (1 − e^{b−a})."""
    return -F.softplus(-a) - F.softplus(b) + torch.log(-torch.expm1((b - a).clamp_max(-1e-6)))


def logistic_log_prob(mu: Tensor, log_s: Tensor, v: Tensor, levels: int) -> Tensor:
    """log P(v) of the discretised logistic over ``levels`` bins of [−1, 1] (Salimans et al. 2017):
    the mass of the logistic(μ, s) between the bin's edges, the end bins open to ±∞."""
    x = v.float() / (levels - 1) * 2 - 1
    half = 1.0 / (levels - 1)
    inv_s = torch.exp(-log_s.clamp(min=-7.0))
    upper = (x + half - mu) * inv_s
    lower = (x - half - mu) * inv_s
    inner = _log_sigmoid_diff(upper, lower)
    first = -F.softplus(-upper)          # log σ(upper): the bin (−∞, x + half]
    last = -F.softplus(lower)            # log(1 − σ(lower)): the bin [x − half, ∞)
    return torch.where(v == 0, first, torch.where(v == levels - 1, last, inner))


def logistic_probs(mu: Tensor, log_s: Tensor, levels: int) -> Tensor:
    """N×L probabilities of every value under the discretised logistic (for sampling)."""
    v = torch.arange(levels, device=mu.device).view(1, -1).expand(len(mu), levels)
    return logistic_log_prob(mu.view(-1, 1).float(), log_s.view(-1, 1).float(), v, levels).exp()


# --- FVSBN ----------------------------------------------------------------------------------------------


@dataclass
class FVSBNConfig(AutoregressiveConfig):
    lr: Annotated[float, Range(0, low_open=True)] = 3e-3   # Adam's learning rate


@register("fvsbn", FVSBNConfig, "Fully visible sigmoid belief network: logistic regression on every earlier pixel")
class FVSBN(Autoregressive):
    """a_i = b_i + Σ_{j<i} W_ij x_j: one linear map masked to be strictly lower-triangular."""

    auto_output = "logistic"    # D·L outputs for 256 levels would be a D×256·D matrix
    default_epochs = 20

    def __init__(self, config: FVSBNConfig):
        super().__init__(config)
        d, p, e = self.dims, self.params_per_dim, self.input_features
        self.linear = nn.Linear(d * e, d * p)
        nn.init.zeros_(self.linear.weight)
        # dimension k (raster order, channel last) reads the inputs of the dimensions before it
        order_in = torch.arange(d).repeat_interleave(e)
        order_out = torch.arange(d).repeat_interleave(p)
        self.register_buffer("mask", (order_in.view(1, -1) < order_out.view(-1, 1)).float(), persistent=False)

    def prepare(self, data) -> None:
        """Start from independent pixels: each bias at its pixel's marginal (the product of
        marginals is then the model before any weight is learned)."""
        super().prepare(data)
        if self.output == "bernoulli" and len(data):
            p = data.x.float().mean(0).permute(1, 2, 0).reshape(-1).clamp(1e-3, 1 - 1e-3)   # raster, channel last
            with torch.no_grad():
                self.linear.bias.copy_(torch.logit(p).to(self.linear.bias))

    def network(self, inp: Tensor, y=None) -> Tensor:
        n, (c, h, w) = len(inp), self.image_shape
        flat = inp.permute(0, 3, 4, 1, 2).reshape(n, -1)          # (i, j, c, e): raster, channel inside pixel
        out = F.linear(flat, self.linear.weight * self.mask, self.linear.bias)
        return out.view(n, h, w, c, self.params_per_dim).permute(0, 4, 3, 1, 2)


__all__ = ["Autoregressive", "AutoregressiveConfig", "FVSBN", "FVSBNConfig", "logistic_log_prob", "logistic_probs"]
