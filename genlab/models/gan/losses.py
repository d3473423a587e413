"""The adversarial losses, on the discriminator's raw outputs (logits or critic scores).

With D(x) = σ(logit) for the probability-valued losses:

minimax        L_D = −log D(x) − log(1 − D(G(z)))          L_G = log(1 − D(G(z)))    (saturating)
nonsaturating  L_D as minimax                                L_G = −log D(G(z))
wgan           L_D = D(G(z)) − D(x)  (critic, no sigmoid)    L_G = −D(G(z))            + weight clipping
wgan-gp        L_D as wgan + λ·(‖∇D(x̂)‖₂ − 1)²,  x̂ = εx + (1 − ε)x̃                L_G as wgan
lsgan          L_D = ½(D(x) − b)² + ½(D(G(z)) − a)²          L_G = ½(D(G(z)) − c)²
hinge          L_D = max(0, 1 − D(x)) + max(0, 1 + D(G(z)))  L_G = −D(G(z))

log D = −softplus(−logit) and log(1 − D) = −softplus(logit), so nothing overflows at
saturation. Label smoothing (one-sided, Salimans et al. 2016) lowers the real target to 1 − s.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp", "lsgan", "hinge")
PROBABILITY_LOSSES = ("minimax", "nonsaturating")


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


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every convolution and linear layer."""
    from torch.nn.utils.parametrizations import spectral_norm

    for name, child in list(module.named_children()):
        if isinstance(child, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
            setattr(module, name, spectral_norm(child))
        else:
            apply_spectral_norm(child)
    return module
