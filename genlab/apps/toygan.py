"""A live toy GAN on 2-D points, trained one step at a time (GAN Lab's idea, Kahng et al. 2018).

G maps 2-D noise z ~ N(0, I) to a point, D maps a point to one number; both are MLPs with two
hidden layers of 64 units (G: ReLU, D: LeakyReLU(0.2)). Algorithm 1 of Goodfellow et al. 2014:
k steps of D on a batch of real points and as many fresh fakes, then one step of G, with
V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))] and the family's other losses, on D's raw output:

minimax        L_D = −log D(x) − log(1 − D(G(z)))       L_G = log(1 − D(G(z)))   (saturates when D wins)
nonsaturating  L_D as minimax                             L_G = −log D(G(z))
wgan           L_D = D(G(z)) − D(x), weights in [−0.01, 0.01] after each step     L_G = −D(G(z))
wgan-gp        L_D as wgan + 10·(‖∇D(x̂)‖₂ − 1)², x̂ = εx + (1 − ε)G(z)          L_G = −D(G(z))
lsgan          L_D = ½(D(x) − 1)² + ½D(G(z))²            L_G = ½(D(G(z)) − 1)²

k (n_critic) is 5 for wgan and wgan-gp (Arjovsky et al. 2017; Gulrajani et al. 2017), else 1. The
losses, the penalty, weight clipping and the optimisers are genlab.models.gan.game's.

The default learning rates (``lr=None``) are chosen so that every loss visibly moves within a few
hundred steps on 2-D data, not the image papers' rates (RMSprop 5e-5 for WGAN barely moves a toy
in 500 steps). Measured on the ring, 600 "both" steps, seeds 0-2: non-saturating + Adam 5e-3 brings
the mean distance of a fake point to its nearest real point from 0.81-0.90 to 0.11-0.14 with all 8
modes covered (Adam 1e-3: 0.42-0.53, 5-6 modes); WGAN-GP + Adam 5e-3 to 0.12-0.18:

    optimiser   minimax / nonsaturating   lsgan    wgan     wgan-gp
    adam        5e-3                      5e-3     1e-3     5e-3       β: the loss's recipe (game.RECIPES)
    rmsprop     3e-3                      3e-3     1e-3     3e-3
    sgd         5e-2                      2e-3     5e-1     1e-3

Plain SGD is the lesson, not a recipe: above these rates LSGAN's and WGAN-GP's unbounded outputs
blow up (NaN), and at them the game learns slowly or wanders. Weight-clipped WGAN learns only a
blurred ring on this MLP at every rate tried (Adam or RMSprop, 1e-3 to 5e-3: distance 0.34-0.7 after
600 steps); the clipped critic is too simple to see the modes (Gulrajani et al. 2017 §3).

The networks are genlab.nn.blocks.MLP (the image GANs' MLPGenerator ends in Tanh and an image
reshape, which would bound the plane to [−1, 1]²; here G's output is linear). Everything random
(initial weights, real points, noise, the penalty's ε) comes from generators seeded by ``seed``,
so two games with the same arguments play the same moves, and the global random state is untouched.
"""
from __future__ import annotations

import math
from collections import deque

import torch
from torch import Tensor

from ..data.toy2d import TARGETS, check_target, toy_points
from ..errors import ConfigError, did_you_mean
from ..models.gan.game import (
    RECIPES,
    clip_weights,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    make_optimizer,
)
from ..nn.blocks import MLP, init_linear

TOY_LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan")
TOY_OPTIMIZERS = ("adam", "sgd", "rmsprop")
PLAYERS = ("both", "d", "g")
CRITIC_LOSSES = ("wgan", "wgan-gp")
DEFAULT_LR = {   # (optimizer, loss) -> the rate used when lr is None; see the module's table
    **{("adam", loss): 5e-3 for loss in ("minimax", "nonsaturating", "lsgan", "wgan-gp")}, ("adam", "wgan"): 1e-3,
    **{("rmsprop", loss): 3e-3 for loss in ("minimax", "nonsaturating", "lsgan", "wgan-gp")},
    ("rmsprop", "wgan"): 1e-3,
    ("sgd", "minimax"): 5e-2, ("sgd", "nonsaturating"): 5e-2, ("sgd", "lsgan"): 2e-3, ("sgd", "wgan"): 5e-1,
    ("sgd", "wgan-gp"): 1e-3,
}
CLIP = 0.01                     # WGAN's weight clipping c
GP_WEIGHT = 10.0                # WGAN-GP's λ
N_CRITIC = 5                    # D steps per G step for the critic losses
HISTORY = 500                   # losses kept per player
EXTENT = (-2.0, 2.0, -2.0, 2.0)  # the view: the targets fill about [−1.5, 1.5]², with room around them
MAX_STEPS = 10_000              # per call of step(): a bound so one call cannot hold a server for minutes


