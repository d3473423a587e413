"""The adversarial game: its losses, the named training recipes, and the two-player GAN base.

Algorithm 1 of Goodfellow et al. 2014: for each training iteration, k steps of the discriminator on a
minibatch of noise and of data, then one step of the generator. Here that is two players:
``discriminator`` with ``steps = k`` (WGAN's n_critic; ``after_step`` clips the critic's weights)
and ``generator`` (``after_step`` updates the EMA copy of G). Images are in [0, 1] outside and in
[−1, 1] inside (Tanh output).

The losses, on D's raw output (a logit, or a critic's score), with D(x) = σ(logit):

minimax        L_D = −log D(x) − log(1 − D(G(z)))          L_G = log(1 − D(G(z)))    (saturating)
nonsaturating  L_D as minimax                                L_G = −log D(G(z))
wgan           L_D = D(G(z)) − D(x)  (critic, no sigmoid)    L_G = −D(G(z))            + weight clipping
wgan-gp        L_D as wgan + λ·(‖∇D(x̂)‖₂ − 1)²,  x̂ = εx + (1 − ε)x̃                L_G as wgan
lsgan          L_D = ½(D(x) − b)² + ½(D(G(z)) − a)²          L_G = ½(D(G(z)) − c)²
hinge          L_D = max(0, 1 − D(x)) + max(0, 1 + D(G(z)))  L_G = −D(G(z))

log D = −softplus(−logit) and log(1 − D) = −softplus(logit), so nothing overflows at saturation.
Label smoothing (one-sided, Salimans et al. 2016) lowers the real target to 1 − s. The terms the
conditional and structured GANs add (AC-GAN's L_S and L_C, InfoGAN's information term, the
mode-seeking term) are here too.

Each loss brings its recipe (:data:`RECIPES`) unless the config overrides a part of it:
    minimax / nonsaturating / lsgan / hinge   DCGAN_RECIPE:   Adam 2e-4, β = (0.5, 0.999), k = 1
    wgan                                      WGAN_RECIPE:    RMSprop 5e-5, n_critic = 5, clip c = 0.01
    wgan-gp                                   WGAN_GP_RECIPE: Adam 1e-4, β = (0, 0.9), n_critic = 5, λ = 10

:class:`GAN` is the base of every GAN model: a model builds its generator and discriminator from
``genlab.nn.gan`` and hands them to ``GAN.__init__``; it writes only what its paper adds to the
game (``d_loss``, ``g_loss``, its noise), while the step structure, the gradient penalty, weight
clipping, the EMA copy of G, sampling and the label checks are here once.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Annotated, Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import ConfigError, DataError
from ...nn.diffaugment import parse_policy
from ..base import GenerativeModel, ModelConfig, Player, Range

LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge")
PROBABILITY_LOSSES = ("minimax", "nonsaturating")
LossName = Literal["minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge"]
LOG_2PI = math.log(2 * math.pi)


# ------------------------------------------------------------------------------------------ losses

def discriminator_loss(kind: str, real: Tensor, fake: Tensor, smoothing: float = 0.0,
                       a: float = 0.0, b: float = 1.0) -> Tensor:
    """The discriminator's (critic's) loss on its outputs for real and generated images."""
    real, fake = real.flatten(), fake.flatten()
    if kind in PROBABILITY_LOSSES:
        target = torch.full_like(real, 1.0 - smoothing)
        return (F.binary_cross_entropy_with_logits(real, target)
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind in ("wgan", "wgan-gp"):
        return fake.mean() - real.mean()
    if kind == "lsgan":
        return 0.5 * ((real - b) ** 2).mean() + 0.5 * ((fake - a) ** 2).mean()
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {', '.join(LOSSES)}")


def generator_loss(kind: str, fake: Tensor, c: float = 1.0) -> Tensor:
    """The generator's loss on the discriminator's outputs for its images."""
    fake = fake.flatten()
    if kind == "minimax":
        return -F.softplus(fake).mean()          # log(1 − D(G(z))), minimised
    if kind == "nonsaturating":
        return F.softplus(-fake).mean()          # −log D(G(z))
    if kind in ("wgan", "wgan-gp", "hinge"):
        return -fake.mean()
    if kind == "lsgan":
        return 0.5 * ((fake - c) ** 2).mean()
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {', '.join(LOSSES)}")


def gradient_penalty(critic, real: Tensor, fake: Tensor) -> Tensor:
    """E[(‖∇ₓ̂ D(x̂)‖₂ − 1)²] on random points x̂ = εx + (1 − ε)x̃ between real and fake images.

    ``critic`` maps a batch of images to scores. Returns 0 when autograd is off (validation).
    """
    if not torch.is_grad_enabled():
        return real.new_zeros(())
    eps = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """WGAN's Lipschitz constraint: every parameter of the critic into [−c, c]."""
    for p in module.parameters():
        p.clamp_(-c, c)


