"""CycleGAN (Zhu et al. 2017): translation between two domains A and B without paired examples.

    G: A → B and F: B → A, ResNet generators (Johnson et al. 2016; ``genlab.nn.translation``);
    D_B judges images of B (real b against G(a)), D_A images of A (real a against F(b)): PatchGANs
    (``genlab.nn.unet.PatchDiscriminator``, instance norm). The full objective, minimised by G and F:

        L = L_GAN(G, D_B) + L_GAN(F, D_A)
            + λ·(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁)              cycle consistency, λ = 10
            + 0.5·λ·(‖G(b) − b‖₁ + ‖F(a) − a‖₁)                 identity (keeps colours; §5.2 of the paper)

    with the least-squares GAN loss (Mao et al. 2017): G minimises E[(D_B(G(a)) − 1)²], D_B minimises
    ½·(E[(D_B(b) − 1)²] + E[D_B(G(a))²]) (the paper halves D's objective to slow it against G); the
    same for F and D_A. Each discriminator sees fakes drawn from a pool of its 50 last fakes
    (Shrivastava et al. 2017: once full, half of the time an older one). Adam 2e-4, β = (0.5, 0.999),
    a constant rate for the first half of training, then linear decay to (nearly) 0.

The data carries each image's ``domain`` (0 = A, 1 = B; ``domains:SPEC_A,SPEC_B``, ``digits2mnist``,
``grey2colour``); a batch holds images of both in any proportion and every term above is a mean over
the images of its domain. Images are in [0, 1] outside, [−1, 1] inside. Players: ``generators`` (G
and F together, one optimiser), then ``discriminator_a`` and ``discriminator_b``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Annotated, Literal, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError, DataError, did_you_mean
from ..nn.translation import ImagePool, ResnetGenerator, max_downsamplings
from ..nn.unet import PatchDiscriminator, UNet, layers_for_patch
from ..registry import register
from .base import GenerativeModel, LabelSpace, ModelConfig, Player, Range
from .gan.game import discriminator_loss, generator_loss, linear_decay, make_optimizer

__all__ = ["CycleGANConfig", "CycleGAN", "cycle_loss", "identity_loss", "make_generator", "DOMAIN_DATA"]

DOMAIN_DATA = "domains:SPEC_A,SPEC_B data (e.g. domains:mnist5k,fashion) or a built-in pair: digits2mnist, grey2colour"


@dataclass
class CycleGANConfig(ModelConfig):
    domains: tuple[str, ...] = ("A", "B")   # the names of domain A (0) and domain B (1); set from the data
    # G and F: ResNet blocks between a strided encoder and decoder (the paper), or the U-Net, whose skips carry
    # the input's layout to the output at every scale (the paper's alternative, as in pix2pix)
    generator: Literal["resnet", "unet"] = "resnet"
    width: Annotated[int, Range(1)] = 16   # G and F: channels at full resolution, doubling per downsampling
    blocks: Annotated[int, Range(0)] = 3   # resnet G and F: blocks at the bottleneck (the paper: 6 at 128 px, 9 at 256 px)
    # G and F: stride-2 downsamplings (and as many upsamplings); None: 2 where the bottleneck keeps ≥ 4 px a side
    # (28 or 32 px → 7 or 8), fewer on smaller images
    downsamplings: Annotated[Optional[int], Range(0)] = None
    patch: Annotated[int, Range(1)] = 34   # D_A and D_B: receptive field in pixels, a PatchGAN preset (1, 16, 34, 70, 142, 286)
    d_width: Annotated[int, Range(1)] = 32   # D_A and D_B: channels of the first layer (×2 per layer)
    gan_loss: Literal["lsgan", "nonsaturating"] = "lsgan"   # the adversarial loss: least squares (the paper) or BCE
    cycle_weight: Annotated[float, Range(0)] = 10.0   # λ, the weight of the cycle-consistency terms
    identity_weight: Annotated[float, Range(0)] = 0.5   # the identity terms' weight as a share of λ (0.5: 0.5·λ; 0: none)
    pool_size: Annotated[int, Range(0)] = 50   # past fakes each discriminator draws from (0: the newest fakes only)
    lr: Annotated[float, Range(0, low_open=True)] = 2e-4   # Adam's learning rate, every player
    beta1: Annotated[float, Range(0, 1, high_open=True)] = 0.5   # Adam's β1
    beta2: Annotated[float, Range(0, 1, high_open=True)] = 0.999   # Adam's β2
    lr_decay: Annotated[float, Range(0, 1)] = 0.5   # share of the epochs, at the end, over which the rates fall linearly

    @classmethod
    def data_values(cls, data) -> dict:
        values = super().data_values(data)
        name = data.name or "the data"
        if data.domain is None:
            raise DataError(f"cyclegan translates between two unpaired domains, but {name} has no domain per image; "
                            f"train it on {DOMAIN_DATA}")
        names = list(data.meta.get("domains") or [])
        found = sorted({int(d) for d in data.domain.unique()}) if len(data.domain) else []
        if len(names) != 2 or any(d not in (0, 1) for d in found):
            raise DataError(f"cyclegan translates between exactly two domains, but {name} has "
                            f"{len(names) or len(found)} ({', '.join(map(str, names)) or 'unnamed'}); train it on "
                            f"{DOMAIN_DATA}")
        values["domains"] = tuple(str(n) for n in names)
        return values

    def resolved(self) -> dict:
        return {**super().resolved(), "downsamplings": generator_downsamplings(self)}


def generator_downsamplings(config: CycleGANConfig) -> int:
    """The generators' stride-2 steps: the config's, or for None 2 where the image size allows."""
    if config.downsamplings is not None:
        return config.downsamplings
    return max_downsamplings(*config.image_shape[1:], wanted=2)


def make_generator(config: CycleGANConfig) -> nn.Module:
    """One of G, F: images of the config's channels to images of the same shape in [−1, 1]."""
    c, d = config.image_shape[0], generator_downsamplings(config)
    if config.generator == "resnet":
        return ResnetGenerator(c, c, config.width, config.blocks, d)
    if d < 1:
        raise ConfigError("generator=unet needs at least one downsampling (its skips join the scales); "
                          "set downsamplings ≥ 1 or use generator=resnet")
    return UNet(c, c, depth=d, width=config.width, norm="instance", out_act="tanh")


