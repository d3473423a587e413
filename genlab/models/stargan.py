"""StarGAN (Choi et al. 2018, "StarGAN: Unified Generative Adversarial Networks for Multi-Domain
Image-to-Image Translation"): one generator for every target domain.

    G(x, c)     the image x and the target label c ∈ {0, 1}^K, c replicated spatially and concatenated
                to x's channels (``genlab.nn.stargan.StarGenerator``).
    D(x)        two heads on one body: D_src(x), a WGAN critic score per patch, and D_cls(x), K
                domain logits (``StarDiscriminator``).

    L_adv     = E_x[D_src(x)] − E_{x,c}[D_src(G(x, c))] − λ_gp·E_x̂[(‖∇_x̂ D_src(x̂)‖₂ − 1)²]   (WGAN-GP)
    L_cls^r   = E_{x,c′}[−log D_cls(c′ | x)]        on real images x with their own labels c′
    L_cls^f   = E_{x,c}[−log D_cls(c | G(x, c))]    on translations with their target labels c
    L_rec     = E_{x,c,c′}[‖x − G(G(x, c), c′)‖₁]   (cycle back to the original labels c′)
    L_D       = −L_adv + λ_cls·L_cls^r
    L_G       =  L_adv + λ_cls·L_cls^f + λ_rec·L_rec
    λ_cls = 1, λ_rec = 10, λ_gp = 10, n_critic = 5 (``d_steps``), Adam 1e-4, β = (0.5, 0.999), the
    rates falling linearly to 0 over the second half of training (``lr_decay`` = 0.5).

−log D_cls(c | x), the classification loss (``cls_loss``):
    groups   Σ over the exclusive attribute groups g of the cross-entropy of softmax(D_cls(x)_g)
             against the group's one value of c, plus binary cross-entropy for each attribute in no
             group. The built-in attribute sets (``attributes:SPEC``) are exclusive groups (thin /
             normal / thick, upright / tilted, plain / inverted): a softmax per group cannot ask for
             two values of one group at once, so this is the default.
    bce      Σ_k BCE(σ(D_cls(x)_k), c_k), every attribute an independent yes/no: the paper's CelebA
             setting (hair colours, gender, age).
Both are summed over groups / attributes and averaged over images, as the reference implementation.

Target labels c are drawn per batch by permuting the batch's own attribute vectors (as the
reference implementation does), so targets follow the data's joint distribution of attributes and
every c is a valid combination. Each of the d_steps critic steps of a training step draws its own
permutation; like genlab's other WGANs, the critic's steps see the same batch (the reference draws
a new batch per critic step).

Images are in [0, 1] outside and [−1, 1] inside. ``translate(x, y)`` takes y as N×K 0/1 target
vectors (or one, for every image), attribute names ("thick,inverted", a list, an index): named
values replace their group's value and the other groups keep each image's own, as D_cls reads
them (:meth:`StarGAN.attribute_vector` fills them from a given base instead).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError, DataError, did_you_mean
from ..nn.stargan import StarDiscriminator, StarGenerator
from ..registry import register
from .base import GenerativeModel, LabelSpace, ModelConfig, Player, Range
from .gan.game import GAN, discriminator_loss, generator_loss, gradient_penalty, linear_decay, make_optimizer

__all__ = ["StarGANConfig", "StarGAN", "classification_loss", "attribute_accuracy", "shuffled_targets",
           "DEFAULT_ATTRIBUTES", "DEFAULT_GROUPS"]

# the attribute set of ``attributes:SPEC`` on grey images: stroke, slant, polarity
DEFAULT_ATTRIBUTES = ("thin", "normal", "thick", "upright", "tilted", "plain", "inverted")
DEFAULT_GROUPS = ((0, 1, 2), (3, 4), (5, 6))
DATA_HINT = "train it on --data attributes:SPEC (e.g. attributes:mnist5k)"


# ------------------------------------------------------------------------------------------ losses

def classification_loss(logits: Tensor, target: Tensor, groups=(), kind: str = "groups") -> Tensor:
    """−log D_cls(c | x) per image, averaged: for ``kind="groups"`` the cross-entropy of a softmax per
    exclusive group (each group's target the index of its 1) plus BCE for the attributes in no
    group; for ``kind="bce"`` BCE on every attribute. Summed over groups/attributes."""
    target = target.to(logits.dtype)
    n = max(len(logits), 1)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / n
    loss = logits.new_zeros(())
    grouped = set()
    for g in groups:
        g = list(g)
        grouped.update(g)
        loss = loss + F.cross_entropy(logits[:, g], target[:, g].argmax(1))
    free = [k for k in range(logits.shape[1]) if k not in grouped]
    if free:
        loss = loss + F.binary_cross_entropy_with_logits(logits[:, free], target[:, free], reduction="sum") / n
    return loss


def decide(logits: Tensor, groups=(), kind: str = "groups") -> Tensor:
    """N×K 0/1 attributes read from D_cls logits: the argmax of each group (``groups``), a positive
    logit for the others (and for every attribute with ``bce``)."""
    out = (logits > 0).to(logits.dtype)
    if kind == "groups":
        for g in groups:
            g = list(g)
            out[:, g] = F.one_hot(logits[:, g].argmax(1), len(g)).to(logits.dtype)
    return out


def attribute_accuracy(logits: Tensor, target: Tensor, groups=(), kind: str = "groups") -> Tensor:
    """The share of (image, group-or-free-attribute) decisions of D_cls that match ``target``."""
    hit = decide(logits, groups, kind) == target.to(logits.dtype)
    if kind == "bce":
        return hit.float().mean()
    grouped = [k for g in groups for k in g]
    parts = [hit[:, list(g)].all(1).float() for g in groups]
    parts += [hit[:, k].float() for k in range(logits.shape[1]) if k not in grouped]
    return torch.stack(parts, 1).mean()


def shuffled_targets(c: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Target labels for a batch: its own label vectors in a random order (StarGAN's reference code)."""
    return c[torch.randperm(len(c), generator=generator).to(c.device)]


# ----------------------------------------------------------------------------------------- config

@dataclass
class StarGANConfig(ModelConfig):
    # the K attribute names, one per column of the data's attributes; set from the data (meta["attributes"])
    attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES
    # mutually exclusive groups of attribute indices (exactly one 1 per image in each); set from the data
    attribute_groups: tuple[tuple[int, ...], ...] = DEFAULT_GROUPS
    g_width: Annotated[int, Range(1)] = 16   # G: channels of its first layer, doubling per downsampling (paper: 64)
    g_blocks: Annotated[int, Range(0)] = 3   # G: residual blocks at the bottleneck (paper: 6)
    g_downs: Annotated[int, Range(0)] = 2   # G: stride-2 downsamplings (and as many upsamplings); the paper's 2
    d_width: Annotated[int, Range(1)] = 16   # D: channels of its first layer, doubling per layer (paper: 64)
    d_layers: Annotated[int, Range(1)] = 3   # D: stride-2 convolutions before the two heads (paper: 6 for 128 px)
    cls_loss: Literal["groups", "bce"] = "groups"   # groups: softmax per exclusive group (+ BCE for the rest); bce: the paper's CelebA BCE per attribute
    cls_weight: Annotated[float, Range(0)] = 1.0   # λ_cls, the domain-classification terms' weight
    rec_weight: Annotated[float, Range(0)] = 10.0   # λ_rec, the weight of ‖x − G(G(x, c), c′)‖₁ in G's loss
    gp_weight: Annotated[float, Range(0)] = 10.0   # λ_gp, the gradient penalty's weight in D's loss
    d_steps: Annotated[int, Range(1)] = 5   # n_critic: D steps per G step
    lr: Annotated[float, Range(0, low_open=True)] = 1e-4   # Adam's rate for G (and D unless lr_d)
    lr_d: Annotated[Optional[float], Range(0, low_open=True)] = None   # D's own rate; None: lr
    beta1: Annotated[float, Range(0, 1, high_open=True)] = 0.5   # Adam's β1, both players
    beta2: Annotated[float, Range(0, 1, high_open=True)] = 0.999   # Adam's β2, both players
    # share of the epochs, at the end, over which both rates fall linearly (the paper: the second half)
    lr_decay: Annotated[float, Range(0, 1)] = 0.5

    @classmethod
    def data_values(cls, data) -> dict:
        """The image shape and the attribute names and groups of ``data`` (refused without attributes)."""
        values = super().data_values(data)
        if data.attributes is None:
            raise DataError(f"stargan translates between attributes, but {data.name or 'the data'} has none; "
                            f"{DATA_HINT}")
        k = int(data.attributes.shape[1]) if data.attributes.dim() == 2 else 0
        names = tuple(str(a) for a in data.meta.get("attributes") or [str(i) for i in range(k)])
        groups = tuple(tuple(int(i) for i in g) for g in data.meta.get("attribute_groups") or ())
        return {**values, "attributes": names, "attribute_groups": groups}


def check_attributes(names, groups, k: int | None = None) -> None:
    """One line for attribute names and groups that cannot describe a label vector."""
    names = list(names)
    if len(names) < 2:
        raise ConfigError(f"stargan needs at least 2 attributes to translate between, got {names}; {DATA_HINT}")
    if k is not None and k != len(names):
        raise DataError(f"the data has {k} attribute columns but {len(names)} attribute names ({', '.join(names)}); "
                        "give one name per column in meta['attributes']")
    doubled = sorted({a for a in names if names.count(a) > 1})
    if doubled:
        raise ConfigError(f"attribute names must be unique; {', '.join(doubled)} appear(s) twice")
    bad = [a for a in names if "," in a or not a.strip()]
    if bad:
        raise ConfigError(f"attribute names must be non-empty and free of commas (they are given as "
                          f"'thick,inverted'); got {bad}")
    seen: set[int] = set()
    for g in groups:
        if len(g) < 2:
            raise ConfigError(f"an attribute group lists exclusive values, at least 2; got {list(g)}")
        out = [i for i in g if not 0 <= i < len(names)]
        if out:
            raise ConfigError(f"attribute group {list(g)} names index {out[0]}, but there are {len(names)} attributes "
                              f"(0…{len(names) - 1})")
        if seen & set(g):
            raise ConfigError(f"attribute groups must be disjoint; index {min(seen & set(g))} is in two groups")
        seen |= set(g)


# ------------------------------------------------------------------------------------------ model

@register("stargan", StarGANConfig,
          "StarGAN (Choi et al.): one G(x, c) for many attribute domains, WGAN-GP D with a domain classifier; "
          "--data attributes:SPEC")
class StarGAN(GenerativeModel):
    # 12 epochs of batches of 32 on attributes:mnist5k's 4,000 images: 1,500 G steps (7,500 D steps),
    # 0.36 s each at the default widths on one CPU thread (28×28), about 9 minutes; by then stroke and
    # polarity translate visibly, the tilt hardly
    default_epochs = 12
    default_batch_size = 32
    missing_capability_hints = {
        "sample": "stargan translates the images it is given: translate(x, 'thick,inverted'), or "
                  "`genlab translate RUN --image IN.png --domains thick,inverted`",
    }

    def __init__(self, config: StarGANConfig):
        check_attributes(config.attributes, config.attribute_groups)
        super().__init__(config)
        c, h, w = config.image_shape
        k = len(config.attributes)
        self.generator = StarGenerator(c, k, config.g_width, config.g_downs, config.g_blocks)
        self.discriminator = StarDiscriminator(c, k, (h, w), config.d_width, config.d_layers)
        self._group_of = {i: tuple(g) for g in config.attribute_groups for i in g}

    # ------------------------------------------------------------------ labels
    @property
    def label_space(self) -> LabelSpace:
        names = tuple(self.config.attributes)
        return LabelSpace("attributes", len(names), "target attributes", names=names)

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """The exclusive groups the classification loss uses (none with ``cls_loss=bce``)."""
        return tuple(self.config.attribute_groups) if self.config.cls_loss == "groups" else ()

    def attribute_index(self, name) -> int:
        """The column of attribute ``name`` (a name, or its index as int or text)."""
        names = list(self.config.attributes)
        k = len(names)
        text = str(name).strip()
        if text in names:
            return names.index(text)
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"unknown attribute {text!r} for stargan{did_you_mean(text, names)} (its attributes: "
                              f"{', '.join(names)})") from None
        if not 0 <= value < k:
            raise ConfigError(f"attribute {value} is out of range for stargan: 0…{k - 1} ({', '.join(names)})")
        return value

    def default_vector(self) -> Tensor:
        """Each group's first value, the other attributes 0."""
        vec = torch.zeros(len(self.config.attributes))
        for g in self.config.attribute_groups:
            vec[g[0]] = 1
        return vec

    def attribute_vector(self, names, base=None) -> Tensor:
        """The label vector with the attributes ``names`` ("thick,inverted", a list of names or indices)
        set: each named value replaces its group's value; the other groups come from ``base`` (a K or
        N×K 0/1 source vector, returned in its shape) or, without it, from each group's first value.
        Two values of one group are refused."""
        if isinstance(names, str):
            names = [n for n in names.split(",") if n.strip()]
        elif isinstance(names, (int, np.integer)) or (torch.is_tensor(names) and names.dim() == 0):
            names = [int(names)]
        picked = [self.attribute_index(n) for n in names]
        if not picked:
            raise ConfigError("name at least one target attribute, e.g. 'thick,inverted'; stargan's attributes: "
                              + ", ".join(self.config.attributes))
        taken: dict[tuple, int] = {}
        for i in picked:
            g = self._group_of.get(i)
            if g is not None and taken.setdefault(g, i) != i:
                a, b = (self.config.attributes[j] for j in (taken[g], i))
                values = ", ".join(self.config.attributes[j] for j in g)
                raise ConfigError(f"{a!r} and {b!r} are values of one exclusive group ({values}); name one of them")
        vec = self.default_vector() if base is None else self.check_vectors(base, None).clone()
        for i in picked:
            g = self._group_of.get(i)
            if g is not None:
                vec[..., list(g)] = 0
            vec[..., i] = 1
        return vec

    def check_vectors(self, y, n: int | None) -> Tensor:
        """``y`` as float 0/1 label vectors, K or N×K (n×K when ``n`` is given: one row is repeated),
        one value per exclusive group; one line for anything else."""
        k = len(self.config.attributes)
        y = torch.as_tensor(y).detach().float().cpu()
        if y.dim() == 1:
            y = y[None] if n is not None else y
        if y.shape[-1] != k or y.dim() > 2:
            raise ConfigError(f"target attribute vectors for stargan must be N×{k} (one 0/1 column per attribute: "
                              f"{', '.join(self.config.attributes)}), got shape {tuple(y.shape)}")
        if n is not None:
            if len(y) == 1 and n != 1:
                y = y.expand(n, k)
            if len(y) != n:
                raise ConfigError(f"got {len(y)} target attribute vectors for {n} images; give one per image or one "
                                  "for all")
        if not bool(((y == 0) | (y == 1)).all()):
            raise ConfigError("target attribute vectors must hold 0 or 1 only")
        for g in self.config.attribute_groups:
            if not bool((y[..., list(g)].sum(-1) == 1).all()):
                values = ", ".join(self.config.attributes[j] for j in g)
                raise ConfigError(f"each target vector needs exactly one of {values} (an exclusive group)")
        return y

    @staticmethod
    def _is_names(y) -> bool:
        if isinstance(y, (str, int, np.integer)) or (torch.is_tensor(y) and y.dim() == 0 and not y.is_floating_point()):
            return True
        return isinstance(y, (list, tuple)) and len(y) > 0 and all(isinstance(v, str) for v in y)

    def targets(self, y, n: int, base=None) -> Tensor:
        """n×K target vectors on the model's device from ``y``: vectors (:meth:`check_vectors`) or
        attribute names (:meth:`attribute_vector` on ``base``, a callable giving it when needed)."""
        if y is None:
            raise ConfigError("stargan needs target attributes: name them, e.g. translate(x, 'thick,inverted') or "
                              "`--domains thick,inverted`, or give N×K 0/1 vectors (attributes: "
                              f"{', '.join(self.config.attributes)})")
        if self._is_names(y):
            source = base() if callable(base) else base
            vec = self.attribute_vector(y, source)
            vec = vec.expand(n, -1) if vec.dim() == 1 else vec
            return self.check_vectors(vec, n).to(self.device)
        return self.check_vectors(y, n).to(self.device)

    def labels(self, y, n: int, *, weights: bool = False) -> Tensor | None:
        """The validator of ``y`` for every caller: None stays None; otherwise n×K 0/1 target vectors
        (names fill the other groups with each group's first value)."""
        return None if y is None else self.targets(y, n)

    # ------------------------------------------------------------------ images in and out
    to_signed, to_unit = staticmethod(GAN.to_signed), staticmethod(GAN.to_unit)   # [0, 1] outside, [−1, 1] inside

    def attribute_logits(self, x: Tensor) -> Tensor:
        """D_cls's N×K logits for images ``x`` in [0, 1]."""
        self.check_input(x)
        return self.discriminator(self.to_signed(x.to(self.device)))[1]

    @torch.no_grad()
    def read_attributes(self, x: Tensor) -> Tensor:
        """N×K 0/1 attributes of images ``x`` as D_cls reads them (the argmax of each group)."""
        return decide(self.attribute_logits(x), self.groups, self.config.cls_loss)

    # ------------------------------------------------------------------ capabilities
    def translate(self, x: Tensor, y=None) -> Tensor:
        """G(x, c) in [0, 1] for images ``x`` (N×C×H×W in [0, 1]) and targets ``y``: N×K (or K) 0/1
        vectors, or attribute names ("thick,inverted"), the other groups kept as D_cls reads ``x``."""
        self.check_input(x)
        x = x.to(self.device)
        c = self.targets(y, len(x), base=lambda: self.read_attributes(x))
        return self.to_unit(self.generator(self.to_signed(x), c))

    def cycle(self, x: Tensor, y=None, source=None) -> tuple[Tensor, Tensor]:
        """(G(x, c), G(G(x, c), c′)) in [0, 1]: the translation to ``y`` and back to ``source`` (the
        images' own attributes c′: vectors or names; None: as D_cls reads them)."""
        self.check_input(x)
        x = x.to(self.device)
        def seen() -> Tensor:
            return self.read_attributes(x)

        c = self.targets(y, len(x), base=seen)
        c_org = self.targets(source, len(x), base=seen) if source is not None else seen()
        fake = self.generator(self.to_signed(x), c)
        return self.to_unit(fake), self.to_unit(self.generator(fake, c_org))

    # ------------------------------------------------------------------ the game
    def prepare(self, data) -> None:
        if data.attributes is None:
            raise DataError(f"stargan trains on images with attributes, but {data.name or 'the data'} has none; "
                            f"{DATA_HINT}")
        check_attributes(self.config.attributes, self.config.attribute_groups, int(data.attributes.shape[-1]))

    def real(self, batch: dict) -> tuple[Tensor, Tensor]:
        """The batch's images in [−1, 1] and their attribute vectors."""
        c = batch.get("attributes")
        if c is None:
            raise DataError(f"stargan trains on images with attributes; the batch has none: {DATA_HINT}")
        if c.dim() != 2 or c.shape[1] != len(self.config.attributes):
            raise DataError(f"the batch has {tuple(c.shape)} attributes but stargan was built for "
                            f"{len(self.config.attributes)} ({', '.join(self.config.attributes)}); train a new model "
                            "on this data")
        return self.to_signed(batch["x"]), c.float()

    def d_terms(self, x: Tensor, c_org: Tensor, c_trg: Tensor) -> dict:
        """D's terms for real images ``x`` ([−1, 1]) with labels ``c_org``, fakes G(x, c_trg) made
        without gradient: ``adv`` = E[D_src(fake)] − E[D_src(x)], ``cls`` = L_cls^r on the real images,
        ``gp``, and the scores."""
        with torch.no_grad():
            fake = self.generator(x, c_trg)
        real_src, real_cls = self.discriminator(x)
        fake_src, _ = self.discriminator(fake)
        cfg = self.config
        return {"adv": discriminator_loss("wgan-gp", real_src, fake_src),
                "cls": classification_loss(real_cls, c_org, self.groups, cfg.cls_loss),
                "gp": gradient_penalty(lambda im: self.discriminator(im)[0], x, fake),
                "d_real": real_src.mean(), "d_fake": fake_src.mean(),
                "cls_acc": attribute_accuracy(real_cls.detach(), c_org, self.groups, cfg.cls_loss)}

    def g_terms(self, x: Tensor, c_org: Tensor, c_trg: Tensor) -> dict:
        """G's terms: ``adv`` = −E[D_src(G(x, c_trg))], ``cls`` = L_cls^f on the fakes with the target
        labels, ``rec`` = ‖x − G(G(x, c_trg), c_org)‖₁ (mean per pixel)."""
        cfg = self.config
        fake = self.generator(x, c_trg)
        src, cls = self.discriminator(fake)
        back = self.generator(fake, c_org)
        return {"adv": generator_loss("wgan-gp", src), "cls": classification_loss(cls, c_trg, self.groups, cfg.cls_loss),
                "rec": (x - back).abs().mean(),
                "cls_acc": attribute_accuracy(cls.detach(), c_trg, self.groups, cfg.cls_loss)}

    def discriminator_step(self, batch: dict) -> dict:
        x, c_org = self.real(batch)
        t = self.d_terms(x, c_org, shuffled_targets(c_org))
        cfg = self.config
        loss = t["adv"] + cfg.cls_weight * t["cls"] + cfg.gp_weight * t["gp"]
        logs = {k: v.detach() for k, v in t.items()}
        return {"loss": loss, "d_real": logs["d_real"], "d_fake": logs["d_fake"],
                "wasserstein": logs["d_real"] - logs["d_fake"], "gp": logs["gp"], "cls_real": logs["cls"],
                "cls_acc": logs["cls_acc"]}

    def generator_step(self, batch: dict) -> dict:
        x, c_org = self.real(batch)
        t = self.g_terms(x, c_org, shuffled_targets(c_org))
        cfg = self.config
        loss = t["adv"] + cfg.cls_weight * t["cls"] + cfg.rec_weight * t["rec"]
        return {"loss": loss, "adv": t["adv"].detach(), "cls_fake": t["cls"].detach(), "rec": t["rec"].detach(),
                "cls_acc": t["cls_acc"]}

    def players(self) -> list[Player]:
        cfg = self.config
        betas = (cfg.beta1, cfg.beta2)
        schedule = linear_decay(cfg.lr_decay) if cfg.lr_decay else None
        d_params, g_params = list(self.discriminator.parameters()), list(self.generator.parameters())
        lr_d = cfg.lr if cfg.lr_d is None else cfg.lr_d
        return [Player("discriminator", d_params, make_optimizer("adam", d_params, lr_d, betas),
                       self.discriminator_step, steps=cfg.d_steps, lr_schedule=schedule),
                Player("generator", g_params, make_optimizer("adam", g_params, cfg.lr, betas), self.generator_step,
                       lr_schedule=schedule)]

    # ------------------------------------------------------------------ preview
    @property
    def preview_rows(self) -> tuple[str, ...]:
        """The rows of 8 of :meth:`preview`: the inputs, then one row per target attribute."""
        return ("input", *(f"→ {a}" for a in self.config.attributes))

    def preview(self, batch: dict) -> Tensor:
        """8 inputs, then their translations to each attribute in turn (the other groups kept as the
        images' own attributes, or as D_cls reads them when the batch has none)."""
        x = batch["x"][:8]
        c = batch.get("attributes")
        base = c[:8].float().cpu() if c is not None else self.read_attributes(x).cpu()
        rows = [x]
        for i in range(len(self.config.attributes)):
            rows.append(self.translate(x, self.attribute_vector([i], base)))
        return torch.cat(rows, 0)
