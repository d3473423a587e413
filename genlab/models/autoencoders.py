"""The autoencoder family beyond `ae` / `conv-ae`: deep, stacked, denoising, sparse, contractive.

Every model here is an :class:`~genlab.models.ae.Autoencoder`: one player whose loss is the
reconstruction error (summed over the pixels of an image, averaged over the batch) plus the
model's own regulariser.

    deep-ae         x → 512 → 256 → 128 → 64 → z → 64 → … → x̂, trained end to end
    stacked-ae      the same shape, first pretrained layer by layer as shallow autoencoders
                    (Hinton & Salakhutdinov 2006), then unrolled and fine-tuned
    dae             reconstruct the clean x from a corrupted x̃ (Vincent et al. 2008)
    sparse-ae       + λ Σ_j |a_j|, or + β Σ_j KL(ρ ‖ ρ̂_j), or keep the k largest units (k-sparse)
    contractive-ae  + λ ‖∂h/∂x‖²_F (Rifai et al. 2011)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.corrupt import corrupt, parse_noise
from ..errors import ConfigError
from ..nn import MLP, ConvDecoder, ConvEncoder, activation, init_linear
from ..registry import register
from .ae import AE, AEConfig, Autoencoder, reconstruction_loss
from .base import ModelConfig, Range

Act = Literal["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "linear"]


def _check_sizes(name: str, sizes, allow_empty: bool = False) -> None:
    if (not sizes and not allow_empty) or any(int(s) < 1 for s in sizes):
        raise ConfigError(f"{name} must be positive layer widths, e.g. --set {name}=256,64; got {tuple(sizes)}")


# --------------------------------------------------------------------------- deep-ae

@dataclass
class DeepAEConfig(AEConfig):
    latent_dim: Annotated[int, Range(1)] = 16   # code units
    hidden: Annotated[tuple[int, ...], Range(1)] = (512, 256, 128, 64)   # hidden layer widths of the encoder (the decoder mirrors them)
    code_activation: Act = "linear"       # a real-valued code, as in Hinton & Salakhutdinov's deep AE


@register("deep-ae", DeepAEConfig, "Deep MLP autoencoder 784-512-256-128-64-16, trained end to end")
class DeepAE(AE):
    """The `ae` with four hidden layers on each side and a linear code: a nonlinear PCA."""

    def __init__(self, config: DeepAEConfig):
        super().__init__(config)
        init_linear(self)


# --------------------------------------------------------------------------- stacked-ae

@dataclass
class StackedAEConfig(ModelConfig):
    sizes: Annotated[tuple[int, ...], Range(1)] = (256, 128, 16)   # hidden layer widths, the last one is the code
    pretrain_epochs: Annotated[int, Range(0)] = 2   # epochs per layer; 0 trains the deep model end to end at once
    activation: Act = "relu"                   # hidden units (the 2006 paper's logistic units: docs/autoencoders.md)
    code_activation: Act = "linear"            # code units
    loss: Literal["bce", "mse"] = "bce"        # reconstruction error of the pixels, summed over them
    lr: Annotated[float, Range(0, low_open=True)] = 3e-3   # Adam's learning rate (each layer gets only a few epochs)


@register("stacked-ae", StackedAEConfig,
          "Stacked autoencoder: greedy layer-wise pretraining, unrolled, then fine-tuned end to end")
class StackedAE(Autoencoder):
    """Hinton & Salakhutdinov (2006) with shallow autoencoders in place of RBMs.

    Layer i's shallow autoencoder is ``enc[i]`` (level i → level i+1) and ``dec[i]`` (back). The
    deep model *is* these layers: encode = enc[L−1] ∘ … ∘ enc[0], decode = dec[0] ∘ … ∘ dec[L−1].
    So pretraining initialises the unrolled model by construction, with no copying. The phase
    follows the epoch: epochs [i·p, (i+1)·p) train layer i on the frozen codes of layers < i,
    later epochs fine-tune everything.
    """

    def __init__(self, config: StackedAEConfig):
        super().__init__(config)
        _check_sizes("sizes", config.sizes)
        if config.pretrain_epochs < 0:
            raise ConfigError(f"pretrain_epochs must be 0 or more, got {config.pretrain_epochs}")
        dims = [math.prod(config.image_shape), *config.sizes]
        n = len(config.sizes)
        self.enc = nn.ModuleList(
            nn.Sequential(nn.Linear(dims[i], dims[i + 1]),
                          activation(config.code_activation if i == n - 1 else config.activation))
            for i in range(n))
        # dec[i] reconstructs level i: the pixels (sigmoid) for i = 0, else enc[i−1]'s activations
        self.dec = nn.ModuleList(
            nn.Sequential(nn.Linear(dims[i + 1], dims[i]), activation("sigmoid" if i == 0 else config.activation))
            for i in range(n))
        init_linear(self)
        self.phase = n  # fine-tuning unless an epoch says otherwise: a loaded model is the deep one

    @property
    def num_layers(self) -> int:
        return len(self.enc)

    def phase_of(self, epoch: int) -> int:
        """The layer pretrained in ``epoch`` (0-based), or ``num_layers`` for fine-tuning."""
        p = self.config.pretrain_epochs
        return self.num_layers if p == 0 else min(epoch // p, self.num_layers)

    def on_epoch_start(self, epoch: int) -> None:
        self.phase = self.phase_of(epoch)

    def encode(self, x: Tensor, y=None) -> Tensor:
        self.labels(y, len(x))
        h = x.flatten(1)
        for layer in self.enc:
            h = layer(h)
        return h

    def decode(self, z: Tensor, y=None) -> Tensor:
        self.labels(y, len(z))
        for layer in reversed(self.dec):
            z = layer(z)
        return z.view(-1, *self.image_shape)

    def level(self, x: Tensor, i: int) -> Tensor:
        """Activations of level i (0: the pixels) through the frozen layers below it."""
        with torch.no_grad():
            h = x.flatten(1)
            for layer in self.enc[:i]:
                h = layer(h)
        return h

    def shallow_loss(self, x: Tensor, i: int) -> Tensor:
        """Reconstruction error of layer i's shallow autoencoder on its (frozen) input level."""
        h = self.level(x, i)
        h_hat = self.dec[i](self.enc[i](h))
        if i == 0:
            return reconstruction_loss(h_hat.view_as(x), x, self.config.loss)
        return F.mse_loss(h_hat, h, reduction="none").sum(1).mean()

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        phase = torch.tensor(float(self.phase + 1), device=x.device)  # 1…L: layer pretrained, L+1: fine-tuning
        if self.phase >= self.num_layers:
            recon = reconstruction_loss(self.reconstruct(x), x, self.config.loss)
            return {"loss": recon, "recon": recon, "phase": phase}
        layer_loss = self.shallow_loss(x, self.phase)
        with torch.no_grad():  # the deep model's error, to follow what pretraining buys
            recon = reconstruction_loss(self.reconstruct(x), x, self.config.loss)
        return {"loss": layer_loss, "recon": recon, "phase": phase}


