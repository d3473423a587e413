"""Image-to-image models: a network maps an input image x to an aligned output ŷ = G(x), trained on
(input, target) pairs that a task makes from any images (``--task``; ``genlab.data.tasks``).

    unet             ŷ = U(x), a U-Net (Ronneberger et al. 2015; ``genlab.nn.unet``)
                     images:  L = E|y − ŷ|  (ℓ1, or ℓ2 with loss=l2), per pixel
                     masks:   L = CE(softmax U(x), y) + λ_Dice·(1 − Dice),
                              Dice = mean_k 2Σ p_k·[y = k] / (Σ p_k + Σ [y = k])   (soft, per class)
                     residual=true: ŷ = x + U(x), the correction to a crude input (FBPConvNet, Jin et al. 2017)
    pix2pix          G a U-Net with dropout 0.5 (its only noise, at test time too), D a PatchGAN on the
                     pair (x, y) (Isola et al. 2017):
                         G* = arg min_G max_D  L_cGAN(G, D) + λ·L_ℓ1(G),   λ = 100
                         L_cGAN = E[log D(x, y)] + E[log(1 − D(x, G(x)))],   L_ℓ1 = E|y − G(x)|
                     D's objective is halved (slows D against G); G minimises −log D(x, G(x)).
                     Adam 2e-4, β = (0.5, 0.999). "ℓ1 alone is blurry: regression to the mean":
                     gan_loss=none trains ℓ1 alone, recon_weight=0 the cGAN alone.
    context-encoder  inpainting (Pathak et al. 2016): L = λ_rec·‖M ⊙ (y − G(x))‖² / ΣM + λ_adv·L_adv,
                     λ_rec = 0.999, λ_adv = 0.001; M the hole; D judges the completed image alone.

Images are in [0, 1] outside and [−1, 1] inside the networks. A super-resolution input (``superres:F``)
is enlarged bicubically to the output's size before a same-size network reads it (SRCNN's setting;
``srresnet`` learns the upsampling instead). For inpainting tasks the output keeps the known pixels
and the network fills the hole. Colorization is pix2pix on Lab (L in, ab out; ``--task colorize``).
All networks are fully convolutional, so images of other sizes work at test time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.tasks import parse_task
from ..errors import ConfigError, DataError
from ..nn.unet import PatchDiscriminator, UNet, layers_for_patch
from ..registry import register
from .base import GenerativeModel, ModelConfig, Player, Range
from .gan.game import discriminator_loss, generator_loss, make_optimizer

GAN_LOSSES = ("nonsaturating", "minimax", "lsgan", "hinge")


@dataclass
class PairedConfig(ModelConfig):
    """Fields of every image-to-image model; the first three are set from the pairs it is built for."""

    task: str = ""   # the task that made the training pairs (superres:4, segment, …); "" for a user's own pairs
    out_channels: Annotated[int, Range(1)] = 1   # output channels: the target's, or for segment the mask classes
    scale: Annotated[int, Range(1)] = 1   # output size ÷ input size (superres:F gives F)
    mask_classes: tuple[str, ...] = ()   # segment: the names of the mask classes, background first

    @classmethod
    def data_values(cls, data) -> dict:
        if data.target is None:
            raise DataError(f"an image-to-image model trains on (input, target) pairs, but {data.name or 'the data'} "
                            "holds images only; pass --task (e.g. --task denoise:gaussian:0.3, superres:2, segment, "
                            "inpaint:center:14; see `genlab datasets`) or paired:DIR_IN,DIR_OUT data")
        values = {"image_shape": tuple(data.shape), "num_classes": data.num_classes}
        task = data.meta.get("task", "paired")
        if task == "segment":
            names = data.meta.get("mask_classes") or [str(k) for k in range(int(data.target.max()) + 1)]
            values.update(out_channels=len(names), mask_classes=tuple(names))
        else:
            values["out_channels"] = data.target.shape[1]
        h, w = data.x.shape[-2:]
        th, tw = data.target.shape[-2:]
        if th % h or tw % w or th // h != tw // w:
            raise DataError(f"the targets of {data.name or 'the data'} are {th}×{tw} and the inputs {h}×{w}: "
                            "targets must be the inputs' size or a whole multiple of it")
        values.update(task=task, scale=th // h)
        return values


class ImageToImage(GenerativeModel):
    """Base of the family: ``network`` maps the (enlarged) input to the output; capabilities
    ``translate`` (every model) and ``segment`` (models trained with --task segment)."""

    network: nn.Module
    default_batch_size = 32
    learns_upsampling = False   # True: the network enlarges by ``scale`` itself (SRResNet's PixelShuffle)
    bench_task = "denoise:gaussian:0.5"   # the task `genlab bench` trains it on (mnist5k)
    preview_rows = ("input", "output", "target")   # the rows of 8 of :meth:`preview`
    missing_capability_hints = {
        "sample": "an image-to-image model maps an input to an output: use `genlab translate RUN --image IN.png`",
        "reconstruct": "an image-to-image model maps an input to an output: use `genlab translate RUN`",
        "encode": "an image-to-image model has no latent code; its U-Net skips carry the detail",
        "decode": "an image-to-image model has no latent code: use `genlab translate RUN`",
        "segment": "only a model trained with --task segment outputs masks; this one outputs images "
                   "(`genlab translate RUN`)",
    }

    @property
    def task(self):
        return parse_task(self.config.task) if self.config.task and self.config.task != "paired" else None

    @property
    def segments(self) -> bool:
        return self.config.task == "segment"

    @property
    def in_channels(self) -> int:
        return self.config.image_shape[0]

    def capabilities(self) -> list[str]:
        return ["translate", "segment"] if self.segments else ["translate"]

    def check_input(self, x: Tensor) -> None:
        """Any H×W the networks take; the channels must be the model's."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            shape = tuple(x.shape[1:]) if x.ndim == 4 else tuple(x.shape)
            raise DataError(f"{self.registry_name} takes {self.in_channels}-channel images "
                            f"({self.input_meaning()}), got shape {shape}; give images with {self.in_channels} "
                            "channel(s) (--channels) or train a model on data like yours")

    def input_meaning(self) -> str:
        task = self.task
        if task is None:
            return "its training pairs' inputs"
        if task.name == "inpaint":
            return f"{self.in_channels - 1} image channel(s) plus the hole mask"
        if task.name == "colorize":
            return "Lab lightness L/100"
        return f"the {task} inputs"

    def net_input(self, x: Tensor) -> Tensor:
        """The network's input in [−1, 1]; enlarged bicubically when the network does not upsample."""
        if self.config.scale > 1 and not self.learns_upsampling:
            x = F.interpolate(x, scale_factor=self.config.scale, mode="bicubic", align_corners=False).clamp(0, 1)
        return x * 2 - 1

    def raw(self, x: Tensor) -> Tensor:
        """The network's output: class logits for segmentation, images in [0, 1] (unclamped) otherwise."""
        self.check_input(x)
        return self.network(self.net_input(x))

    def finish(self, x: Tensor, raw: Tensor) -> Tensor:
        """The output the capabilities return: class probabilities, or images in [0, 1] with an
        inpainting input's known pixels kept."""
        if self.segments:
            return raw.softmax(1)
        out = raw.clamp(0, 1)
        task = self.task
        if task is not None and task.name == "inpaint":
            m = x[:, -1:]
            out = x[:, :-1] * (1 - m) + out * m
        return out

    def translate(self, x: Tensor, y=None) -> Tensor:
        """The output for inputs ``x`` (N×C×h×w in [0, 1]): images in the target's space (ab for
        colorize, the full-size image for superres), or for segmentation N×K class probabilities."""
        self.labels(y, len(x))
        return self.finish(x, self.raw(x))

    def segment(self, x: Tensor) -> Tensor:
        """N×H×W class indices (0 the background) for images ``x``."""
        if not self.segments:
            self.require("segment")
        return self.raw(x).argmax(1)

    # ------------------------------------------------------------------ losses
    def target(self, batch: dict) -> Tensor:
        if batch.get("target") is None:
            raise DataError(f"{self.registry_name} trains on (input, target) pairs; the batch has no target: "
                            "pass --task or paired data")
        return batch["target"]

    def reconstruction(self, raw: Tensor, batch: dict, kind: str, on: str = "image") -> Tensor:
        """The supervised term: ℓ1/ℓ2 per pixel for images (on the hole only with ``on="hole"``),
        cross-entropy + λ·(1 − soft Dice) for masks."""
        y = self.target(batch)
        if self.segments:
            return segmentation_loss(raw, y, getattr(self.config, "dice_weight", 1.0))
        err = (raw - y).abs() if kind == "l1" else (raw - y) ** 2
        if on == "hole":
            if batch.get("mask") is None:
                raise DataError(f"{self.registry_name} scores the hole only (recon_on=hole) but the data has no mask; "
                                "train it with --task inpaint:center:S or inpaint:random:p")
            m = batch["mask"][:, None].to(err.dtype)
            return (err * m).sum() / (m.sum() * err.shape[1]).clamp_min(1)
        return err.mean()

    def preview(self, batch: dict) -> Tensor:
        """Rows of 8: inputs, outputs, targets (shown as :func:`genlab.data.tasks.picture` draws them)."""
        from ..data.tasks import picture, same_channels

        x, y = batch["x"][:8], self.target(batch)[:8]
        out = self.translate(x)
        return torch.cat(same_channels(picture(self.config.task if self.task else None, x).clamp(0, 1),
                                       picture(self.task, x, out), picture(self.task, x, y)), 0)


