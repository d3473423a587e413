"""Sampling a VQ-VAE through an autoregressive prior over its code maps (van den Oord et al. 2017).

The VQ-VAE alone has no p(z): its decoder maps any h×w grid of code indices to an image. Ancestral
sampling fits a prior to the code maps of the training images and draws from it,

    k ~ p_θ(k) = ∏_i p_θ(k_i | k_<i)      (a PixelCNN over the h×w grid, K categories per position)
    x = G(e_k)                            (the VQ-VAE's decoder on the looked-up codebook vectors)

The prior is an ordinary autoregressive run trained on ``codes:RUN`` (the indices stored as
images of K categorical levels, k/(K−1), shape 1×h×w), so its values map back by k = round(x·(K−1)).

    uniform baseline   k_i ~ Uniform{0, …, K−1} independently: what the decoder makes of codes
                       without structure; the prior's samples should look far more like digits.
    prior NLL          −(1/hw)·Σ_i log p_θ(k_i | k_<i) on the codes of held-out images, in nats per
                       code; log K is the uniform prior's value.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

from ..errors import CapabilityError, ConfigError
from ..models.autoregressive import Autoregressive

FAMILY = "pixelcnn, gated-pixelcnn, made, nade or fvsbn"


def is_vqvae(model) -> bool:
    """Whether ``model`` decodes grids of code indices (a VQ-VAE)."""
    return callable(getattr(model, "decode_indices", None)) and callable(getattr(model, "encode_indices", None))


def train_hint(vqvae_name: str = "RUN") -> str:
    return (f"train a prior over its codes with `genlab train pixelcnn --data codes:{vqvae_name}`, then pass it "
            "with --prior PRIOR")


def check_prior(vqvae, prior, vqvae_name: str = "the vq-vae", prior_name: str = "PRIOR") -> None:
    """One-line refusals for a prior that cannot serve this VQ-VAE: not a VQ-VAE, not autoregressive,
    another number of codes, another grid."""
    if not is_vqvae(vqvae):
        name = getattr(vqvae, "registry_name", type(vqvae).__name__)
        raise CapabilityError(f"{vqvae_name} is a {name}, not a vq-vae: a --prior over code maps needs a vq-vae run")
    if not isinstance(prior, Autoregressive):
        name = getattr(prior, "registry_name", type(prior).__name__)
        raise CapabilityError(f"prior {prior_name} is a {name}, not an autoregressive model; "
                              f"{train_hint(vqvae_name)} ({FAMILY})")
    k = int(vqvae.config.num_codes)
    if prior.levels != k:
        raise ConfigError(f"prior {prior_name} models {prior.levels} codes but the vq-vae has {k}: train the prior on "
                          f"codes:{vqvae_name}")
    grid = (1, *vqvae.grid)
    if tuple(prior.image_shape) != grid:
        shape = "×".join(map(str, prior.image_shape))
        raise ConfigError(f"prior {prior_name} models {shape} maps but the vq-vae's code grid is "
                          f"{'×'.join(map(str, grid))}: train the prior on codes:{vqvae_name}")


class PriorSampler:
    """Images from a VQ-VAE by ancestral sampling: code maps from the autoregressive ``prior``,
    decoded by ``vqvae.decode_indices``."""

    def __init__(self, vqvae, prior, vqvae_name: str = "the vq-vae", prior_name: str = "PRIOR"):
        check_prior(vqvae, prior, vqvae_name, prior_name)
        self.vqvae, self.prior = vqvae, prior
        self.prior_name = prior_name

    @property
    def num_codes(self) -> int:
        return int(self.vqvae.config.num_codes)

    @property
    def label_space(self):
        return self.prior.label_space

    def codes_of(self, maps: Tensor) -> Tensor:
        """Prior images N×1×h×w in [0, 1] -> code indices N×h×w (k = round(x·(K−1)))."""
        return self.prior.to_levels(maps)[:, 0]

    def as_maps(self, indices: Tensor) -> Tensor:
        """Code indices N×h×w -> the prior's images N×1×h×w (k/(K−1))."""
        return self.prior.from_levels(indices.long()).unsqueeze(1)

    @torch.no_grad()
    def sample_codes(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None):
        """N×h×w code indices drawn from the prior (``y``: a label for a class-conditional prior)."""
        self.prior.eval()
        maps = self.prior.sample(n, self.prior.labels(y, n), temperature=temperature, generator=generator)
        return self.codes_of(maps)

    @torch.no_grad()
    def sample(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images: code maps from the prior, decoded by the VQ-VAE (N×C×H×W in [0, 1])."""
        self.vqvae.eval()
        codes = self.sample_codes(n, y, temperature=temperature, generator=generator)
        return self.vqvae.decode_indices(codes.to(self.vqvae.device))

    @torch.no_grad()
    def code_nll(self, x: Tensor, y=None, batch_size: int = 250) -> float:
        """The prior's mean cross-entropy per code, in nats, on the code maps of images ``x``."""
        total, count = 0.0, 0
        self.vqvae.eval()
        self.prior.eval()
        for i in range(0, len(x), batch_size):
            part = x[i:i + batch_size].to(self.vqvae.device)
            codes = self.vqvae.encode_indices(part)
            labels = None if y is None or self.prior.label_space is None else y[i:i + batch_size]
            logp = self.prior.log_prob(self.as_maps(codes).to(self.prior.device), labels)
            total += float(-logp.sum())
            count += codes[0].numel() * len(codes)
        return total / max(count, 1)


@torch.no_grad()
def uniform_codes(vqvae, n: int, generator: torch.Generator | None = None) -> Tensor:
    """The baseline: ``n`` images decoded from code maps drawn uniformly, each position independent."""
    if not is_vqvae(vqvae):
        raise CapabilityError(f"{getattr(vqvae, 'registry_name', 'this model')} has no code grid to fill; "
                              "give a vq-vae")
    h, w = vqvae.grid
    codes = torch.randint(0, int(vqvae.config.num_codes), (n, h, w), generator=generator)
    vqvae.eval()
    return vqvae.decode_indices(codes.to(vqvae.device))


def load_prior(vqvae, prior_run: str | Path, vqvae_name: str = "the vq-vae") -> PriorSampler:
    """The prior run folder ``prior_run`` checked against ``vqvae``, as a :class:`PriorSampler`."""
    from .. import runs

    prior = runs.load(prior_run)
    sampler = PriorSampler(vqvae, prior, vqvae_name, str(prior_run))
    # the same K and grid are not enough: the codes of another vq-vae mean other things
    spec = str((runs.read_config(prior_run).get("data") or {}).get("spec", ""))
    source = Path(spec.partition(":")[2]).expanduser() if spec.startswith("codes:") else None
    here = Path(vqvae_name).expanduser()
    if source is not None and _other_weights(source, here):
        raise ConfigError(f"prior {prior_run} was trained on the codes of {source}, not of {vqvae_name}: its codes "
                          f"mean other things; train the prior on codes:{vqvae_name}")
    return sampler


def _other_weights(source: Path, here: Path) -> bool:
    """Whether run folders ``source`` and ``here`` hold different vq-vae weights (a copied or moved
    run folder with the same weights is the same vq-vae)."""
    a, b = source / "model.safetensors", here / "model.safetensors"
    if not (a.is_file() and b.is_file()) or a.resolve() == b.resolve():
        return False
    return a.stat().st_size != b.stat().st_size or a.read_bytes() != b.read_bytes()


class WithPrior:
    """A VQ-VAE seen as a model that can ``sample`` (through its prior), for the tools that take a
    model: the evaluation's sample metrics, the report. Everything else is the VQ-VAE's own."""

    def __init__(self, vqvae, sampler: PriorSampler):
        self._vqvae, self.code_prior = vqvae, sampler

    def __getattr__(self, name):
        return getattr(self._vqvae, name)

    def sample(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        return self.code_prior.sample(n, y, temperature=temperature, generator=generator)

    @property
    def label_space(self):
        return self.code_prior.label_space

    def labels(self, y, n: int, **kw):
        return self.code_prior.prior.labels(y, n, **kw)

    def capabilities(self) -> list[str]:
        have = self._vqvae.capabilities()
        return have if "sample" in have else [*have, "sample"]

    def can(self, capability: str) -> bool:
        return capability in self.capabilities()

    def require(self, capability: str, purpose: str = ""):
        return self.sample if capability == "sample" else self._vqvae.require(capability, purpose)


def log_codes(k: int) -> float:
    """log K: the uniform prior's cross-entropy per code, in nats."""
    return math.log(k)


__all__ = ["PriorSampler", "WithPrior", "check_prior", "is_vqvae", "load_prior", "log_codes", "train_hint",
           "uniform_codes"]