# --------------------------------------------------------------------------- dae

@dataclass
class DAEConfig(ModelConfig):
    noise: str = "gaussian:0.5"            # the corruption: gaussian:σ, saltpepper:share, mask:share (data/corrupt.py)
    arch: Literal["conv", "mlp"] = "conv"  # convolutional or fully connected encoder and decoder
    latent_dim: Annotated[int, Range(1)] = 32   # code units
    channels: Annotated[tuple[int, ...], Range(1)] = (32, 64)   # conv: output channels of the stride-2 convolutions
    hidden: Annotated[tuple[int, ...], Range(1)] = (256,)   # conv: dense width before the code (last entry); mlp: hidden widths
    loss: Literal["bce", "mse"] = "bce"    # reconstruction error against the clean image, summed over pixels
    lr: Annotated[float, Range(0, low_open=True)] = 2e-3   # Adam's learning rate (measured against 1e-3 in docs/autoencoders.md)


@register("dae", DAEConfig, "Denoising autoencoder: reconstruct clean x from corrupt(x, noise)")
class DAE(Autoencoder):
    """Vincent et al. (2008): the input is corrupted, the target is the clean image, so the
    code must capture the structure of the data rather than copy pixels."""

    def __init__(self, config: DAEConfig):
        super().__init__(config)
        self.noise = parse_noise(config.noise)  # a bad spec fails here, not in the first step
        shape = tuple(config.image_shape)
        _check_sizes("hidden", config.hidden, allow_empty=config.arch == "mlp")
        if config.arch == "conv":
            width = config.hidden[-1]
            self.encoder = nn.Sequential(ConvEncoder(shape, config.channels, width),
                                         nn.Linear(width, config.latent_dim))
            self.decoder = ConvDecoder(shape, config.channels, config.latent_dim)
        else:
            sizes = [math.prod(shape), *config.hidden, config.latent_dim]
            self.encoder = nn.Sequential(nn.Flatten(), MLP(sizes, act="relu", out_act="linear"))
            self.decoder = nn.Sequential(MLP(sizes[::-1], act="relu", out_act="sigmoid"), nn.Unflatten(1, shape))
            init_linear(self)

    def corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return corrupt(x, self.noise, generator)

    def denoise(self, x: Tensor) -> Tensor:
        """The clean image the model believes ``x`` (a noisy image) came from."""
        return self.decode(self.encode(x))

    def reconstruct(self, x: Tensor, y=None) -> Tensor:
        self.labels(y, len(x))
        return self.denoise(x)

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        recon = reconstruction_loss(self.denoise(self.corrupt(x)), x, self.config.loss)
        return {"loss": recon, "recon": recon}

    def preview(self, batch: dict) -> Tensor:
        x = batch["x"][:16]
        noisy = self.corrupt(x)
        return torch.cat([noisy, self.denoise(noisy), x], 0)