def mode_seeking_loss(images: Tensor, z: Tensor) -> Tensor:
    """Mao et al. 2019 (MSGAN): 1 / (ratio + ε), ratio = mean |G(z1, c) − G(z2, c)| / mean |z1 − z2|.

    ``images`` and ``z`` hold pairs: the first half and the second half share their class (codes)
    and differ in z. Minimised by G, it rewards images that change when z changes.
    """
    a, b = images.flatten(1).chunk(2)
    za, zb = z.flatten(1).chunk(2)
    ratio = (a - b).abs().mean(1) / (za - zb).abs().mean(1).clamp_min(1e-8)
    return 1 / (ratio.mean() + 1e-5)


def source_log_likelihood(real_logit: Tensor, fake_logit: Tensor) -> Tensor:
    """AC-GAN's L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)], P(S = real | x) = σ(logit)."""
    return F.logsigmoid(real_logit.flatten()).mean() + F.logsigmoid(-fake_logit.flatten()).mean()


def class_log_likelihood(real_logits: Tensor, y_real: Tensor, fake_logits: Tensor, y_fake: Tensor) -> Tensor:
    """AC-GAN's L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)], P(C | x) = softmax(logits)."""
    return -(F.cross_entropy(real_logits, y_real) + F.cross_entropy(fake_logits, y_fake))


def acgan_discriminator_loss(kind: str, real_logit: Tensor, fake_logit: Tensor, real_class: Tensor, y_real: Tensor,
                             fake_class: Tensor, y_fake: Tensor, class_weight: float = 1.0, smoothing: float = 0.0,
                             a: float = 0.0, b: float = 1.0, fake_class_weight: float = 1.0) -> Tensor:
    """−L_S − λ_C·L_C (the source part as the config's loss: exactly −L_S for minimax/nonsaturating).

    ``fake_class_weight`` scales L_C's term on generated images (1: the paper's L_C)."""
    source = discriminator_loss(kind, real_logit, fake_logit, smoothing, a, b)
    real_ll, fake_ll = -F.cross_entropy(real_class, y_real), -F.cross_entropy(fake_class, y_fake)
    return source - class_weight * (real_ll + fake_class_weight * fake_ll)


def acgan_generator_loss(kind: str, fake_logit: Tensor, fake_class: Tensor, y_fake: Tensor,
                         class_weight: float = 1.0, c: float = 1.0) -> Tensor:
    """−(L_C − L_S) in the terms G controls: E[log P(S = fake | X_fake)] − λ_C·E[log P(C = c | X_fake)]
    for minimax; the other losses change only the source term (non-saturating: −E[log P(S = real | X_fake)])."""
    return generator_loss(kind, fake_logit, c) + class_weight * F.cross_entropy(fake_class, y_fake)


def info_loss(cat_logits: Tensor, mu: Tensor, logvar: Tensor, cat: Tensor, cont: Tensor,
              cat_weight: float = 1.0, cont_weight: float = 1.0) -> dict:
    """InfoGAN's −(L_I − H(c)) per image: λ_cat·CE(c1) + λ_cont·Σ_j Gaussian NLL(c_j); returns the parts too."""
    ce = F.cross_entropy(cat_logits, cat)
    if cont.shape[1]:
        nll = 0.5 * (LOG_2PI + logvar + (cont - mu) ** 2 / logvar.exp()).sum(1).mean()
    else:
        nll = cat_logits.new_zeros(())
    return {"info": cat_weight * ce + cont_weight * nll, "info_ce": ce, "info_nll": nll}