def soft_dice(probs: Tensor, target: Tensor) -> Tensor:
    """Mean over classes of 2Σ p_k·[y = k] / (Σ p_k + Σ [y = k]) on N×K×H×W probabilities."""
    onehot = F.one_hot(target.long(), probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    inter = (probs * onehot).sum((0, 2, 3))
    total = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return (2 * inter / total.clamp_min(1e-6)).mean()


def segmentation_loss(logits: Tensor, target: Tensor, dice_weight: float = 1.0) -> Tensor:
    """Cross-entropy + λ·(1 − soft Dice): the Dice term keeps small classes from drowning in background."""
    loss = F.cross_entropy(logits, target.long())
    if dice_weight:
        loss = loss + dice_weight * (1 - soft_dice(logits.softmax(1), target))
    return loss


# --------------------------------------------------------------------------------------------- unet

@dataclass
class UNetConfig(PairedConfig):
    depth: Annotated[int, Range(1)] = 3   # poolings (levels − 1); the input is padded to a multiple of 2^depth (shapes: skip=false loses 8 IoU points at 3, 2.5 at 2)
    width: Annotated[int, Range(1)] = 16   # channels of the first level, doubling per level
    up: Literal["transpose", "resize"] = "transpose"   # upsampling: transposed conv 2×2/2, or resize ×2 → conv 3×3
    norm: Literal["batch", "instance", "none"] = "batch"   # normalisation after every 3×3 convolution
    skip: bool = True   # concatenated skip connections; false: the plain encoder–decoder of the same size
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0   # dropout after each decoder level
    residual: bool = False   # predict the correction to the input: ŷ = x + U(x) (FBPConvNet)
    loss: Literal["auto", "l1", "l2"] = "auto"   # image loss per pixel; auto: ℓ1 (segmentation always uses CE + Dice)
    dice_weight: Annotated[float, Range(0)] = 1.0   # segment: λ_Dice, the soft Dice term's weight beside cross-entropy
    lr: Annotated[float, Range(0, low_open=True)] = 2e-3   # Adam's learning rate


def build_unet(config, dropout: float, residual: bool = False) -> UNet:
    c_in = config.image_shape[0]
    if residual and (config.task or "").startswith("inpaint"):
        raise ConfigError("residual=true adds the input to the output, but an inpainting input has a hole; "
                          "use residual=false")
    if residual and c_in < config.out_channels:
        raise ConfigError(f"residual=true adds the input ({c_in} channels) to the output ({config.out_channels}); "
                          f"it needs at least as many input channels: use residual=false for task {config.task!r}")
    # images: sigmoid to [0, 1] (the residual sum is left free); masks: logits
    act = None if residual or config.task == "segment" else "sigmoid"
    return UNet(c_in, config.out_channels, depth=config.depth, width=config.width, up=config.up, norm=config.norm,
                skip=getattr(config, "skip", True), dropout=dropout, residual=residual, out_act=act)


@register("unet", UNetConfig, "U-Net (Ronneberger et al.): segmentation (CE + Dice) and restoration (ℓ1); --task")
class UNetModel(ImageToImage):
    default_epochs = 10

    def __init__(self, config: UNetConfig):
        super().__init__(config)
        self.network = build_unet(config, config.dropout, config.residual)

    def raw(self, x: Tensor) -> Tensor:
        out = super().raw(x)
        # the residual U-Net adds its [−1, 1] input: bring the sum back to [0, 1]
        return (out + 1) / 2 if self.config.residual else out

    def loss(self, batch: dict) -> dict:
        kind = "l2" if self.config.loss == "l2" else "l1"
        value = self.reconstruction(self.raw(batch["x"]), batch, kind)
        return {"loss": value, ("seg" if self.segments else kind): value.detach()}

    def players(self) -> list[Player]:
        return self.single_player("unet")


# ------------------------------------------------------------------------------------------ pix2pix

@dataclass
class Pix2PixConfig(PairedConfig):
    depth: Annotated[int, Range(1)] = 2   # G: U-Net poolings
    width: Annotated[int, Range(1)] = 32   # G: channels of the first level, doubling per level
    up: Literal["transpose", "resize"] = "transpose"   # G's upsampling
    norm: Literal["batch", "instance", "none"] = "batch"   # G's and D's normalisation
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.5   # G: dropout after each decoder level, G's only noise
    stochastic: bool = True   # keep G's dropout on at test time, as pix2pix does (false: deterministic outputs)
    patch: Annotated[int, Range(1)] = 70   # D's receptive field in pixels: 1 (PixelGAN), 16, 34, 70, 142 or 286
    d_width: Annotated[int, Range(1)] = 32   # D: channels of its first layer (×2 per layer up to ×8)
    d_condition: bool = True   # D judges the pair (x, y); false: the output alone (context encoder)
    gan_loss: Literal["nonsaturating", "minimax", "lsgan", "hinge", "none"] = "nonsaturating"   # adversarial loss; none: no D (ℓ1 alone)
    recon: Literal["l1", "l2"] = "l1"   # the reconstruction term, per pixel
    recon_weight: Annotated[float, Range(0)] = 100.0   # λ, the reconstruction term's weight (0: the cGAN alone)
    adv_weight: Annotated[float, Range(0)] = 1.0   # the adversarial term's weight in G's loss
    recon_on: Literal["image", "hole"] = "image"   # score the whole image, or only the inpainting hole
    dice_weight: Annotated[float, Range(0)] = 1.0   # segment: λ_Dice in the reconstruction term
    lr: Annotated[float, Range(0, low_open=True)] = 2e-4   # Adam's learning rate, both players
    lr_d: Annotated[Optional[float], Range(0, low_open=True)] = None   # D's own rate; None: lr
    beta1: Annotated[float, Range(0, 1, high_open=True)] = 0.5   # Adam's β1
    beta2: Annotated[float, Range(0, 1, high_open=True)] = 0.999   # Adam's β2


def patch_discriminator(config: Pix2PixConfig) -> PatchDiscriminator:
    channels = config.out_channels + (config.image_shape[0] if config.d_condition else 0)
    return PatchDiscriminator(channels, layers_for_patch(config.patch), config.d_width, config.norm)


def min_side(layers: int) -> int:
    """The smallest image side a PatchDiscriminator with ``layers`` stride-2 layers maps to ≥ 1 output."""
    return 3 * 2 ** layers if layers else 1


@register("pix2pix", Pix2PixConfig,
          "pix2pix (Isola et al.): U-Net G with dropout, PatchGAN D on (x, y), cGAN + 100·ℓ1; --task")
class Pix2Pix(ImageToImage):
    default_epochs = 10
    bench_task = "edges"

    def __init__(self, config: Pix2PixConfig):
        super().__init__(config)
        if config.gan_loss == "none" and config.recon_weight == 0:
            raise ConfigError("gan_loss=none with recon_weight=0 leaves nothing to learn; keep one of the terms")
        self.network = build_unet(config, config.dropout)
        self.discriminator = patch_discriminator(config) if config.gan_loss != "none" else None

    @property
    def adversarial(self) -> bool:
        return self.discriminator is not None

    def translate(self, x: Tensor, y=None) -> Tensor:
        """G(x); with ``stochastic`` G's dropout stays on (pix2pix's noise), the rest in eval mode."""
        drops = [m for m in self.network.modules() if isinstance(m, nn.Dropout)]
        keep = [m.training for m in drops]
        if self.config.stochastic:
            for m in drops:
                m.train()
        try:
            return super().translate(x, y)
        finally:
            for m, mode in zip(drops, keep):
                m.train(mode)

    def signed(self, t: Tensor) -> Tensor:
        """An output or target in [−1, 1] for D; masks of class indices as one-hot maps."""
        if t.dtype == torch.long:
            t = F.one_hot(t, self.config.out_channels).permute(0, 3, 1, 2).float()
        return t * 2 - 1

    def critic(self, x: Tensor, y: Tensor) -> Tensor:
        """D's logits, one per patch, for input x and output/target y (both in [0, 1])."""
        pair = torch.cat([self.net_input(x), self.signed(y)], 1) if self.config.d_condition else self.signed(y)
        side = min_side(self.discriminator.layers)
        h, w = pair.shape[-2:]
        if h < side or w < side:   # the image is smaller than the patch: D sees it whole (an ImageGAN)
            ph, pw = max(0, side - h), max(0, side - w)
            pair = F.pad(pair, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="replicate")
        return self.discriminator(pair)

    def discriminator_step(self, batch: dict) -> dict:
        x, y = batch["x"], self.target(batch)
        with torch.no_grad():
            fake = self.finish(x, self.raw(x))
        real_out, fake_out = self.critic(x, y), self.critic(x, fake)
        loss = 0.5 * discriminator_loss(self.config.gan_loss, real_out, fake_out)
        scores = (real_out.sigmoid(), fake_out.sigmoid()) if self.config.gan_loss in ("nonsaturating", "minimax") \
            else (real_out, fake_out)
        return {"loss": loss, "d_real": scores[0].mean().detach(), "d_fake": scores[1].mean().detach()}

    def generator_step(self, batch: dict) -> dict:
        cfg = self.config
        x = batch["x"]
        raw = self.raw(x)
        rec = self.reconstruction(raw, batch, cfg.recon, cfg.recon_on)
        out = {"recon": rec.detach()}
        loss = cfg.recon_weight * rec
        if self.adversarial:
            adv = generator_loss(cfg.gan_loss, self.critic(x, self.finish(x, raw)))
            loss = loss + cfg.adv_weight * adv
            out["adv"] = adv.detach()
        return {"loss": loss, **out}

    def players(self) -> list[Player]:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        g_params = list(self.network.parameters())
        generator = Player("generator", g_params, make_optimizer("adam", g_params, cfg.lr, betas), self.generator_step)
        if not self.adversarial:
            return [generator]
        d_params = list(self.discriminator.parameters())
        return [Player("discriminator", d_params, make_optimizer("adam", d_params, cfg.lr_d or cfg.lr, betas),
                       self.discriminator_step), generator]


@dataclass
class ContextEncoderConfig(Pix2PixConfig):
    dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.0   # G: no dropout (the hole's content is what it learns)
    stochastic: bool = False   # deterministic completions
    d_condition: bool = False   # D judges the completed image alone
    recon: Literal["l1", "l2"] = "l2"   # Pathak et al.'s masked ℓ2
    recon_weight: Annotated[float, Range(0)] = 0.999   # λ_rec
    adv_weight: Annotated[float, Range(0)] = 0.001   # λ_adv
    recon_on: Literal["image", "hole"] = "hole"   # the reconstruction is scored on the hole
    lr: Annotated[float, Range(0, low_open=True)] = 1e-3   # Adam's rate (λ_rec < 1 keeps the steps small)


@register("context-encoder", ContextEncoderConfig,
          "Context encoder (Pathak et al.): inpainting with 0.999·masked ℓ2 + 0.001·adversarial; --task inpaint:…")
class ContextEncoder(Pix2Pix):
    default_epochs = 10
    bench_task = "inpaint:center:14"

    def __init__(self, config: ContextEncoderConfig):
        if config.task and not config.task.startswith("inpaint"):
            raise ConfigError(f"context-encoder fills holes: train it with --task inpaint:center:S or "
                              f"inpaint:random:p, not {config.task!r} (pix2pix or unet take other tasks)")
        super().__init__(config)


__all__ = ["PairedConfig", "ImageToImage", "UNetConfig", "UNetModel", "Pix2PixConfig", "Pix2Pix",
           "ContextEncoderConfig", "ContextEncoder", "segmentation_loss", "soft_dice", "GAN_LOSSES", "min_side"]
