"""Likelihood metrics for latent-variable models and exact-density models.

For a VAE with encoder q(z|x) = N(μ, σ²), prior p(z) = N(0, I) and decoder p(x|z):

    −ELBO(x)   = −E_q[log p(x|z)] + KL(q(z|x) ‖ p(z))                      (nats)
    IWAE_K(x)  = −log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x),  z_k ~ q(z|x)   (Burda et al. 2015)

IWAE_K is an upper bound on −log p(x) that tightens as K grows (IWAE_1 = −ELBO in expectation).
Bits per dimension for exact log-likelihoods: bpd = −log p(x) / (D · ln 2).
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import torch
from torch import Tensor

from ..data.batches import batched


def _needs_densities(model) -> None:
    from ..errors import CapabilityError
    from ..models.vae import bounds_likelihood

    if not bounds_likelihood(model):
        raise CapabilityError(f"model {model.registry_name!r} has no encoder density q(z|x) and decoder density "
                              "p(x|z): likelihood bounds need a VAE (exact log_prob models: `genlab eval`)")


def _log_normal(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    return -0.5 * (((z - mu) ** 2) / logvar.exp() + logvar + math.log(2 * math.pi)).sum(-1)


DECODE_PIXELS = 2000 * 784  # pixels decoded per call (2,000 digits): big batches run convolutions faster


@contextmanager
def channels_last(model):
    """Hold 4-D weights channels-last for a while: oneDNN's (transposed) convolutions on the CPU
    run about twice as fast that way. The model's own layout is restored afterwards."""
    convs = [p for p in model.parameters() if p.dim() == 4]
    if not convs or all(p.is_contiguous(memory_format=torch.channels_last) for p in convs):
        yield model
        return
    model.to(memory_format=torch.channels_last)
    try:
        yield model
    finally:
        model.to(memory_format=torch.contiguous_format)


@torch.no_grad()
def log_weights(model, x: Tensor, k: int) -> Tensor:
    """log p(x|z_k) + log p(z_k) − log q(z_k|x) for K posterior samples: K×N.

    Several posterior samples per image are decoded in one call (about ``DECODE_PIXELS`` pixels).
    """
    _needs_densities(model)
    mu, logvar = model.posterior(x)
    std = (0.5 * logvar).exp()
    n = len(x)
    per_call = max(1, DECODE_PIXELS // (n * x[0].numel()))
    out = []
    for start in range(0, k, per_call):
        m = min(per_call, k - start)
        z = mu + std * torch.randn(m, *std.shape, device=std.device, dtype=std.dtype)  # m×N×D
        x_hat = model.decode(z.flatten(0, 1))
        log_px = model.decoder_log_prob(x.expand(m, *x.shape).flatten(0, 1), x_hat).view(m, n)
        out.append(log_px + _log_normal(z, torch.zeros_like(z), torch.zeros_like(z)) - _log_normal(z, mu, logvar))
    return torch.cat(out)


@torch.no_grad()
def exact_nll(model, x: Tensor, y: Tensor | None = None, batch_size: int = 500) -> Tensor:
    """−log p(x) per image (nats) of a model with an exact ``log_prob``; a class-conditional model
    (``label_space`` of kind "classes") scores −log p(x | y) with the images' labels ``y``."""
    space = getattr(model, "label_space", None)
    conditional = space is not None and space.kind == "classes"
    out = []
    for i in range(0, len(x), batch_size):
        labels = y[i:i + batch_size].to(model.device) if conditional and y is not None else None
        out.append(-model.log_prob(x[i:i + batch_size].to(model.device), labels).cpu())
    return torch.cat(out) if out else x.new_zeros(0)


@torch.no_grad()
def negative_elbo(model, x: Tensor, samples: int = 1, batch_size: int = 500, seed: int = 0) -> float:
    """Mean −ELBO in nats per image (Monte-Carlo over ``samples`` codes per image)."""
    torch.manual_seed(seed)
    with channels_last(model):
        per_image = batched(lambda b: -log_weights(model, b, samples).mean(0), x, batch_size)
    return float(per_image.double().mean())


@torch.no_grad()
def iwae_nll(model, x: Tensor, k: int = 100, batch_size: int = 100, seed: int = 0) -> float:
    """Importance-weighted estimate of −log p(x), nats per image, with K samples."""
    torch.manual_seed(seed)
    with channels_last(model):
        per_image = batched(lambda b: math.log(k) - torch.logsumexp(log_weights(model, b, k), 0), x, batch_size)
    return float(per_image.double().mean())


def bits_per_dim(nll_nats: float, dims: int) -> float:
    return nll_nats / (dims * math.log(2))