# ----------------------------------------------------------------------------------------- recipes

@dataclass(frozen=True)
class Recipe:
    """How the two players are optimised: the optimiser, its rate (both players), Adam's β and k."""

    optimizer: Literal["adam", "rmsprop", "sgd"]
    lr: float
    betas: tuple[float, float]
    d_steps: int


DCGAN_RECIPE = Recipe("adam", 2e-4, (0.5, 0.999), 1)         # Radford et al. 2016
WGAN_RECIPE = Recipe("rmsprop", 5e-5, (0.9, 0.999), 5)       # Arjovsky et al. 2017 (β unused)
WGAN_GP_RECIPE = Recipe("adam", 1e-4, (0.0, 0.9), 5)         # Gulrajani et al. 2017
RECIPES = {"minimax": DCGAN_RECIPE, "nonsaturating": DCGAN_RECIPE, "lsgan": DCGAN_RECIPE, "hinge": DCGAN_RECIPE,
           "wgan": WGAN_RECIPE, "wgan-gp": WGAN_GP_RECIPE}


def recipe(config: "GANConfig") -> dict:
    """The optimiser settings in force: the loss's recipe with the config's explicit choices."""
    base = RECIPES[config.loss]
    lr = config.lr if config.lr is not None else base.lr
    betas = (config.beta1 if config.beta1 is not None else base.betas[0],
             config.beta2 if config.beta2 is not None else base.betas[1])
    return {"optimizer": base.optimizer if config.optimizer == "auto" else config.optimizer,
            "lr_g": lr, "lr_d": config.lr_d if config.lr_d is not None else lr, "betas": betas,
            "d_steps": config.d_steps if config.d_steps is not None else base.d_steps}


def make_optimizer(kind: str, params, lr: float, betas) -> torch.optim.Optimizer:
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


def linear_decay(share: float):
    """Learning-rate factor for the share of training done: 1, then over the last ``share`` of it
    falling linearly to 1/n of the rate in its last of n epochs (never 0: that epoch still learns)."""
    def factor(done: float) -> float:
        return min(1.0, (1.0 - done) / share)
    return factor


# ----------------------------------------------------------------------------------------- configs

@dataclass
class GANConfig(ModelConfig):
    latent_dim: Annotated[int, Range(1)] = 64   # dimensions of the noise z ~ N(0, I)
    loss: LossName = "nonsaturating"        # the adversarial loss (docs/gans.md); it brings its recipe: optimiser, rates, k
    lr: Annotated[Optional[float], Range(0, low_open=True)] = None   # G's learning rate (and D's unless lr_d); None: the loss's recipe
    lr_d: Annotated[Optional[float], Range(0, low_open=True)] = None   # D's own learning rate (two-time-scale update rule); None: lr
    optimizer: Literal["auto", "adam", "rmsprop", "sgd"] = "auto"   # the optimiser of both players; auto: the loss's recipe
    beta1: Annotated[Optional[float], Range(0, 1, high_open=True)] = None   # Adam's β1; None: the loss's recipe
    beta2: Annotated[Optional[float], Range(0, 1, high_open=True)] = None   # Adam's β2; None: the loss's recipe
    d_steps: Annotated[Optional[int], Range(1)] = None   # k, D steps per G step (WGAN's n_critic); None: the loss's recipe
    label_smoothing: Annotated[float, Range(0, 1, high_open=True)] = 0.0   # s: D's real target is 1 − s (BCE losses only)
    clip: Annotated[float, Range(0, low_open=True)] = 0.01   # wgan: critic weights clamped to [−c, c]
    gp_weight: Annotated[float, Range(0)] = 10.0   # wgan-gp: λ, the gradient penalty's weight
    ls_a: float = 0.0                       # lsgan: D's target for generated images
    ls_b: float = 1.0                       # lsgan: D's target for real images
    ls_c: float = 1.0                       # lsgan: G's target for its images
    spectral_norm: bool = False             # spectral normalisation on every layer of D
    # share of the epochs, at the end, over which both rates fall linearly (0: constant rates)
    lr_decay: Annotated[float, Range(0, 1)] = 0.0
    ema: bool = False                       # sample from an exponential moving average of G's weights
    ema_decay: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.999   # the EMA's decay per G step
    # DiffAugment policy on every image D sees while training: comma-separated "color",
    # "translation", "cutout"; "" none
    diff_augment: str = ""

    def resolved(self) -> dict:
        values = super().resolved()
        used = recipe(self)
        values.update(optimizer=used["optimizer"], lr=used["lr_g"], lr_d=used["lr_d"], beta1=used["betas"][0],
                      beta2=used["betas"][1], d_steps=used["d_steps"])
        return values