def default_lr(loss: str, optimizer: str) -> float:
    """The learning rate used when ``lr`` is None (see the module's table)."""
    _check_choice("loss", loss, TOY_LOSSES)
    _check_choice("optimizer", optimizer, TOY_OPTIMIZERS)
    return DEFAULT_LR[optimizer, loss]


def _check_choice(kind: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"unknown toy GAN {kind} {value!r}{did_you_mean(value, choices)}; choose one of "
                          f"{', '.join(choices)}")


def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in {low}..{high}, got {value!r}")
    return value


def _optimizer(kind: str, params, lr: float, betas) -> torch.optim.Optimizer:
    """game.make_optimizer's optimiser with PyTorch's multi-tensor kernels: a toy step is mostly
    per-parameter overhead (measured on one thread: Adam's step 330 µs plain, 57 µs fused)."""
    params = list(params)
    if kind == "adam":
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
        except (RuntimeError, TypeError):   # a PyTorch without the fused CPU kernel
            pass
    opt = make_optimizer(kind, params, lr, betas)
    for group in opt.param_groups:
        group["foreach"] = True
    return opt


def _rounded(t: Tensor, places: int = 4) -> list:
    """Nested lists of floats rounded to ``places`` decimals (short JSON); a diverged game's NaN/inf
    become finite so the answer stays valid JSON."""
    t = torch.nan_to_num(t.double(), nan=0.0, posinf=1e6, neginf=-1e6).clamp(-1e6, 1e6)
    scale = 10.0 ** places
    return ((t * scale).round() / scale).tolist()


