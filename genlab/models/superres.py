"""Super-resolution by a network that learns the upsampling itself (Ledig et al. 2017, "Photo-Realistic
Single Image Super-Resolution Using a Generative Adversarial Network").

    srresnet   ŷ = G(x), G the SRResNet (``genlab.nn.srresnet``): residual blocks on the low-resolution
               input x, then log2(F) sub-pixel (PixelShuffle ×2) stages to the F-times larger output;
               residual_bicubic: G(x) = bicubic_F(x) + R(x), so R learns the correction only.
                   L_MSE = 1/(F²WH) Σ_{u,v} (y_{u,v} − G(x)_{u,v})²               (per pixel and channel)
               Adam; the paper trains 10⁶ steps at 1e-4, here far fewer steps at 1e-3.
    srgan      the same G against a discriminator D (one logit per image, ``SRDiscriminator``):
                   D:  max  E[log D(y)] + E[log(1 − D(G(x)))]
                   G:  L = L_content + λ·L_adv,   L_adv = −log D(G(x))   (non-saturating), λ = 10⁻³
                   L_content = L_MSE                          (content=mse: "SRGAN-MSE")
                             = 1/(W_φH_φC_φ) ‖s·φ(y) − s·φ(G(x))‖²  (content=features: "SRGAN-VGG54")
               φ a frozen feature map standing in for VGG19's conv5_4 (not downloadable here): the judge
               classifier of the data (its last convolution's ReLU map, before the last pooling, as
               VGG54 is the last map before the last pooling) or the FID Inception-v3's stem (up to
               Conv2d_4a, 192 maps) from a user-supplied safetensors file; s = content_scale (Ledig et al.
               rescale the VGG maps by 1/12.75 so the loss is of MSE's size). init_from: G starts from a
               trained srresnet, as the paper initialises SRGAN with SRResNet.

Images are in [0, 1] outside and [−1, 1] inside G; ``raw`` returns (G(x) + 1)/2, ``translate`` clamps it.
φ is handed over by the training callback in ``genlab.train.content`` (models cannot load judges):
:meth:`SRGAN.use_feature_network`, kept out of the state_dict, so a saved run loads without it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError, DataError
from ..nn.srresnet import SRDiscriminator, SRResNet
from ..registry import register
from .base import Player, Range
from .gan.game import discriminator_loss, generator_loss, make_optimizer
from .paired import ImageToImage, PairedConfig

__all__ = ["SRResNetConfig", "SRResNetModel", "SRGANConfig", "SRGAN", "init_generator"]


@dataclass
class SRResNetConfig(PairedConfig):
    blocks: Annotated[int, Range(0)] = 6   # residual blocks (16 in the paper; 6: 8 epochs of mnist5k ×4 in ~200 s)
    width: Annotated[int, Range(1)] = 32   # feature channels (64 in the paper)
    residual_bicubic: bool = True   # output = bicubic(x) + correction (mnist5k ×4, 1 epoch: 22.7 dB; false 20.2)
    lr: Annotated[float, Range(0, low_open=True)] = 1e-3   # Adam's learning rate (paper: 1e-4 for 10⁶ steps)


def build_srresnet(config: SRResNetConfig, name: str) -> SRResNet:
    if config.task == "segment":
        raise ConfigError(f"{name} outputs images, not masks: train unet for --task segment")
    c_in, c_out = config.image_shape[0], config.out_channels
    if config.residual_bicubic and c_in < c_out:
        raise ConfigError(f"residual_bicubic adds the enlarged input ({c_in} channel(s)) to the output ({c_out}); "
                          f"for task {config.task or 'paired'!r} pass --set residual_bicubic=false")
    if config.scale & (config.scale - 1):
        raise ConfigError(f"{name} enlarges by PixelShuffle ×2 stages: the scale must be 1, 2, 4 or 8, got "
                          f"{config.scale}; use superres:2, superres:4 or superres:8")
    return SRResNet(c_in, c_out, config.scale, blocks=config.blocks, width=config.width,
                    residual_bicubic=config.residual_bicubic)


@register("srresnet", SRResNetConfig,
          "SRResNet (Ledig et al.): residual blocks + PixelShuffle upsampling, per-pixel MSE; --task superres:F")
class SRResNetModel(ImageToImage):
    """``network`` maps the low-resolution input (not enlarged first) to the F-times larger image."""

    learns_upsampling = True
    default_epochs = 10
    bench_task = "superres:2"

    def __init__(self, config: SRResNetConfig):
        super().__init__(config)
        self.network = build_srresnet(config, self.registry_name or "srresnet")

    def raw(self, x: Tensor) -> Tensor:
        # G works in [−1, 1] (its bicubic skip adds the [−1, 1] input): back to [0, 1], unclamped
        return (super().raw(x) + 1) / 2

    def loss(self, batch: dict) -> dict:
        value = self.reconstruction(self.raw(batch["x"]), batch, "l2")
        return {"loss": value, "mse": value.detach()}

    def players(self) -> list[Player]:
        return self.single_player("srresnet")


# ---------------------------------------------------------------------------------------------------- srgan

@dataclass
class SRGANConfig(SRResNetConfig):
    content: Literal["mse", "features"] = "features"   # G's content loss: pixel MSE, or MSE of φ's feature maps
    feature_network: Literal["judge", "inception"] = "judge"   # φ: the data's judge, or the FID Inception-v3's stem
    inception_path: str = ""   # feature_network=inception: its .safetensors file ("" = $GENLAB_INCEPTION / caches)
    # s on φ's maps (Ledig et al.: 1/12.75 for VGG); 1: the judge's maps give losses of pixel MSE's size
    # (bicubic ×2 on mnist5k: feature MSE 0.012, pixel MSE 0.010)
    content_scale: Annotated[float, Range(0, low_open=True)] = 1.0
    adv_weight: Annotated[float, Range(0)] = 1e-3   # λ, the adversarial term's weight in G's loss
    gan_loss: Literal["nonsaturating", "minimax", "lsgan", "hinge"] = "nonsaturating"   # the adversarial loss
    d_width: Annotated[int, Range(1)] = 32   # D: channels of its first convolution (64 in the paper)
    d_blocks: Annotated[int, Range(1)] = 3   # D: width levels, each a stride-1/stride-2 pair (4 in the paper)
    d_dense: Annotated[int, Range(1)] = 256   # D: units of its hidden linear layer (1024 in the paper)
    lr: Annotated[float, Range(0, low_open=True)] = 1e-4   # Adam's learning rate, both players (the paper's)
    beta1: Annotated[float, Range(0, 1, high_open=True)] = 0.9   # Adam's β1 (the paper's)
    init_from: str = ""   # a srresnet (or srgan) run folder whose G weights G starts from ("" = random)


def init_generator(model: ImageToImage, run_dir: str | Path) -> None:
    """Copy the ``network.*`` weights of a srresnet/srgan run folder into ``model.network``."""
    from ..io import load_tensors
    from ..runs import WEIGHTS, read_config

    run_dir = Path(run_dir).expanduser()
    info = read_config(run_dir)
    if info["model"] not in ("srresnet", "srgan"):
        raise ConfigError(f"init_from={run_dir} is a {info['model']} run; SRGAN's generator starts from a srresnet "
                          "(or srgan) run: train one with `genlab train srresnet` first")
    if not (run_dir / WEIGHTS).is_file():
        raise ConfigError(f"init_from={run_dir} has no {WEIGHTS}: its training never finished an epoch")
    state = {k[len("network."):]: v for k, v in load_tensors(run_dir / WEIGHTS).items() if k.startswith("network.")}
    own = model.network.state_dict()
    wrong = [k for k in own if k not in state or tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong or len(state) != len(own):
        theirs = info["config"]
        raise ConfigError(f"init_from={run_dir} holds a different SRResNet (blocks {theirs.get('blocks')}, width "
                          f"{theirs.get('width')}, scale {theirs.get('scale')}, residual_bicubic "
                          f"{theirs.get('residual_bicubic')}; this one: blocks {model.config.blocks}, width "
                          f"{model.config.width}, scale {model.config.scale}, residual_bicubic "
                          f"{model.config.residual_bicubic}); set the same values or drop init_from")
    model.network.load_state_dict(state)


@register("srgan", SRGANConfig,
          "SRGAN (Ledig et al.): SRResNet G + image D, content (MSE or feature maps) + 1e-3·adversarial; "
          "--task superres:F")
class SRGAN(SRResNetModel):
    """G = ``network`` (SRResNet), D = ``discriminator``; players discriminator then generator."""

    default_epochs = 10

    def __init__(self, config: SRGANConfig):
        super().__init__(config)
        self.discriminator = SRDiscriminator(config.out_channels, config.d_width, config.d_blocks, config.d_dense)
        # φ lives outside the module tree: not in state_dict, not moved by .to(), not switched by .train()
        object.__setattr__(self, "_feature_network", None)

    # --------------------------------------------------------------------------- the feature network φ
    @property
    def feature_network(self) -> nn.Module | None:
        return self._feature_network

    def use_feature_network(self, net: nn.Module | None) -> None:
        """φ for content=features: frozen, in eval mode, on the model's device; None removes it."""
        if net is not None:
            net = net.to(self.device).eval().requires_grad_(False)
        object.__setattr__(self, "_feature_network", net)

    def content_features(self, images: Tensor) -> Tensor:
        """s·φ(images), images in [0, 1]."""
        net = self._feature_network
        if net is None:
            raise ConfigError("srgan with content=features needs its feature network φ, which `genlab train` loads "
                              f"({self.config.feature_network}); outside training call "
                              "model.use_feature_network(net), or use --set content=mse")
        if next(net.parameters()).device != images.device:
            net.to(images.device)
        return self.config.content_scale * net(images)

    def content_loss(self, raw: Tensor, target: Tensor) -> Tensor:
        if self.config.content == "mse":
            return F.mse_loss(raw, target)
        with torch.no_grad():
            wanted = self.content_features(target)
        return F.mse_loss(self.content_features(raw), wanted)

    def prepare(self, data) -> None:
        super().prepare(data)
        cfg = self.config
        if cfg.content == "features" and cfg.feature_network == "judge" and data.y is None:
            raise DataError(f"srgan's feature content loss uses a judge classifier, which needs labelled images, but "
                            f"{data.name or 'the data'} has no labels: pass --set feature_network=inception (with "
                            "GENLAB_INCEPTION) or --set content=mse")
        if cfg.init_from:
            init_generator(self, cfg.init_from)

    # --------------------------------------------------------------------------------------- the game
    def critic(self, images: Tensor) -> Tensor:
        """D's logit per image (images in [0, 1])."""
        return self.discriminator(images * 2 - 1)

    def discriminator_step(self, batch: dict) -> dict:
        y = self.target(batch)
        with torch.no_grad():
            fake = self.raw(batch["x"])
        real_out, fake_out = self.critic(y), self.critic(fake)
        loss = discriminator_loss(self.config.gan_loss, real_out, fake_out)
        if self.config.gan_loss in ("nonsaturating", "minimax"):
            real_out, fake_out = real_out.sigmoid(), fake_out.sigmoid()
        return {"loss": loss, "d_real": real_out.mean().detach(), "d_fake": fake_out.mean().detach()}

    def generator_step(self, batch: dict) -> dict:
        cfg = self.config
        y = self.target(batch)
        raw = self.raw(batch["x"])
        content = self.content_loss(raw, y)
        adv = generator_loss(cfg.gan_loss, self.critic(raw))
        out = {"loss": content + cfg.adv_weight * adv, "content": content.detach(), "adv": adv.detach()}
        if cfg.content != "mse":
            out["mse"] = F.mse_loss(raw.detach(), y)
        return out

    def loss(self, batch: dict) -> dict:
        return self.generator_step(batch)

    def players(self) -> list[Player]:
        cfg = self.config
        betas = (cfg.beta1, 0.999)
        d_params, g_params = list(self.discriminator.parameters()), list(self.network.parameters())
        return [Player("discriminator", d_params, make_optimizer("adam", d_params, cfg.lr, betas),
                       self.discriminator_step),
                Player("generator", g_params, make_optimizer("adam", g_params, cfg.lr, betas), self.generator_step)]