# --------------------------------------------------------------------------- sparse-ae

@dataclass
class SparseAEConfig(ModelConfig):
    sparsity: Literal["l1", "kl", "ksparse"] = "l1"   # the penalty: L1 on a ReLU code, KL to ρ, or top-k
    latent_dim: Annotated[int, Range(1)] = 256   # code units (overcomplete-ish: the penalty, not the size, limits the code)
    hidden: Annotated[tuple[int, ...], Range(1)] = ()   # MLP layer widths before the code
    l1_weight: Annotated[float, Range(0)] = 0.5   # λ in λ Σ_j |a_j| (ReLU code)
    rho: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.05   # target mean activation ρ of each sigmoid unit
    kl_weight: Annotated[float, Range(0)] = 1.0   # β in β Σ_j KL(ρ ‖ ρ̂_j)
    k: Annotated[int, Range(1)] = 32   # units kept per image by the k-sparse code
    k_warmup_epochs: Annotated[int, Range(0)] = 5   # k-sparse: epochs over which k falls linearly from latent_dim to k
    loss: Literal["bce", "mse"] = "bce"    # reconstruction error, summed over pixels


def bernoulli_kl(rho: float, rho_hat: Tensor) -> Tensor:
    """KL(ρ ‖ ρ̂_j) = ρ log(ρ/ρ̂_j) + (1−ρ) log((1−ρ)/(1−ρ̂_j)), summed over units j."""
    rho_hat = rho_hat.clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum(-1)


def top_k(a: Tensor, k: int) -> Tensor:
    """Keep the k largest values of each row, zero the rest. Gradients reach the kept units only."""
    values, index = a.topk(k, dim=-1)
    return torch.zeros_like(a).scatter(-1, index, values)


def firing(code: Tensor, sigmoid: bool = False) -> Tensor:
    """Which units fire: non-zero for ReLU and k-sparse codes, above ½ for sigmoid ones (a sigmoid
    is never exactly 0)."""
    return code > 0.5 if sigmoid else code != 0


def active_units(code: Tensor, sigmoid: bool = False) -> Tensor:
    """How many units fire, per image."""
    return firing(code, sigmoid).sum(-1).float()