class ToyGAN:
    """One toy game: G and D on a 2-D target, advanced by :meth:`step`, shown by :meth:`state`."""

    def __init__(self, target: str = "ring", loss: str = "nonsaturating", optimizer: str = "adam",
                 lr: float | None = None, batch_size: int = 256, noise_dim: int = 2, hidden: int = 64,
                 seed: int = 0):
        check_target(target)
        _check_choice("loss", loss, TOY_LOSSES)
        _check_choice("optimizer", optimizer, TOY_OPTIMIZERS)
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float))
                               or not math.isfinite(lr) or not 0 < lr <= 1):
            raise ConfigError(f"lr must be a number in (0, 1] (or None for the default), got {lr!r}")
        _check_int("batch_size", batch_size, 1, 65536)
        _check_int("noise_dim", noise_dim, 1, 64)
        _check_int("hidden", hidden, 1, 1024)
        _check_int("seed", seed, 0, 2 ** 63 - 1)
        self.target, self.loss, self.optimizer = target, loss, optimizer
        self.lr = float(lr) if lr is not None else default_lr(loss, optimizer)
        self.batch_size, self.noise_dim, self.seed = batch_size, noise_dim, seed
        self.n_critic = N_CRITIC if loss in CRITIC_LOSSES else 1
        # the initial weights from their own seeded stream, leaving the caller's global state alone
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.generator = MLP([noise_dim, hidden, hidden, 2], act="relu")
            self.discriminator = MLP([2, hidden, hidden, 1], act="leaky_relu")
            init_linear(self.generator)
            init_linear(self.discriminator)
            # gradient_penalty draws ε from the global stream: it gets a private copy of one
            torch.manual_seed(seed + 3)
            self._gp_state = torch.get_rng_state()
        betas = RECIPES[loss].betas
        self.d_opt = _optimizer(optimizer, self.discriminator.parameters(), self.lr, betas)
        self.g_opt = _optimizer(optimizer, self.generator.parameters(), self.lr, betas)
        self._data = torch.Generator().manual_seed(seed)
        self._noise = torch.Generator().manual_seed(seed + 1)
        self._eval_noise: dict[int, Tensor] = {}
        self._real: dict[int, Tensor] = {}
        self.g_steps = 0
        self.d_steps = 0
        self.losses = {"d": deque(maxlen=HISTORY), "g": deque(maxlen=HISTORY)}

    # ------------------------------------------------------------------ the game
    def noise(self, n: int) -> Tensor:
        return torch.randn(n, self.noise_dim, generator=self._noise)

    def d_step(self) -> float:
        """One step of D: a fresh batch of real points against as many fresh fakes."""
        n = self.batch_size
        real = toy_points(self.target, n, generator=self._data)
        with torch.no_grad():
            fake = self.generator(self.noise(n))
        out = self.discriminator(torch.cat([real, fake])).flatten()   # one pass for both halves
        loss = discriminator_loss(self.loss, out[:n], out[n:])
        if self.loss == "wgan-gp":
            with torch.random.fork_rng(devices=[]):
                torch.set_rng_state(self._gp_state)
                gp = gradient_penalty(self.discriminator, real, fake)
                self._gp_state = torch.get_rng_state()
            loss = loss + GP_WEIGHT * gp
        self.d_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.d_opt.step()
        if self.loss == "wgan":
            clip_weights(self.discriminator, CLIP)
        self.d_steps += 1
        value = loss.item()
        self.losses["d"].append(value)
        return value

    def g_step(self) -> float:
        """One step of G on fresh noise, judged by D (whose weights are not touched)."""
        self.discriminator.requires_grad_(False)   # no gradients for D: saves time, leaves D's .grad alone
        try:
            loss = generator_loss(self.loss, self.discriminator(self.generator(self.noise(self.batch_size))))
        finally:
            self.discriminator.requires_grad_(True)
        self.g_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.g_opt.step()
        self.g_steps += 1
        value = loss.item()
        self.losses["g"].append(value)
        return value

    def step(self, player: str = "both", steps: int = 1) -> None:
        """Advance the game ``steps`` times: "d" one D step, "g" one G step, "both" n_critic D steps
        (5 for wgan/wgan-gp, else 1) then one G step."""
        _check_choice("player", player, PLAYERS)
        _check_int("steps", steps, 1, MAX_STEPS)
        for _ in range(steps):
            if player in ("both", "d"):
                for _ in range(self.n_critic if player == "both" else 1):
                    self.d_step()
            if player in ("both", "g"):
                self.g_step()

    # ------------------------------------------------------------------ what the page shows
    def real_points(self, n: int) -> Tensor:
        """A fixed sample of ``n`` target points (the same on every call)."""
        if n not in self._real:
            self._real = {n: toy_points(self.target, n, self.seed)}
        return self._real[n]

    def eval_noise(self, n: int) -> Tensor:
        """Fixed noise for the shown fakes, so the points move smoothly from frame to frame."""
        if n not in self._eval_noise:
            self._eval_noise = {n: torch.randn(n, self.noise_dim,
                                               generator=torch.Generator().manual_seed(self.seed + 2))}
        return self._eval_noise[n]

    @torch.no_grad()
    def fake_points(self, n: int = 512) -> Tensor:
        """G's points for the fixed evaluation noise: n×2."""
        return self.generator(self.eval_noise(n))

    @torch.no_grad()
    def field(self, grid: int = 32) -> tuple[Tensor, str]:
        """D over a grid×grid lattice of cell centres covering EXTENT (row 0 = top, the largest y):
        σ(logit) for minimax/nonsaturating ("probability"), the raw score otherwise ("score")."""
        xmin, xmax, ymin, ymax = EXTENT
        cx, cy = (xmax - xmin) / grid, (ymax - ymin) / grid
        xs = xmin + cx * (torch.arange(grid) + 0.5)
        ys = ymax - cy * (torch.arange(grid) + 0.5)             # top row first
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        out = self.discriminator(torch.stack([xx, yy], -1).reshape(-1, 2)).view(grid, grid)
        if self.loss in ("minimax", "nonsaturating"):
            return out.sigmoid(), "probability"
        return out, "score"

    def diverged(self) -> bool:
        """True once a weight is NaN or infinite (too high a rate): the game cannot recover."""
        nets = (self.generator, self.discriminator)
        return not all(bool(p.isfinite().all()) for net in nets for p in net.parameters())

    def state(self, points: int = 512, grid: int = 32) -> dict:
        """The game as the page draws it, JSON-ready: {"step" (G steps), "d_steps", "target", "loss",
        "optimizer", "lr" (in force), "n_critic", "real": [[x, y], ...] (a fixed sample), "fake": [[x, y],
        ...] (G on fixed noise, so points move smoothly), "field": grid×grid rows (row 0 = top) of D's
        output, "field_kind": "probability"|"score", "extent": [xmin, xmax, ymin, ymax], "diverged",
        "losses": {"d": [...], "g": [...]} (one per step, the last 500; null where not finite)}."""
        _check_int("points", points, 1, 10_000)
        _check_int("grid", grid, 2, 256)
        field, kind = self.field(grid)
        return {
            "step": self.g_steps, "d_steps": self.d_steps, "target": self.target, "loss": self.loss,
            "optimizer": self.optimizer, "lr": self.lr, "n_critic": self.n_critic,
            "real": _rounded(self.real_points(points)), "fake": _rounded(self.fake_points(points)),
            "field": _rounded(field, 5), "field_kind": kind, "extent": list(EXTENT),
            "diverged": self.diverged(),
            "losses": {k: [round(v, 5) if math.isfinite(v) else None for v in history]
                       for k, history in self.losses.items()},
        }


def options() -> dict:
    """The choices the page offers."""
    return {"targets": list(TARGETS), "losses": list(TOY_LOSSES), "optimizers": list(TOY_OPTIMIZERS)}


__all__ = ["ToyGAN", "TOY_LOSSES", "TOY_OPTIMIZERS", "TARGETS", "DEFAULT_LR", "EXTENT", "default_lr", "options"]