@dataclass
class DCGANConfig(GANConfig):
    """The game's keys and those of the DCGAN networks (dcgan, cgan, acgan, infogan)."""

    g_width: Annotated[int, Range(1)] = 64   # channels of G's last hidden layer (doubling inwards)
    d_width: Annotated[int, Range(1)] = 64   # channels of D's first layer (doubling outwards)
    d_norm: Literal["auto", "batch", "layer", "none"] = "auto"   # D's normalisation; auto: layer norm for wgan, wgan-gp or spectral_norm, else batch norm

    def resolved(self) -> dict:
        return {**super().resolved(), "d_norm": d_norm(self)}


def d_norm(config: DCGANConfig) -> str:
    """D's normalisation: the config's, or for ``auto`` layer norm where BatchNorm does harm."""
    if config.d_norm != "auto":
        return config.d_norm
    # BatchNorm couples the samples of a batch, which breaks the per-sample gradient penalty
    # (Gulrajani et al. 2017 §4) and fights weight clipping and spectral norm
    return "layer" if config.loss in ("wgan-gp", "wgan") or config.spectral_norm else "batch"


def check(config: GANConfig) -> None:
    """One line for each impossible setting of the game."""
    if config.loss not in LOSSES:
        raise ConfigError(f"unknown GAN loss {config.loss!r}; choose one of {', '.join(LOSSES)}")
    if config.d_steps is not None and config.d_steps < 1:
        raise ConfigError(f"d_steps must be at least 1, got {config.d_steps}")
    if not 0 <= config.label_smoothing < 1:
        raise ConfigError(f"label_smoothing must be in [0, 1), got {config.label_smoothing}")
    if not 0 <= config.lr_decay <= 1:
        raise ConfigError(f"lr_decay is the share of the epochs to decay over, in [0, 1]; got {config.lr_decay}")
    if not 0 < config.ema_decay < 1:
        raise ConfigError(f"ema_decay must be in (0, 1), got {config.ema_decay}")
    parse_policy(config.diff_augment)


def stratified_labels(n: int, k: int) -> Tensor:
    """0…k−1 in consecutive blocks of (nearly) equal size: every class equally often, in order."""
    return torch.arange(n) * k // max(n, 1)


# ------------------------------------------------------------------------------------------- the base