@register("sparse-ae", SparseAEConfig, "Sparse autoencoder: L1 on the code, KL to a target rate ρ, or k-sparse")
class SparseAE(Autoencoder):
    """An overcomplete code kept sparse: few units fire for any one image, each a part detector.

    l1: ReLU code, + λ Σ_j |a_j|. kl: sigmoid code, + β Σ_j KL(ρ ‖ ρ̂_j) with ρ̂_j the
    mean activation of unit j over the batch. ksparse: linear code of which only the k largest
    values per image are kept (Makhzani & Frey 2013), no penalty needed.
    """

    def __init__(self, config: SparseAEConfig):
        super().__init__(config)
        _check_sizes("hidden", config.hidden, allow_empty=True)
        _check_sizes("latent_dim", (config.latent_dim,))
        if config.sparsity == "ksparse" and not 1 <= config.k <= config.latent_dim:
            raise ConfigError(f"k must be between 1 and latent_dim ({config.latent_dim}), got {config.k}")
        if config.sparsity == "kl" and not 0 < config.rho < 1:
            raise ConfigError(f"rho is a target firing rate strictly between 0 and 1, got {config.rho}")
        if config.l1_weight < 0 or config.kl_weight < 0:
            raise ConfigError("l1_weight and kl_weight must be 0 or more (0 turns the penalty off)")
        code_act = {"l1": "relu", "kl": "sigmoid", "ksparse": "linear"}[config.sparsity]
        sizes = [math.prod(config.image_shape), *config.hidden, config.latent_dim]
        self.encoder = nn.Sequential(nn.Flatten(), MLP(sizes, act="relu", out_act=code_act))
        self.decoder = nn.Sequential(MLP(sizes[::-1], act="relu", out_act="sigmoid"),
                                     nn.Unflatten(1, tuple(config.image_shape)))
        self.train_k = config.k

    def on_epoch_start(self, epoch: int) -> None:
        # Makhzani & Frey: a small k from the start leaves units that never win and so never
        # learn (dead units); starting from a dense code and narrowing it lets all of them train.
        cfg = self.config
        left = max(cfg.k_warmup_epochs - epoch, 0) / max(cfg.k_warmup_epochs, 1)
        self.train_k = cfg.k + round((cfg.latent_dim - cfg.k) * left)

    def activations(self, x: Tensor, k: int | None = None) -> Tensor:
        """The code a (N × latent_dim) whose sparsity the penalty controls; a k-sparse code keeps
        the ``k`` largest units (default the config's k)."""
        a = self.encoder(x)
        return top_k(a, k or self.config.k) if self.config.sparsity == "ksparse" else a

    def encode(self, x: Tensor, y=None) -> Tensor:
        self.labels(y, len(x))
        return self.activations(x)

    def active_units(self, x: Tensor) -> Tensor:
        """How many code units fire for each image."""
        return active_units(self.encode(x), sigmoid=self.config.sparsity == "kl")

    def loss(self, batch: dict) -> dict:
        x, cfg = batch["x"], self.config
        a = self.activations(x, self.train_k if self.training else cfg.k)
        recon = reconstruction_loss(self.decode(a), x, cfg.loss)
        if cfg.sparsity == "l1":
            penalty = cfg.l1_weight * a.abs().sum(-1).mean()
        elif cfg.sparsity == "kl":
            penalty = cfg.kl_weight * bernoulli_kl(cfg.rho, a.mean(0))
        else:
            penalty = torch.zeros((), device=x.device)
        active = active_units(a.detach(), sigmoid=cfg.sparsity == "kl").mean()
        return {"loss": recon + penalty, "recon": recon, "sparsity": penalty.detach(), "active": active}


# --------------------------------------------------------------------------- contractive-ae

@dataclass
class ContractiveAEConfig(ModelConfig):
    latent_dim: Annotated[int, Range(1)] = 128   # code units (one sigmoid layer)
    contraction_weight: Annotated[float, Range(0)] = 1.0   # λ in recon + λ ‖J_f(x)‖²_F
    loss: Literal["bce", "mse"] = "bce"    # reconstruction error, summed over pixels
    lr: Annotated[float, Range(0, low_open=True)] = 1e-2   # Adam's learning rate (see docs/autoencoders.md for 1e-3)


@register("contractive-ae", ContractiveAEConfig, "Contractive autoencoder: + λ‖∂h/∂x‖²_F, sigmoid encoder")
class ContractiveAE(Autoencoder):
    """Rifai et al. (2011): penalise how much the code moves when the input moves, so the code
    is flat in directions off the data and only follows the data's own variations.

    For the one-layer sigmoid encoder h = σ(W x + b), ∂h_j/∂x_i = h_j(1 − h_j) W_ji, so
    ‖J‖²_F = Σ_j (h_j(1 − h_j))² Σ_i W_ji²: one matrix product, no autograd Jacobian.
    """

    def __init__(self, config: ContractiveAEConfig):
        super().__init__(config)
        _check_sizes("latent_dim", (config.latent_dim,))
        if config.contraction_weight < 0:
            raise ConfigError(f"contraction_weight must be 0 or more, got {config.contraction_weight}")
        d = math.prod(config.image_shape)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, config.latent_dim), nn.Sigmoid())
        self.decoder = nn.Sequential(nn.Linear(config.latent_dim, d), nn.Sigmoid(),
                                     nn.Unflatten(1, tuple(config.image_shape)))

    @property
    def linear(self) -> nn.Linear:
        """The encoder's W, b."""
        return self.encoder[1]

    def jacobian_norm(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        """‖∂h/∂x‖²_F per image, in closed form."""
        h = self.encode(x) if h is None else h
        return (h * (1 - h)).pow(2) @ self.linear.weight.pow(2).sum(1)

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        h = self.encode(x)
        recon = reconstruction_loss(self.decode(h), x, self.config.loss)
        jac = self.jacobian_norm(x, h).mean()
        return {"loss": recon + self.config.contraction_weight * jac, "recon": recon, "jacobian": jac.detach()}


__all__ = ["DeepAE", "DeepAEConfig", "StackedAE", "StackedAEConfig", "DAE", "DAEConfig", "SparseAE",
           "SparseAEConfig", "ContractiveAE", "ContractiveAEConfig", "bernoulli_kl", "top_k", "firing",
           "active_units", "init_linear"]
