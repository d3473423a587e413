"""VQ-VAE (van den Oord et al. 2017): a convolutional autoencoder with a discrete code grid.

    z_e = E(x)                     N×D×h×w (28×28 → 7×7 with two stride-2 convolutions)
    z_q = e_{k(i)},  k(i) = argmin_k ‖z_e(i) − e_k‖²    (nearest of K codebook vectors)
    x̂  = G(z_e + sg[z_q − z_e])    straight-through: the decoder sees z_q, the encoder gets ∂/∂z_q
    total = r_loss + ‖sg[z_e] − e‖² + β‖z_e − sg[e]‖²                  (β = 0.25)

    E  [Conv3×3 s2, ReLU] × len(channels) → Conv3×3, ReLU → Conv1×1 to D      (nn.GridEncoder)
    G  Conv3×3, ReLU → [ConvT3×3 s2, ReLU] × len(channels) → Conv3×3 → sigmoid  (nn.GridDecoder)

With ``ema=true`` the codebook follows moving averages of its assigned encoder outputs and the
middle (codebook) term is dropped. An image is stored as h·w indices, i.e. h·w·log2 K bits.

The model alone has no ``sample``: generating needs a prior over the code grid (a PixelCNN fitted to
the indices of the training images; ``genlab.apps.prior``). :func:`code_data` turns a
trained run's data into that prior's training data, the spec ``codes:RUN``:

    x = k / (K − 1)     one 1×h×w image per input image, k = encode_indices(image) ∈ {0, …, K−1}
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from torch import Tensor

from ..data import ImageData, load_spec
from ..data.batches import batched
from ..errors import DataError
from ..nn import GridDecoder, GridEncoder, VectorQuantizer, conv_stack_sizes
from ..registry import register
from .ae import reconstruction_loss
from .base import GenerativeModel, ModelConfig, Player, Range


@dataclass
class VQVAEConfig(ModelConfig):
    num_codes: Annotated[int, Range(1)] = 64   # K, codebook entries: 7·7·log2(64) = 294 bits per 28×28 image
    code_dim: Annotated[int, Range(1)] = 16   # D, dimensions of a codebook vector
    channels: Annotated[tuple[int, ...], Range(1)] = (32, 64)   # stride-2 convolutions: the grid is the image size / 2^len
    beta: Annotated[float, Range(0)] = 0.25   # β, the commitment weight
    ema: bool = False                      # codebook by moving averages instead of the codebook loss
    decay: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.99   # EMA decay γ per training step
    restart_after: Annotated[int, Range(0)] = 5   # training steps unused before a code is re-initialised (0: never)
    loss: Literal["bce", "mse"] = "bce"    # reconstruction error, summed over pixels
    lr: Annotated[float, Range(0, low_open=True)] = 2e-3   # Adam's learning rate


@register("vq-vae", VQVAEConfig, "VQ-VAE: conv encoder to a 7×7 grid of codebook indices, straight-through decoder")
class VQVAE(GenerativeModel):
    missing_capability_hints = {
        "sample": "a VQ-VAE samples through a prior over its code grid (a PixelCNN on the indices): "
                  "`genlab train pixelcnn --data codes:RUN --out PRIOR`, then `genlab sample RUN --prior PRIOR`"}

    def __init__(self, config: VQVAEConfig):
        super().__init__(config)
        c, h, w = config.image_shape
        ch = tuple(config.channels)
        self.encoder = GridEncoder(c, ch, config.code_dim)
        self.quantizer = VectorQuantizer(config.num_codes, config.code_dim, ema=config.ema, decay=config.decay,
                                         restart_after=config.restart_after)
        self.decoder = GridDecoder(config.image_shape, ch, config.code_dim)
        self.grid = (conv_stack_sizes(h, len(ch))[-1], conv_stack_sizes(w, len(ch))[-1])

    def code_bits(self) -> float:
        """Bits needed to store one image's code: h·w·log2 K."""
        return self.grid[0] * self.grid[1] * math.log2(self.config.num_codes)

    def encode_indices(self, x: Tensor) -> Tensor:
        """The code grid: N×h×w codebook indices (long)."""
        z_e = self.encoder(x)
        flat = z_e.movedim(1, -1).reshape(-1, self.config.code_dim)
        return self.quantizer.nearest(flat).view(z_e.shape[0], *z_e.shape[2:])

    def encode(self, x: Tensor, y=None) -> Tensor:
        """The quantised code z_q, N×D×h×w floats (generic tools flatten it; the indices are
        :meth:`encode_indices`). Unlike training, this never changes the codebook."""
        self.labels(y, len(x))
        return self.quantizer.lookup(self.encode_indices(x))

    def decode(self, z: Tensor, y=None) -> Tensor:
        """Decode N×D×h×w vectors as given (codes, or points between codes when interpolating)."""
        self.labels(y, len(z))
        return self.decoder(z)

    def decode_indices(self, indices: Tensor) -> Tensor:
        return self.decode(self.quantizer.lookup(indices))

    def reconstruct(self, x: Tensor, y=None) -> Tensor:
        return self.decode(self.encode(x, y))

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        q = self.quantizer(self.encoder(x))
        x_hat = self.decoder(q.z_q)
        recon = reconstruction_loss(x_hat, x, self.config.loss)
        total = recon + q.codebook_loss + self.config.beta * q.commitment_loss
        out = {"loss": total, "recon": recon, "commitment": q.commitment_loss.detach(),
               "perplexity": q.perplexity, "codes_used": q.usage}
        if not self.config.ema:
            out["codebook"] = q.codebook_loss.detach()
        return out

    def players(self) -> list[Player]:
        return self.single_player("vq-vae")


def code_data(run_dir, split: str = "train", batch_size: int = 500) -> ImageData:
    """The code maps of a trained vq-vae run as K-way categorical images (what ``codes:RUN`` loads):
    the ``split`` of the data the run was trained on (``load_spec`` of its config.json), encoded in
    batches to N×1×h×w images x = index/(K−1), with the data's labels and class names and meta
    ``{"levels": K, "categorical": True, "codes_of": str(run_dir), "num_codes": K}``."""
    from ..runs import load, read_config

    info = read_config(run_dir)
    if info["model"] != "vq-vae":
        raise DataError(f"codes:RUN needs a vq-vae run; {run_dir} is a {info['model']} run: pass the folder of "
                        "a vq-vae (`genlab train vq-vae --out FOLDER`)")
    if "spec" not in (info.get("data") or {}):
        raise DataError(f"{run_dir}/config.json does not say which data the vq-vae was trained on; "
                        "train it again with `genlab train vq-vae`")
    model = load(run_dir)
    k = model.config.num_codes
    if k < 2:
        raise DataError(f"{run_dir} has a codebook of {k} code: its code maps hold nothing to model; "
                        "train a vq-vae with num_codes of 2 or more")
    data = load_spec(info["data"], split)
    model.check_input(data.x[:1])
    # the grid is read under no_grad, in slices: bounded memory for large splits
    indices = batched(model.encode_indices, data.x, batch_size)
    return ImageData(indices[:, None].float() / (k - 1), data.y, classes=data.classes,
                     name=f"codes:{run_dir}",
                     meta={"levels": k, "categorical": True, "codes_of": str(run_dir), "num_codes": k})


__all__ = ["VQVAE", "VQVAEConfig", "code_data"]