class GAN(GenerativeModel):
    """Base of the GAN family: a generator G(z[, y]) and a discriminator/critic D(x[, y]) → score.

    A model passes its networks to ``__init__``; it overrides :meth:`d_loss` and :meth:`g_loss`
    when its paper adds terms to the game, and :meth:`noise` / :meth:`generate` when G reads more
    than z and a class. ``label_space`` says what y is (None: unconditional).
    """

    default_epochs = 20
    missing_capability_hints = {
        "encode": "a GAN has no encoder: `genlab invert RUN IMAGE` finds a code by optimisation",
        "reconstruct": "a GAN has no encoder: `genlab invert RUN IMAGE` finds a code by optimisation",
    }

    def __init__(self, config: GANConfig, generator: nn.Module, discriminator: nn.Module):
        check(config)
        super().__init__(config)
        space = self.label_space
        if space is not None and space.kind == "classes" and space.size < 2:
            raise ConfigError(f"{self.registry_name} is class-conditional and needs labelled data with at least 2 "
                              f"classes (got num_classes={space.size}); train it on labelled data such as mnist5k, "
                              "or use dcgan")
        self.generator = generator
        self.discriminator = discriminator
        # sampling reads an average of G's weights (updated after each G step), never trained itself
        self.generator_ema = copy.deepcopy(generator).requires_grad_(False) if config.ema else None

    @property
    def settings(self) -> dict:
        return recipe(self.config)   # read when the players are made, so `train --lr` counts

    @property
    def num_classes(self) -> int:
        """How many values y takes (classes, or a categorical code's); 0 for an unconditional GAN."""
        return self.label_space.size if self.label_space is not None else 0

    # images: [0, 1] outside, [−1, 1] inside
    @staticmethod
    def to_signed(x: Tensor) -> Tensor:
        return x * 2 - 1

    @staticmethod
    def to_unit(x: Tensor) -> Tensor:
        return ((x + 1) / 2).clamp(0, 1)

    # ------------------------------------------------------------------ G, D and their inputs
    def noise(self, n: int, y=None) -> tuple[Tensor, Tensor | None]:
        """G's input for ``n`` images: z ~ N(0, I), and for a class-conditional GAN the labels
        (``y`` checked, or drawn uniformly)."""
        z = torch.randn(n, self.config.latent_dim, device=self.device)
        if self.label_space is None:
            return z, None
        if y is None:
            return z, torch.randint(self.label_space.size, (n,), device=self.device)
        return z, self.labels(y, n, weights=True)

    def generate(self, z: Tensor, y: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        """G(z[, y]) in [−1, 1]; ``net`` another copy of G (the EMA one)."""
        net = net or self.generator
        return net(z) if y is None else net(z, y)

    def critic(self, x: Tensor, y=None) -> Tensor:
        """D's raw output per image (a logit, or a critic's score) for images in [−1, 1]: shape N."""
        self.labels(y, len(x), weights=True)
        return self.discriminator(x).flatten()

    def sampler(self) -> nn.Module:
        """The generator used for sampling: the EMA copy when enabled."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    # ------------------------------------------------------------------ capabilities
    @torch.no_grad()
    def sample(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images; ``temperature`` scales z (below 1: typical images, less variety). With a label
        space, ``y`` (an int, n labels, or n×K weights) picks the class; without it every class is
        drawn equally often, in order (0, 0, …, 1, 1, …), so generic callers see them all."""
        if self.label_space is not None and y is None:
            y = stratified_labels(n, self.label_space.size)
        y = self.labels(y, n, weights=True)
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device) * temperature
        return self.to_unit(self.generate(z, y, net=self.sampler()))

    def decode(self, z: Tensor, y=None) -> Tensor:
        """The generator as a decoder of latent codes (so the latent tools apply to z), in [0, 1];
        a class-conditional GAN needs ``y`` (indices or N×K class weights)."""
        if self.label_space is not None:
            y = self.require_labels(y, len(z), weights=True)
        else:
            y = self.labels(y, len(z))
        return self.to_unit(self.generate(z.to(self.device), y, net=self.sampler()))

    def preview(self, batch: dict) -> Tensor:
        """64 samples; with a label space 8 per value, one value per row of the 8-wide grid."""
        if self.label_space is None:
            return self.sample(64)
        k = self.label_space.size
        return self.sample(8 * k, y=torch.arange(k).repeat_interleave(8))

    # ------------------------------------------------------------------ the game
    def real(self, batch: dict) -> tuple[Tensor, Tensor | None]:
        """The batch's images in [−1, 1], and its labels when the GAN is conditioned on classes."""
        space = self.label_space
        if space is None or space.kind != "classes":
            return self.to_signed(batch["x"]), None
        if batch.get("y") is None:
            raise DataError(f"{self.registry_name} needs labels: the batch has no 'y'; train it on labelled data "
                            "such as mnist5k")
        return self.to_signed(batch["x"]), batch["y"]

    def discriminator_step(self, batch: dict) -> dict:
        """One step of D (Algorithm 1's inner loop): real images against as many fresh fakes."""
        x, y = self.real(batch)
        z, c = self.noise(len(x), y)
        with torch.no_grad():
            fake = self.generate(z, c)
        out = self.d_loss(x, y, fake, z, c)
        if self.config.loss == "wgan-gp":
            gp = gradient_penalty(lambda im: self.critic(im, y), x, fake)
            out["loss"] = out["loss"] + self.config.gp_weight * gp
            out["gp"] = gp.detach()
        return out

    def generator_step(self, batch: dict) -> dict:
        """One step of G: fresh fakes (as many as the batch's images) judged by D."""
        x, y = self.real(batch)
        z, c = self.generator_noise(len(x), y)
        return self.g_loss(self.generate(z, c), z, c)

    def generator_noise(self, n: int, y: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """G's input in its own step; models with the mode-seeking term draw pairs here."""
        return self.noise(n, y)

    def d_loss(self, x: Tensor, y, fake: Tensor, z: Tensor, c) -> dict:
        """D's loss on real images ``x`` (labels ``y``) and fakes made from ``z`` (labels ``c``)."""
        cfg = self.config
        real_out, fake_out = self.critic(x, y), self.critic(fake, c)
        loss = discriminator_loss(cfg.loss, real_out, fake_out, cfg.label_smoothing, cfg.ls_a, cfg.ls_b)
        return {"loss": loss, **self.scores(real_out, fake_out)}

    def g_loss(self, fake: Tensor, z: Tensor, c) -> dict:
        """G's loss on its images ``fake`` made from ``z`` (labels ``c``)."""
        return {"loss": generator_loss(self.config.loss, self.critic(fake, c), self.config.ls_c)}

    def add_mode_seeking(self, out: dict, fake: Tensor, z: Tensor, weight: float) -> dict:
        """``out``'s loss + λ_ms·the mode-seeking term, for fakes drawn in pairs (first half, second half)."""
        if weight > 0 and len(fake) >= 2:
            ms = mode_seeking_loss(fake, z)
            out["loss"] = out["loss"] + weight * ms
            out["mode_seeking"] = ms.detach()
        return out

    def scores(self, real_out: Tensor, fake_out: Tensor) -> dict:
        """D(x) and D(G(z)) means: probabilities for the BCE losses, raw scores otherwise."""
        real_out, fake_out = real_out.detach(), fake_out.detach()
        if self.config.loss in PROBABILITY_LOSSES:
            real_out, fake_out = real_out.sigmoid(), fake_out.sigmoid()
        out = {"d_real": real_out.mean(), "d_fake": fake_out.mean()}
        if self.config.loss in ("wgan", "wgan-gp"):
            out["wasserstein"] = out["d_real"] - out["d_fake"]   # the critic's estimate of W(P_r, P_g)
        return out

    def after_d_step(self) -> None:
        if self.config.loss == "wgan":
            clip_weights(self.discriminator, self.config.clip)

    @torch.no_grad()
    def after_g_step(self) -> None:
        if self.generator_ema is None:
            return
        decay = self.config.ema_decay
        for live, avg in zip(self.generator.parameters(), self.generator_ema.parameters()):
            avg.lerp_(live, 1 - decay)
        for live, avg in zip(self.generator.buffers(), self.generator_ema.buffers()):
            avg.copy_(live)

    def d_parameters(self) -> list:
        return list(self.discriminator.parameters())

    def g_parameters(self) -> list:
        return list(self.generator.parameters())

    def players(self) -> list[Player]:
        s = self.settings
        d_params, g_params = self.d_parameters(), self.g_parameters()
        schedule = linear_decay(self.config.lr_decay) if self.config.lr_decay else None
        return [
            Player("discriminator", d_params, make_optimizer(s["optimizer"], d_params, s["lr_d"], s["betas"]),
                   self.discriminator_step, steps=s["d_steps"], after_step=self.after_d_step, lr_schedule=schedule),
            Player("generator", g_params, make_optimizer(s["optimizer"], g_params, s["lr_g"], s["betas"]),
                   self.generator_step, after_step=self.after_g_step, lr_schedule=schedule),
        ]


__all__ = ["GAN", "GANConfig", "DCGANConfig", "Recipe", "RECIPES", "DCGAN_RECIPE", "WGAN_RECIPE", "WGAN_GP_RECIPE",
           "LOSSES", "PROBABILITY_LOSSES", "recipe", "d_norm", "discriminator_loss", "generator_loss",
           "gradient_penalty", "clip_weights", "mode_seeking_loss", "source_log_likelihood", "class_log_likelihood",
           "acgan_discriminator_loss", "acgan_generator_loss", "info_loss", "stratified_labels", "linear_decay"]