def cycle_loss(a: Tensor, rec_a: Tensor, b: Tensor, rec_b: Tensor) -> Tensor:
    """‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁, each a mean over its pixels (a domain without images adds 0)."""
    return _l1(rec_a, a) + _l1(rec_b, b)


def identity_loss(a: Tensor, f_a: Tensor, b: Tensor, g_b: Tensor) -> Tensor:
    """‖G(b) − b‖₁ + ‖F(a) − a‖₁, each a mean over its pixels (a domain without images adds 0)."""
    return _l1(g_b, b) + _l1(f_a, a)


def _l1(x: Tensor, y: Tensor) -> Tensor:
    return (x - y).abs().mean() if x.numel() else x.new_zeros(())


@contextlib.contextmanager
def frozen(*modules: nn.Module):
    """No parameter gradients for ``modules`` inside (D while G and F learn: gradients still flow
    through D to the images, but D's own are not computed)."""
    params = [p for m in modules for p in m.parameters()]
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


@register("cyclegan", CycleGANConfig,
          "CycleGAN (Zhu et al.): unpaired A ↔ B translation, two ResNet generators, two PatchGANs, cycle + identity")
class CycleGAN(GenerativeModel):
    # 12 mnist5k-sized epochs = 1,500 steps of 32 (≈0.33 s each at 28×28 on one core): `genlab train
    # cyclegan --data digits2mnist` gets 9 epochs of its 5,438 images, about 9 minutes
    default_epochs = 12
    default_batch_size = 32
    missing_capability_hints = {
        c: "cyclegan translates images between its two domains: `genlab translate RUN --image IN.png --to B` "
           "(model.translate / model.cycle)"
        for c in ("sample", "encode", "decode", "reconstruct", "segment")}

    def __init__(self, config: CycleGANConfig):
        super().__init__(config)
        if len(config.domains) != 2 or len(set(config.domains)) != 2:
            raise ConfigError(f"cyclegan needs two different domain names, got {list(config.domains)}; "
                              "give domains=A,B (or create the model with its data)")
        c = config.image_shape[0]
        self.generator_ab = make_generator(config)   # G: A → B
        self.generator_ba = make_generator(config)   # F: B → A
        layers = layers_for_patch(config.patch)
        self.discriminator_a = PatchDiscriminator(c, layers, config.d_width, "instance")   # D_A: real a vs F(b)
        self.discriminator_b = PatchDiscriminator(c, layers, config.d_width, "instance")   # D_B: real b vs G(a)
        self.pool_a, self.pool_b = ImagePool(config.pool_size), ImagePool(config.pool_size)
        self._fakes: tuple | None = None   # (batch images, F(b), G(a)) of the last generators' step

    # ------------------------------------------------------------------ domains and labels
    @property
    def domain_names(self) -> tuple[str, str]:
        return tuple(self.config.domains)

    @property
    def label_space(self) -> LabelSpace:
        return LabelSpace("domains", 2, "target domain", names=self.domain_names)

    @property
    def preview_rows(self) -> tuple[str, ...]:
        a, b = self.domain_names
        return (a, f"G: → {b}", f"F: back to {a}", b, f"F: → {a}", f"G: back to {b}")

    def label_index(self, label) -> int:
        """0 or 1 for a domain's name (or "A"/"B", or its number); a one-line ConfigError otherwise."""
        names = list(self.domain_names)
        text = str(label).strip()
        if text in names:
            return names.index(text)
        if text in ("A", "B"):   # the paper's letters, whatever the domains are called
            return "AB".index(text)
        if text in ("0", "1"):
            return int(text)
        raise ConfigError(f"unknown domain {text!r} for this cyclegan{did_you_mean(text, names)}: it translates "
                          f"between {names[0]!r} (0, A) and {names[1]!r} (1, B); name one of them as the target")

    def target_domains(self, y, n: int) -> Tensor:
        """The target domain of each of ``n`` images: None → B (A → B); a name or 0/1, or one per image."""
        if y is None:
            return torch.ones(n, dtype=torch.long, device=self.device)
        if isinstance(y, (list, tuple)) and any(isinstance(v, str) for v in y):
            y = [self.label_index(v) for v in y]     # one name per image
        return self.labels(y, n)

    def check_input(self, x: Tensor) -> None:
        """Any H×W (the networks are fully convolutional); the channels must be the model's."""
        c = self.config.image_shape[0]
        if x.ndim != 4 or x.shape[1] != c:
            shape = tuple(x.shape[1:]) if x.ndim == 4 else tuple(x.shape)
            raise DataError(f"cyclegan takes {c}-channel images (its domains' channels), got shape {shape}; "
                            f"give images with {c} channel(s) (--channels) or train a model on data like yours")

    def prepare(self, data) -> None:
        values = CycleGANConfig.data_values(data)
        if values["domains"] != self.domain_names:
            raise ConfigError(f"the data's domains are {', '.join(values['domains'])} but the model was built for "
                              f"{', '.join(self.domain_names)}; create it with the data (domains="
                              f"{','.join(values['domains'])})")
        missing = [name for k, name in enumerate(self.domain_names) if not bool((data.domain == k).any())]
        if missing:
            raise DataError(f"the training data holds no image of domain {missing[0]!r}; cyclegan needs images of "
                            f"both domains ({DOMAIN_DATA})")

    # ------------------------------------------------------------------ capabilities
    def translate(self, x: Tensor, y=None) -> Tensor:
        """Images ``x`` (N×C×H×W in [0, 1], any H×W) in their target domain ``y`` (a domain's name or
        0/1, one or one per image; None: B): G(x) for target B, F(x) for target A, in [0, 1]."""
        self.check_input(x)
        target = self.target_domains(y, len(x))
        s = x.to(self.device) * 2 - 1
        to_b = target == 1
        if bool(to_b.all()):
            out = self.generator_ab(s)
        elif not bool(to_b.any()):
            out = self.generator_ba(s)
        else:
            out = s.new_zeros(s.shape)
            out = out.index_put((to_b,), self.generator_ab(s[to_b])).index_put((~to_b,), self.generator_ba(s[~to_b]))
        return ((out + 1) / 2).clamp(0, 1)

    def cycle(self, x: Tensor, y=None) -> tuple[Tensor, Tensor]:
        """(translated, back): ``x`` in its target domain ``y`` (None: B), and that translated back to the
        other domain: (G(x), F(G(x))) for target B, (F(x), G(F(x))) for target A."""
        target = self.target_domains(y, len(x))
        translated = self.translate(x, target)
        return translated, self.translate(translated, 1 - target)

    def preview(self, batch: dict) -> Tensor:
        """Six rows of 8: a, G(a), F(G(a)), b, F(b), G(F(b)) (black where the batch has fewer than 8 of a domain)."""
        x, domain = batch["x"], self.domains_of(batch)
        rows = []
        for k in (0, 1):
            imgs = x[domain == k][:8]
            translated, back = self.cycle(imgs, 1 - k) if len(imgs) else (imgs, imgs)
            for row in (imgs, translated, back):
                rows.append(torch.cat([row, row.new_zeros(8 - len(row), *x.shape[1:])]))
        return torch.cat(rows)

    # ------------------------------------------------------------------ the game
    def domains_of(self, batch: dict) -> Tensor:
        if batch.get("domain") is None:
            raise DataError(f"cyclegan trains on two unpaired domains; the batch has no 'domain': use {DOMAIN_DATA}")
        return batch["domain"]

    def split(self, batch: dict) -> tuple[Tensor, Tensor]:
        """The batch's images of A and of B, in [−1, 1] (either may be empty)."""
        domain = self.domains_of(batch)
        s = batch["x"] * 2 - 1
        return s[domain == 0], s[domain == 1]

    def critic(self, discriminator: PatchDiscriminator, x: Tensor) -> Tensor:
        """D's outputs, one per patch, for images in [−1, 1]; an image smaller than the patch is padded."""
        side = 3 * 2 ** discriminator.layers if discriminator.layers else 1
        h, w = x.shape[-2:]
        if h < side or w < side:
            ph, pw = max(0, side - h), max(0, side - w)
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="replicate")
        return discriminator(x)

    def adversarial(self, discriminator: PatchDiscriminator, fake: Tensor) -> Tensor:
        """L_GAN for a generator on its fakes: E[(D(fake) − 1)²] (lsgan) or −E[log D(fake)]."""
        if not fake.numel():
            return fake.new_zeros(())
        loss = generator_loss(self.config.gan_loss, self.critic(discriminator, fake))
        # game.py's LSGAN generator loss carries Mao et al.'s ½; CycleGAN weighs E[(D(G(a)) − 1)²] against λ
        return 2 * loss if self.config.gan_loss == "lsgan" else loss

    def generators_step(self, batch: dict) -> dict:
        """G and F together: both adversarial terms, λ·cycle, 0.5·λ·identity."""
        cfg = self.config
        a, b = self.split(batch)
        with frozen(self.discriminator_a, self.discriminator_b):
            fake_b, fake_a = self.generator_ab(a), self.generator_ba(b)
            rec_a, rec_b = self.generator_ba(fake_b), self.generator_ab(fake_a)
            adv_b, adv_a = self.adversarial(self.discriminator_b, fake_b), self.adversarial(self.discriminator_a, fake_a)
            cyc = cycle_loss(a, rec_a, b, rec_b)
            loss = adv_a + adv_b + cfg.cycle_weight * cyc
            out = {"adv_a": adv_a.detach(), "adv_b": adv_b.detach(), "cycle": cyc.detach()}
            if cfg.identity_weight > 0:
                idt = identity_loss(a, self.generator_ba(a), b, self.generator_ab(b))
                loss = loss + cfg.identity_weight * cfg.cycle_weight * idt
                out["identity"] = idt.detach()
        # the discriminators' steps in this training step judge these fakes (through their pools)
        self._fakes = (batch["x"], fake_a.detach(), fake_b.detach())
        return {"loss": loss, **out}

    def fakes(self, batch: dict) -> tuple[Tensor, Tensor]:
        """(F(b), G(a)) for the batch: those of the generators' step on this batch, else made now."""
        if self._fakes is not None and self._fakes[0] is batch["x"]:
            return self._fakes[1], self._fakes[2]
        a, b = self.split(batch)
        with torch.no_grad():
            return self.generator_ba(b), self.generator_ab(a)

    def discriminator_step(self, which: str, batch: dict) -> dict:
        """½·(E[(D(real) − 1)²] + E[D(fake)²]) for D_A (which="a": real a, fakes F(b)) or D_B (real b,
        fakes G(a)); the fakes come through the pool while training. A batch without images of both
        domains leaves this discriminator alone (nothing real to set against the fakes, or no fakes)."""
        a, b = self.split(batch)
        fake_a, fake_b = self.fakes(batch)
        real, fake = (a, fake_a) if which == "a" else (b, fake_b)
        discriminator = self.discriminator_a if which == "a" else self.discriminator_b
        if not len(real) or not len(fake):
            return {"loss": torch.zeros((), device=real.device, requires_grad=True)}
        if self.training:     # validation must not fill the pool with held-out fakes
            fake = (self.pool_a if which == "a" else self.pool_b).query(fake)
        real_out, fake_out = self.critic(discriminator, real), self.critic(discriminator, fake)
        loss = discriminator_loss(self.config.gan_loss, real_out, fake_out)
        # lsgan's loss is ½ of each term already: the paper's halved objective; halve the BCE one too
        if self.config.gan_loss != "lsgan":
            loss = 0.5 * loss
            real_out, fake_out = real_out.sigmoid(), fake_out.sigmoid()
        return {"loss": loss, "d_real": real_out.detach().mean(), "d_fake": fake_out.detach().mean()}

    def discriminator_a_step(self, batch: dict) -> dict:
        return self.discriminator_step("a", batch)

    def discriminator_b_step(self, batch: dict) -> dict:
        return self.discriminator_step("b", batch)

    def players(self) -> list[Player]:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        schedule = linear_decay(cfg.lr_decay) if cfg.lr_decay else None
        g_params = list(self.generator_ab.parameters()) + list(self.generator_ba.parameters())
        players = [Player("generators", g_params, make_optimizer("adam", g_params, cfg.lr, betas),
                          self.generators_step, lr_schedule=schedule)]
        for which, net, step in (("a", self.discriminator_a, self.discriminator_a_step),
                                 ("b", self.discriminator_b, self.discriminator_b_step)):
            params = list(net.parameters())
            players.append(Player(f"discriminator_{which}", params, make_optimizer("adam", params, cfg.lr, betas),
                                  step, lr_schedule=schedule))
        return players
