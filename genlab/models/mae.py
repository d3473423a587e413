"""Masked autoencoder (He et al. 2022): hide most patches, reconstruct them from the rest.

    patches  x → P patches of p×p pixels (4×4 on 28×28 digits: a 7×7 grid, P = 49)
    mask     per image exactly round(r·P) patches hidden at random (r = 0.75)
    encoder  ViT on the visible patches only (+ a cls token)
    decoder  light ViT on [encoded visible tokens, a shared mask token at every hidden position]
    loss     Σ over hidden patches of ‖x̂_patch − x_patch‖²       (visible patches do not count)

The decoder is discarded after pre-training: ``encode`` runs the encoder on all patches, unmasked,
and pools the tokens into a feature vector (linear probes, fine-tuning with :class:`MAEClassifier`).
Both networks are in ``genlab.nn.vit`` (:class:`~genlab.nn.vit.MAEEncoder`, :class:`~genlab.nn.vit.MAEDecoder`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..nn import MAEDecoder, MAEEncoder, patch_grid, patchify, random_masking, unpatchify
from ..nn.vit import init_vit_weights
from ..registry import register
from .base import GenerativeModel, ModelConfig, Player, Range


@dataclass
class MAEConfig(ModelConfig):
    patch_size: Annotated[int, Range(1)] = 4   # patch side in pixels: 4×4 patches give a 7×7 grid on 28×28 images
    mask_ratio: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.75   # fraction of patches hidden per image
    embed_dim: Annotated[int, Range(1)] = 64   # encoder token width
    depth: Annotated[int, Range(1)] = 4   # encoder transformer blocks
    heads: Annotated[int, Range(1)] = 4   # encoder attention heads
    decoder_dim: Annotated[int, Range(1)] = 64   # decoder token width
    decoder_depth: Annotated[int, Range(1)] = 2   # decoder transformer blocks
    decoder_heads: Annotated[int, Range(1)] = 4   # decoder attention heads
    mlp_ratio: Annotated[float, Range(0, low_open=True)] = 2.0   # hidden width of each block's MLP, as a multiple of the token width
    pos_embed: Literal["sincos", "learned"] = "sincos"   # fixed 2-D sine-cosine or learned position embedding
    pool: Literal["mean", "cls"] = "mean"     # how encode() turns tokens into one feature vector
    norm_pix_loss: bool = False           # targets normalised per patch (mean 0, variance 1)
    weight_decay: Annotated[float, Range(0)] = 0.05   # AdamW's decoupled weight decay on weight matrices
    lr: Annotated[float, Range(0, low_open=True)] = 1e-3   # AdamW's learning rate
    steps_per_batch: Annotated[int, Range(1)] = 4   # optimiser steps per batch, each with fresh masks


def masked_patch_loss(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Squared error summed over the pixels of the hidden patches of each image, averaged over the
    batch. ``pred``/``target`` N×L×d, ``mask`` N×L with 1 where hidden: visible patches contribute 0."""
    per_patch = (pred - target).pow(2).sum(-1)
    return (per_patch * mask).sum(1).mean()


