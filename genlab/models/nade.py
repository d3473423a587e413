"""NADE and MADE: autoregressive densities whose conditionals share one neural network.

Both factor p(x) = ∏_d p(x_d | x_<d) over the D = C·H·W dimensions flattened in raster order,
channel inside pixel (as ``fvsbn``), and output per dimension a bernoulli logit, L softmax
logits or a discretised logistic's (μ, log s) (see :mod:`genlab.models.autoregressive`).

    nade  (Larochelle & Murray 2011)   one hidden layer whose weights every conditional shares:
              a_d = c + W_{:,<d} x_<d                 (H hidden units; a_{d+1} = a_d + W_{:,d} x_d)
              h_d = σ(a_d)
              params_d = V_d h_d + b_d
          Training computes every a_d at once by a cumulative sum over d, O(D·H) per image, taken
          in two levels so that it runs in cache: inside blocks of S dimensions one strictly
          lower-triangular S×S product, across blocks a running sum (with a hand-written backward
          pass that recomputes σ(a) per block; on one CPU thread about 8× faster than torch.cumsum
          over the whole N×D×H tensor). Sampling carries a_d from one dimension to the next.

    made  (Germain et al. 2015)       an MLP made autoregressive by masks on its weights:
              h_1 = relu((W_1 ⊙ M_1) x + b_1), …, params = (W_out ⊙ M_out) h_L + b_out
                                                        [+ (A ⊙ M_direct) x: optional direct map]
          with every hidden unit's degree m(k) drawn in [1, D − 1] (from the previous layer's least
          degree up, so that no unit reads nothing) and M_l[k, k'] = 1[m_l(k) ≥
          m_{l−1}(k')], M_out[d, k] = 1[pos(d) > m_L(k)] (:mod:`genlab.nn.made`).
          Connectivity-agnostic training: ``masks`` sets of degrees (and with ``order=random``
          of dimension orders) drawn from ``mask_seed`` and stored with the weights; training cycles
          through them one per step. At test time the first ``test_masks`` sets form an ensemble,
              p(x) = (1/K) Σ_k p_k(x)          log p(x) = logsumexp_k log p_k(x) − log K,
          a proper mixture, which ``sample`` draws from exactly (a component per image, then that
          component's conditionals in its own order). Only ``order=natural`` generates in raster
          order; with ``order=random`` each component generates the dimensions in its own order.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from ..errors import ConfigError
from ..nn.made import MaskedLinear, made_degrees, made_masks, order_positions
from ..registry import register
from .autoregressive import Autoregressive, AutoregressiveConfig
from .base import Range

# --- sampling one dimension at a time (shared by both models) ------------------------------------------


def _flat(inp: Tensor) -> Tensor:
    """N×C×E×H×W network input -> N×D×E, dimensions in raster order, channel inside pixel."""
    n, c, e, h, w = inp.shape
    return inp.permute(0, 3, 4, 1, 2).reshape(n, c * h * w, e)


def _unflat(out: Tensor, shape) -> Tensor:
    """N×D×P parameters -> N×P×C×H×W."""
    c, h, w = shape
    return out.reshape(len(out), h, w, c, -1).permute(0, 4, 3, 1, 2)


class _Sampling:
    """The state of one ``generate`` call, flattened to dimensions: values ``v`` (N×D long), the
    network input ``inp`` (N×D×E) and ``known`` (N×D bool or None), with the base class's
    semantics (the given values kept where known, every other dimension drawn in turn)."""

    def __init__(self, model: Autoregressive, n: int, given, known, temperature: float):
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature}")
        c, h, w = model.image_shape
        device = model.device
        v = torch.zeros(n, c, h, w, dtype=torch.long, device=device)
        if given is not None:
            v = model.to_levels(given.to(device)).expand(n, c, h, w).clone()
            known = known.to(device).bool().expand(n, c, h, w).permute(0, 2, 3, 1).reshape(n, -1)
        else:
            known = None
        self.model, self.n, self.temperature = model, n, temperature
        self.inp = _flat(model.network_input(v)).clone()
        self.v = v.permute(0, 2, 3, 1).reshape(n, -1).clone()
        self.known = known

    def rows(self, rows: Tensor) -> _Sampling:
        """The state of some rows only (copies; :meth:`put` writes them back)."""
        sub = _Sampling.__new__(_Sampling)
        sub.model, sub.n, sub.temperature = self.model, len(rows), self.temperature
        sub.v, sub.inp = self.v[rows], self.inp[rows]
        sub.known = None if self.known is None else self.known[rows]
        return sub

    def put(self, rows: Tensor, sub: _Sampling) -> None:
        self.v[rows], self.inp[rows] = sub.v, sub.inp

    def run(self, groups, stepper, generator, desc: str, progress, unit: str = "px") -> None:
        """Draws the dimensions group by group (a pixel's channels, or one dimension):
        ``stepper.params(d)`` gives the N×P parameters of dimension d from the inputs recorded so
        far, ``stepper.record(d, inp_d)`` records its N×E network input. A group known in every row
        draws no uniform, as the base class skips a known pixel: the same generator gives the
        same draws."""
        from tqdm.auto import tqdm

        model, v, inp, known, n = self.model, self.v, self.inp, self.known, self.n
        for group in tqdm(groups, desc=desc, unit=unit, leave=False, disable=None if progress is None else not progress):
            if known is not None and bool(known[:, group].all()):
                for d in group:
                    stepper.record(d, inp[:, d])
                continue
            for d in group:
                u = torch.rand(n, generator=generator).to(v.device)
                if known is not None and bool(known[:, d].all()):
                    stepper.record(d, inp[:, d])
                    continue
                value = model.draw(stepper.params(d).float(), u, self.temperature)
                if known is not None:
                    value = torch.where(known[:, d], v[:, d], value)
                v[:, d] = value
                inp[:, d] = model.network_input(value.view(n, 1, 1, 1))[:, 0, :, 0, 0]
                stepper.record(d, inp[:, d])

    def images(self) -> Tensor:
        c, h, w = self.model.image_shape
        return self.model.from_levels(self.v.view(self.n, h, w, c).permute(0, 3, 1, 2))


def _raster_groups(shape) -> list[list[int]]:
    """The dimensions of each pixel in raster order (a pixel's channels are consecutive)."""
    c, h, w = shape
    return [list(range(p * c, (p + 1) * c)) for p in range(h * w)]


# --- NADE -------------------------------------------------------------------------------------------------


@dataclass
class NADEConfig(AutoregressiveConfig):
    hidden: Annotated[int, Range(1)] = 500   # hidden units H, shared by every conditional
    lr: Annotated[float, Range(0, low_open=True)] = 3e-3   # Adam's learning rate


class _NADESteps:
    """a_d updated incrementally: params(d) = V_d σ(a_d) + b_d, record adds W_{:,d} x_d."""

    def __init__(self, model: NADE, n: int):
        self.model = model
        self.a = model.c.expand(n, -1).clone()

    def params(self, d: int) -> Tensor:
        m = self.model
        return torch.sigmoid(self.a) @ m.V[d].T + m.b[d]

    def record(self, d: int, inp_d: Tensor) -> None:
        self.a += inp_d @ self.model.W[d]


class _NADEFunction(torch.autograd.Function):
    """params_d = V_d σ(a_d) + b_d with a_d = c + Σ_{j<d} W_j x_j, for every d, in blocks of S
    dimensions: inside a block the prefix sum is one strictly lower-triangular S×S product, across
    blocks a running sum, so every tensor stays S×N×H (cache-sized) instead of N×D×H. Backward
    recomputes each block's σ(a) rather than storing N×D×H activations, and carries the suffix
    sum G_j = Σ_{d>j} ∂L/∂a_d that W_j and x_j receive: dW_j = x_jᵀ G_j, dx_j = G_j W_jᵀ."""

    @staticmethod
    def forward(ctx, x: Tensor, W: Tensor, c: Tensor, V: Tensor, b: Tensor, block: int) -> Tensor:
        xt = x.transpose(0, 1).contiguous()                                  # D×N×E: per-dimension products are bmm
        d, n, _ = xt.shape
        tri = torch.ones(block, block, dtype=x.dtype, device=x.device).tril(-1)
        prefix, prefixes, outs = c.expand(n, -1), [], []
        for s in range(0, d, block):
            xw = torch.bmm(xt[s:s + block], W[s:s + block])                    # S×N×H contributions W_j x_j
            k = len(xw)
            prefixes.append(prefix)
            h = (tri[:k, :k] @ xw.view(k, -1)).view_as(xw).add_(prefix).sigmoid_()
            outs.append(torch.bmm(h, V[s:s + block].transpose(1, 2)))        # S×N×P
            prefix = prefix + xw.sum(0)
        ctx.save_for_backward(xt, W, V, torch.stack(prefixes))
        ctx.block = block
        return torch.cat(outs).transpose(0, 1) + b

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        xt, W, V, prefixes = ctx.saved_tensors
        block = ctx.block
        d = len(xt)
        tri = torch.ones(block, block, dtype=xt.dtype, device=xt.device).tril(-1)
        gt = grad.transpose(0, 1).contiguous()                               # D×N×P
        gW, gV = torch.empty_like(W), torch.empty_like(V)
        gx = torch.empty_like(xt) if ctx.needs_input_grad[0] else None
        G = torch.zeros_like(prefixes[0])                                    # Σ ∂L/∂a_d over the later blocks
        for i, s in reversed(list(enumerate(range(0, d, block)))):
            part = slice(s, s + block)
            xw = torch.bmm(xt[part], W[part])
            k = len(xw)
            h = (tri[:k, :k] @ xw.view(k, -1)).view_as(xw).add_(prefixes[i]).sigmoid_()
            g = gt[part]
            gV[part] = torch.bmm(g.transpose(1, 2), h)
            da = torch.bmm(g, V[part]).mul_(h).mul_(1 - h)                   # ∂L/∂a_d, S×N×H
            after = (tri[:k, :k].T @ da.view(k, -1)).view_as(da).add_(G)     # G_j = Σ_{d>j} ∂L/∂a_d
            gW[part] = torch.bmm(xt[part].transpose(1, 2), after)
            if gx is not None:
                gx[part] = torch.bmm(after, W[part].transpose(1, 2))
            G = G + da.sum(0)
        gc = G.sum(0)                                                        # c feeds every a_d
        return None if gx is None else gx.transpose(0, 1), gW, gc, gV, grad.sum(0), None


@register("nade", NADEConfig, "Neural autoregressive density estimator: one hidden layer shared by every conditional")
class NADE(Autoregressive):
    """a_d = c + Σ_{j<d} W_j x_j, p(x_d | x_<d) from V_d σ(a_d) + b_d. ``W`` is stored D×E×H (a
    dimension's E input features: 1, or L one-hot categories), ``V`` D×P×H, ``b`` D×P."""

    auto_output = "logistic"      # 256 softmax logits per dimension would need a D·256×H matrix
    default_epochs = 20
    default_batch_size = 64
    block_elements = 2 ** 19      # dimensions per block S: S×N×H about this many numbers (2 MB, in cache), S in [4, 64]

    def __init__(self, config: NADEConfig):
        super().__init__(config)
        d, e, p, hidden = self.dims, self.input_features, self.params_per_dim, config.hidden
        # each hidden unit sums up to D·E inputs: this scale keeps a_D of order one
        self.W = nn.Parameter(torch.randn(d, e, hidden) / math.sqrt(d * e))
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.randn(d, p, hidden) / math.sqrt(hidden))
        self.b = nn.Parameter(torch.zeros(d, p))

    def network(self, inp: Tensor, y=None) -> Tensor:
        flat = _flat(inp)
        block = max(4, min(64, self.block_elements // (len(flat) * self.config.hidden)))
        return _unflat(_NADEFunction.apply(flat, self.W, self.c, self.V, self.b, block), self.image_shape)

    def step_params(self, inp: Tensor, y, i: int, j: int) -> Tensor:
        """The pixel's C conditionals only: a_d for its dimensions from the inputs before them."""
        c, _, w = self.image_shape
        first = (i * w + j) * c
        flat = _flat(inp)[:, :first + c]
        before = torch.einsum("nde,deh->nh", flat[:, :first], self.W[:first]) + self.c
        inside = torch.einsum("nde,deh->ndh", flat[:, first:first + c - 1], self.W[first:first + c - 1])
        a = torch.cat([before.unsqueeze(1), before.unsqueeze(1) + inside.cumsum(1)], 1)   # N×C×H
        out = torch.einsum("nch,cph->ncp", torch.sigmoid(a), self.V[first:first + c]) + self.b[first:first + c]
        return out.transpose(1, 2)

    @torch.no_grad()
    def generate(self, n: int, y=None, *, given: Tensor | None = None, known: Tensor | None = None,
                 temperature: float = 1.0, generator: torch.Generator | None = None, progress: bool | None = None) -> Tensor:
        """As :meth:`Autoregressive.generate` (same draws for the same generator), in O(D·H) per
        image: a_d is carried from one dimension to the next."""
        self.labels(y, n)
        state = _Sampling(self, n, given, known, temperature)
        c, h, w = self.image_shape
        state.run(_raster_groups(self.image_shape), _NADESteps(self, n), generator, f"sampling {n} × {c}×{h}×{w}",
                  progress)
        return state.images()


# --- MADE -------------------------------------------------------------------------------------------------


@dataclass
class MADEConfig(AutoregressiveConfig):
    hidden: Annotated[tuple[int, ...], Range(1)] = (500,)   # units of each hidden layer (relu)
    order: Literal["natural", "random"] = "natural"   # dimension order: raster (channel inside pixel), or random per mask set
    masks: Annotated[int, Range(1)] = 1   # mask sets (degrees, orders) cycled one per training step: connectivity-agnostic training
    test_masks: Annotated[int, Range(1)] = 1   # the first K mask sets averaged at test time: p(x) = mean_k p_k(x)
    direct: bool = True   # add a masked linear map from the inputs straight to the outputs (an FVSBN beside the MLP)
    mask_seed: Annotated[int, Range(0)] = 0   # draws the hidden degrees and random orders (stored with the weights too)
    lr: Annotated[float, Range(0, low_open=True)] = 3e-3   # Adam's learning rate


class _MADESteps:
    """One mask set's conditionals while sampling: the first layer's pre-activations are updated
    one recorded dimension at a time, the layers above run for the dimension asked, and the output
    layer computes only that dimension's P rows."""

    def __init__(self, model: MADE, k: int, inp: Tensor):
        self.model, self.inp = model, inp
        masks, direct = model.masks_of(k)
        e, p = model.input_features, model.params_per_dim
        self.masked = [layer.weight * mask for layer, mask in zip(model.layers, masks)]
        self.direct = model.direct.weight * direct if model.direct is not None else None
        self.e, self.p = e, p
        if model.layers[0] is model.layers[-1]:       # no hidden layer: the outputs read x directly
            self.pre = None
        else:
            self.pre = model.layers[0].bias.expand(len(inp), -1).clone()

    def params(self, d: int) -> Tensor:
        m, rows = self.model, slice(d * self.p, (d + 1) * self.p)
        out = m.layers[-1].bias[rows].expand(len(self.inp), -1)
        if self.pre is not None:
            h = torch.relu(self.pre)
            for layer, weight in zip(m.layers[1:-1], self.masked[1:-1]):
                h = torch.relu(F.linear(h, weight, layer.bias))
            out = out + h @ self.masked[-1][rows].T
        else:                                          # no hidden layer: the output layer reads x
            out = out + self.inp.flatten(1) @ self.masked[-1][rows].T
        if self.direct is not None:
            out = out + self.inp.flatten(1) @ self.direct[rows].T
        return out

    def record(self, d: int, inp_d: Tensor) -> None:
        if self.pre is not None:
            self.pre += inp_d @ self.masked[0][:, d * self.e:(d + 1) * self.e].T


@register("made", MADEConfig, "Masked autoencoder for distribution estimation: an MLP made autoregressive by masks")
class MADE(Autoregressive):
    """An MLP over the flattened image whose masks (:mod:`genlab.nn.made`) make output d read only
    the inputs before d in the mask set's order. The mask sets' orders and hidden degrees are
    buffers (``orders`` K×D, ``degrees{l}`` K×H_l), saved with the weights."""

    auto_output = "logistic"      # 256 softmax logits per dimension would need a D·256×H output layer
    default_epochs = 20
    default_batch_size = 64

    def __init__(self, config: MADEConfig):
        super().__init__(config)
        if config.test_masks > config.masks:
            raise ConfigError(f"test_masks={config.test_masks} averages more mask sets than the {config.masks} trained; "
                              f"set test_masks ≤ masks (e.g. masks={config.test_masks})")
        if not config.hidden and not config.direct:
            raise ConfigError("made needs a hidden layer or the direct map; set hidden=500 (or direct=true)")
        d, e, p = self.dims, self.input_features, self.params_per_dim
        sizes = [d * e, *config.hidden, d * p]
        self.layers = nn.ModuleList(MaskedLinear(a, b) for a, b in itertools.pairwise(sizes))
        self.direct = MaskedLinear(d * e, d * p, bias=False) if config.direct else None
        if self.direct is not None:
            nn.init.zeros_(self.direct.weight)
        # the mask sets: drawn from the config's seed (so a fresh model has them) and stored as
        # buffers (so a loaded model keeps the ones it was trained with)
        g = torch.Generator().manual_seed(config.mask_seed)
        orders, degrees = [], [[] for _ in config.hidden]
        for _ in range(config.masks):
            order = torch.randperm(d, generator=g) if config.order == "random" else torch.arange(d)
            orders.append(order)
            for layer, deg in zip(degrees, made_degrees(order_positions(order), config.hidden, g)):
                layer.append(deg)
        self.register_buffer("orders", torch.stack(orders))
        for index, layer in enumerate(degrees):
            self.register_buffer(f"degrees{index}", torch.stack(layer))
        self.mask_index = 0          # the mask set in use: cycled by training, 0 otherwise
        self._steps = 0

    def masks_of(self, k: int) -> tuple[list[Tensor], Tensor]:
        """Mask set ``k``'s layer masks and direct mask (computed from the stored orders and
        degrees at every call: cheap beside the matrix products, and never stale after loading)."""
        hidden = [getattr(self, f"degrees{index}")[k] for index in range(len(self.config.hidden))]
        return made_masks(order_positions(self.orders[k]), hidden, inputs_per_dim=self.input_features,
                          outputs_per_dim=self.params_per_dim)

    def network(self, inp: Tensor, y=None, mask: int | None = None) -> Tensor:
        """The parameters under mask set ``mask`` (default the one in use)."""
        masks, direct = self.masks_of(self.mask_index if mask is None else mask)
        x = _flat(inp).flatten(1)
        h = x
        for index, (layer, m) in enumerate(zip(self.layers, masks)):
            h = layer(h, m)
            if index < len(self.layers) - 1:
                h = torch.relu(h)
        if self.direct is not None:
            h = h + self.direct(x, direct)
        return _unflat(h.view(len(x), self.dims, self.params_per_dim), self.image_shape)

    def log_prob(self, x: Tensor, y=None) -> Tensor:
        """log p(x) in nats; in eval mode with ``test_masks`` K > 1, of the ensemble
        log (1/K) Σ_k p_k(x)."""
        k = self.config.test_masks
        if self.training or k == 1:
            return super().log_prob(x, y)
        self.labels(y, len(x))
        v = self.to_levels(x)
        inp = self.network_input(v)
        each = torch.stack([self.dim_log_prob(self.network(inp, mask=m), v).flatten(1).sum(1) for m in range(k)])
        return torch.logsumexp(each, 0) - math.log(k)

    def loss(self, batch: dict) -> dict:
        # connectivity-agnostic training: each step trains the next mask set in turn
        if self.training and self.config.masks > 1:
            self.mask_index = self._steps % self.config.masks
            self._steps += 1
        try:
            return super().loss(batch)
        finally:
            self.mask_index = 0

    def dimension_order(self, k: int = 0) -> list[int]:
        """Mask set ``k``'s dimensions (raster index · C + channel) in the order they are generated."""
        return self.orders[k].tolist()

    def order(self) -> list[tuple[int, int]]:
        """The pixels in the order mask set 0 first generates one of their dimensions: raster order
        for ``order=natural``, a random order otherwise."""
        c, _, w = self.image_shape
        seen, out = set(), []
        for d in self.dimension_order(0):
            pixel = d // c
            if pixel not in seen:
                seen.add(pixel)
                out.append((pixel // w, pixel % w))
        return out

    @torch.no_grad()
    def generate(self, n: int, y=None, *, given: Tensor | None = None, known: Tensor | None = None,
                 temperature: float = 1.0, generator: torch.Generator | None = None, progress: bool | None = None) -> Tensor:
        """As :meth:`Autoregressive.generate`, in each mask set's own order; with ``test_masks`` K > 1
        every image first draws its component k uniformly (an exact draw from the ensemble)."""
        self.labels(y, n)
        state = _Sampling(self, n, given, known, temperature)
        k = self.config.test_masks
        component = torch.randint(k, (n,), generator=generator) if k > 1 else torch.zeros(n, dtype=torch.long)
        c, h, w = self.image_shape
        natural = self.config.order == "natural"
        for m in range(k):
            part = state
            if k > 1:
                rows = (component == m).nonzero().flatten().to(self.device)
                if not len(rows):
                    continue
                part = state.rows(rows)
            groups = _raster_groups(self.image_shape) if natural else [[d] for d in self.dimension_order(m)]
            part.run(groups, _MADESteps(self, m, part.inp), generator,
                     f"sampling {n} × {c}×{h}×{w}" + (f" (mask set {m})" if k > 1 else ""), progress,
                     "px" if natural else "dim")
            if k > 1:
                state.put(rows, part)
        return state.images()


__all__ = ["MADE", "NADE", "MADEConfig", "NADEConfig"]