@register("mae", MAEConfig, "Masked autoencoder: a ViT sees 25% of the patches, a light decoder fills in the rest")
class MAE(GenerativeModel):
    missing_capability_hints = {
        "decode": "its decoder needs encoded visible patches and a mask: use reconstruct or mask_and_reconstruct",
        "sample": "it fills in hidden patches but has no prior to sample from; try gaussian, vae or a GAN",
    }

    def __init__(self, config: MAEConfig):
        super().__init__(config)
        shape = tuple(config.image_shape)
        try:
            grid = patch_grid(shape, config.patch_size)
        except ValueError:
            raise ConfigError(f"patch_size={config.patch_size} does not divide the {shape[1]}×{shape[2]} images; "
                              f"pick a divisor of both (e.g. --set patch_size=4 for 28×28, 8 for 32×32) "
                              f"or resize with --image-size") from None
        widths = (("embed_dim", config.embed_dim, "heads", config.heads),
                  ("decoder_dim", config.decoder_dim, "decoder_heads", config.decoder_heads))
        for key, width, heads_key, heads in widths:
            if heads < 1 or width < 4 or width % 4 or width % heads:
                raise ConfigError(f"{key}={width} must be a multiple of 4 and of {heads_key}={heads}; "
                                  f"e.g. --set {key}=64 --set {heads_key}=4")
        if config.steps_per_batch < 1:
            raise ConfigError(f"steps_per_batch={config.steps_per_batch} must be at least 1; "
                              "e.g. --set steps_per_batch=4")
        if not 0.0 <= config.mask_ratio < 1.0 or round(config.mask_ratio * grid[0] * grid[1]) >= grid[0] * grid[1]:
            raise ConfigError(f"mask_ratio={config.mask_ratio} must leave at least one of the "
                              f"{grid[0] * grid[1]} patches visible; use a value in [0, 1) such as 0.75")
        self.grid = grid
        self.num_patches = grid[0] * grid[1]
        self.patch_dim = config.patch_size ** 2 * shape[0]
        self.encoder = MAEEncoder(shape, config.patch_size, config.embed_dim, config.depth, config.heads,
                                  config.mlp_ratio, config.pos_embed)
        self.decoder = MAEDecoder(grid, config.embed_dim, config.decoder_dim, config.decoder_depth,
                                  config.decoder_heads, config.mlp_ratio, self.patch_dim, config.pos_embed)
        init_vit_weights(self)
        nn.init.normal_(self.encoder.cls, std=0.02)
        nn.init.normal_(self.decoder.mask_token, std=0.02)

    # --- the model of the figure: mask, encode visible, decode all --------------------------------

    def forward_masked(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Predicted patches N×L×d for all positions and the mask N×L (1 = hidden)."""
        keep, mask, restore = random_masking(len(x), self.num_patches, self.config.mask_ratio, generator, x.device)
        return self.decoder(self.encoder(x, keep), restore), mask

    def targets(self, x: Tensor) -> Tensor:
        patches = patchify(x, self.config.patch_size)
        if self.config.norm_pix_loss:
            mean, var = patches.mean(-1, keepdim=True), patches.var(-1, keepdim=True)
            patches = (patches - mean) / (var + 1e-6).sqrt()
        return patches

    def loss(self, batch: dict) -> dict:
        x = batch["x"]
        pred, mask = self.forward_masked(x)
        loss = masked_patch_loss(pred, self.targets(x), mask)
        per_pixel = loss.detach() / (mask.sum(1).mean() * self.patch_dim)
        return {"loss": loss, "mse": per_pixel}

    def players(self) -> list[Player]:
        # AdamW with β2 = 0.95 and weight decay on matrices only, as in the MAE paper
        decay = [p for n, p in self.named_parameters() if p.dim() >= 2 and p.requires_grad]
        other = [p for n, p in self.named_parameters() if p.dim() < 2 and p.requires_grad]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.config.weight_decay},
                                 {"params": other, "weight_decay": 0.0}], lr=self.config.lr, betas=(0.9, 0.95))
        # several masks per batch: the small model needs many steps to leave the plateau where it
        # predicts the mean image, and a new mask makes each step a new task
        return self.single_player("mae", optimizer=opt, steps=self.config.steps_per_batch)

    # --- capabilities ------------------------------------------------------------------------------

    def backbone(self) -> MAEEncoder:
        """The pre-trained encoder (images -> tokens); the decoder is only needed for pre-training."""
        return self.encoder

    def pool(self, tokens: Tensor) -> Tensor:
        return tokens[:, 0] if self.config.pool == "cls" else tokens[:, 1:].mean(1)

    def encode(self, x: Tensor, y=None) -> Tensor:
        """Features N×embed_dim: the encoder on all patches, unmasked, pooled."""
        self.labels(y, len(x))
        return self.pool(self.encoder(x))

    def _pixels(self, pred: Tensor, x: Tensor) -> Tensor:
        """Predicted patches back to pixel space (undoing per-patch normalisation with the true
        patch statistics, as MAE's visualisations do)."""
        if self.config.norm_pix_loss:
            patches = patchify(x, self.config.patch_size)
            pred = pred * (patches.var(-1, keepdim=True) + 1e-6).sqrt() + patches.mean(-1, keepdim=True)
        return pred

    def mask_and_reconstruct(self, x: Tensor, generator: torch.Generator | None = None
                             ) -> tuple[Tensor, Tensor, Tensor]:
        """(masked image with hidden patches grey, reconstruction with the visible patches pasted
        back, mask N×gh×gw with 1 = hidden). ``generator`` fixes the masks (global RNG if None)."""
        p, c = self.config.patch_size, self.image_shape[0]
        pred, mask = self.forward_masked(x, generator)
        patches = patchify(x, p)
        m = mask[..., None]
        recon = patches * (1 - m) + self._pixels(pred, x).clamp(0, 1) * m
        masked = patches * (1 - m) + 0.5 * m
        return (unpatchify(masked, p, self.grid, c), unpatchify(recon, p, self.grid, c),
                mask.view(len(x), *self.grid))

    def reconstruct(self, x: Tensor, y=None) -> Tensor:
        """Masked-then-reconstructed images, the same masks every call (other masks:
        :meth:`mask_and_reconstruct` with a generator)."""
        self.labels(y, len(x))
        return self.mask_and_reconstruct(x, torch.Generator().manual_seed(0))[1]

    def preview(self, batch: dict) -> Tensor:
        """Rows of eight: masked, reconstructed, ground truth."""
        x = batch["x"][:24]
        masked, recon, _ = self.mask_and_reconstruct(x, torch.Generator().manual_seed(0))
        rows = [t for i in range(0, len(x), 8) for t in (masked[i:i + 8], recon[i:i + 8], x[i:i + 8])]
        return torch.cat(rows)


class MAEClassifier(nn.Module):
    """A classifier on a pre-trained MAE's encoder: linear probe (``freeze=True``) or fine-tuning.

        mae = genlab.load("runs/mae")
        clf = MAEClassifier(mae, num_classes=10)
        opt = torch.optim.AdamW(clf.parameters(), lr=3e-4, weight_decay=0.05)
        for batch in data.batches(128):
            loss = F.cross_entropy(clf(batch["x"]), batch["y"])
            opt.zero_grad(); loss.backward(); opt.step()

    The head is a BatchNorm without affine parameters then a linear layer (MAE's probe head); with
    ``freeze`` only the head trains and the encoder stays in eval mode.
    """

    def __init__(self, mae: MAE, num_classes: int, freeze: bool = False):
        super().__init__()
        self.mae = mae
        self.freeze = freeze
        dim = mae.config.embed_dim
        self.head = nn.Sequential(nn.BatchNorm1d(dim, affine=False), nn.Linear(dim, num_classes))
        if freeze:
            mae.requires_grad_(False)

    def train(self, mode: bool = True) -> "MAEClassifier":
        super().train(mode)
        if self.freeze:
            self.mae.eval()
        return self

    def forward(self, x: Tensor) -> Tensor:
        if self.freeze:
            with torch.no_grad():
                features = self.mae.encode(x)
        else:
            features = self.mae.encode(x)
        return self.head(features)


__all__ = ["MAE", "MAEConfig", "MAEClassifier", "MAEEncoder", "MAEDecoder", "masked_patch_loss"]
