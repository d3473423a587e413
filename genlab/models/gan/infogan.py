"""InfoGAN (Chen et al. 2016): structured codes whose meaning the GAN discovers without labels.

    code   [z, onehot(c1), c2, c3]     z ~ N(0, I) (latent_dim = 16; the paper: 62),
                                       c1 ~ Cat(K = 10, p = 1/10),  c2, c3 ~ U(−1, 1)
    G      G([z, E(c1), c2, c3])       DCGenerator; E: a learned embedding of c1 (cat_embed_dim; 0: the one-hot)
    D      ψ(φ(x))                     DCDiscriminator with a minibatch-std score head
    Q      Q(c | x) = Q-head(φ(x))     softmax logits for c1, a Gaussian N(μ_j, σ_j²) for each c_j:
                                       Linear → BatchNorm → LeakyReLU → Linear on D's body (shared)

    min_{G,Q} max_D  V(D, G) − λ·L_I(G, Q)
    L_I = E_{c ~ p(c), x ~ G(z, c)}[log Q(c | x)] + H(c)        (a lower bound on I(c; G(z, c)))
    minimised:  −L_I + H(c) = λ_cat·CE(c1, Q(x)) + λ_cont·Σ_j NLL_Gauss(c_j; μ_j(x), σ_j(x))

Both players minimise the information term, as in the paper's objective and its reference code: Q
sits on D's body and is updated with D's optimiser (D: adversarial loss + λ·(−L_I) on generated
images), and G's loss is its adversarial loss + λ·(−L_I) + λ_ms·the mode-seeking term of Mao et al.
2019 (pairs of codes that share c and differ in z). Training uses no labels. σ_j = 1 unless
``learn_variance`` (the reference code's choice), so the NLL is ½(c_j − μ_j)² + const.

Beyond the paper, each measured on mnist5k in docs/gans-conditional.md: the learned embedding of c1,
the mode-seeking term, the minibatch-std channel, DiffAugment's translation on every image D and Q
see while training, z of 16 dimensions, batches of 32 and sampling from an EMA of G (decay 0.99).
Recipe: ``game.RECIPES[loss]`` (``DCGAN_RECIPE`` for the default loss: Adam 2e-4, β = (0.5, 0.999), k = 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import ConfigError
from ...nn.gan import DCDiscriminator, DCGenerator
from ...registry import register
from ..base import LabelSpace, Range
from .game import GAN, DCGANConfig, d_norm, discriminator_loss, generator_loss, info_loss, stratified_labels


@dataclass
class InfoGANConfig(DCGANConfig):
    latent_dim: Annotated[int, Range(1)] = 16   # dimensions of the incompressible noise z
    categories: Annotated[int, Range(2)] = 10   # K, the values of the categorical code c1
    continuous: Annotated[int, Range(0)] = 2   # how many continuous codes c2, c3, … ~ U(−1, 1)
    cat_weight: Annotated[float, Range(0)] = 1.0   # λ_cat, the weight of c1's cross-entropy (the paper: 1)
    cont_weight: Annotated[float, Range(0)] = 1.0   # λ_cont, the weight of the continuous codes' Gaussian NLL
    learn_variance: bool = False            # Q predicts σ_j too; False: σ_j = 1
    cat_embed_dim: Annotated[int, Range(0)] = 64   # size of G's learned embedding of c1 (0: the one-hot enters G)
    q_hidden: Annotated[int, Range(1)] = 128   # width of the Q head's hidden layer
    minibatch_std: bool = True              # D's score head also sees the batch's feature spread
    diversity_weight: Annotated[float, Range(0)] = 0.03   # λ_ms, the weight of the mode-seeking term in G's loss; 0: off
    diff_augment: str = "translation"       # DiffAugment policy on every image D and Q see while training
    ema: bool = True                        # sample from an exponential moving average of G's weights
    ema_decay: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.99   # per G step: an average over the last ~100 steps


@register("infogan", InfoGANConfig, "InfoGAN (Chen et al.): unsupervised categorical + continuous codes, "
          "a Q head on D maximises their mutual information with G's images")
class InfoGAN(GAN):
    default_epochs = 30
    default_batch_size = 32                 # 125 steps an epoch on 4,000 images (docs/gans-conditional.md)
    # run folders of genlab 0.1 named G's embedding of c1 cat_embed
    renamed_weights = {"generator.cat_embed.": "generator.embed.", "generator_ema.cat_embed.": "generator_ema.embed."}

    def __init__(self, config: InfoGANConfig):
        if config.categories < 2:
            raise ConfigError(f"categories must be at least 2, got {config.categories}")
        if config.continuous < 0:
            raise ConfigError(f"continuous must be non-negative, got {config.continuous}")
        if config.cat_weight < 0 or config.cont_weight < 0:
            raise ConfigError(f"cat_weight and cont_weight must be non-negative, got {config.cat_weight}, "
                              f"{config.cont_weight}")
        if config.cat_embed_dim < 0:
            raise ConfigError(f"cat_embed_dim must be non-negative, got {config.cat_embed_dim}")
        k, m = config.categories, config.continuous
        super().__init__(
            config,
            generator=DCGenerator(config.latent_dim, config.image_shape, config.g_width,
                                  classes=k, embed_dim=config.cat_embed_dim, codes=m),
            # Q lives in D: it shares D's body, is optimised by D's player and gets its spectral norm
            discriminator=DCDiscriminator(config.image_shape, config.d_width, d_norm(config),
                                          q_outputs=k + 2 * m, q_hidden=config.q_hidden,
                                          minibatch_std=config.minibatch_std, spectral_norm=config.spectral_norm,
                                          augment=config.diff_augment))

    @property
    def label_space(self) -> LabelSpace:
        """y is the categorical code c1: what ``sample(n, y)`` and ``genlab sample --label`` pick."""
        return LabelSpace("code", self.config.categories, "categorical code c1")

    # ----------------------------------------------------------------------- codes
    @property
    def code_dim(self) -> int:
        """Width of the generator's whole input [z, onehot(c1), c2…]."""
        return self.config.latent_dim + self.config.categories + self.config.continuous

    def codes(self, n: int, y=None, cont: Tensor | None = None, generator: torch.Generator | None = None
              ) -> tuple[Tensor, Tensor]:
        """c1 as N×K weights (one-hot of ``y``, or of uniform draws) and the continuous codes N×M."""
        k, m = self.config.categories, self.config.continuous
        if y is None:
            y = torch.randint(k, (n,), device=self.device)
        y = self.labels(y, n, weights=True)
        weights = y if y.is_floating_point() else F.one_hot(y, k).float()
        if cont is None:
            cont = (torch.rand(n, m, generator=generator).to(self.device) if generator is not None
                    else torch.rand(n, m, device=self.device)) * 2 - 1
        cont = torch.as_tensor(cont, dtype=torch.float32, device=self.device).reshape(n, m)
        return weights, cont

    def noise(self, n: int, y=None) -> tuple[Tensor, Tensor]:
        """The whole generator input [z, onehot(c1), c2…] and c1 (indices)."""
        weights, cont = self.codes(n, y)
        z = torch.randn(n, self.config.latent_dim, device=self.device)
        return torch.cat([z, weights, cont], 1), weights.argmax(1)

    def split(self, code: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """[z, c1 weights, continuous] of a whole generator input."""
        d, k = self.config.latent_dim, self.config.categories
        return code[:, :d], code[:, d:d + k], code[:, d + k:]

    def generate(self, z: Tensor, y=None, net: nn.Module | None = None) -> Tensor:
        """G of whole codes (``noise``'s first output); y is already inside the code."""
        noise, weights, cont = self.split(z)
        return (net or self.generator)(noise, weights, cont)

    # ----------------------------------------------------------------------- D and Q
    def heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """D's logit (N), Q's categorical logits (N×K), continuous means and log-variances (N×M)."""
        d, k, m = self.discriminator, self.config.categories, self.config.continuous
        h = d.features(x)
        q = d.q(h.flatten(1))
        if not self.config.learn_variance:
            # σ = 1 (as the paper's reference code for MNIST): the reward for reading c_j stays
            # bounded, where a learned σ → 0 pays G without limit for ever more legible codes
            return d.score(h), q[:, :k], q[:, k:k + m], torch.zeros_like(q[:, k + m:])
        # log σ² bounded: an unbounded variance lets the NLL run to −∞ on codes G makes easy to read
        return d.score(h), q[:, :k], q[:, k:k + m], q[:, k + m:].clamp(-6, 4)

    def q_loss(self, images: Tensor, code: Tensor) -> dict:
        """The information term on generated images (in [−1, 1]) for their whole codes."""
        _, cat_logits, mu, logvar = self.heads(images)
        return self.information(cat_logits, mu, logvar, code)

    def information(self, cat_logits: Tensor, mu: Tensor, logvar: Tensor, code: Tensor) -> dict:
        _, weights, cont = self.split(code)
        cat = weights.argmax(1)
        out = info_loss(cat_logits, mu, logvar, cat, cont, self.config.cat_weight, self.config.cont_weight)
        out["q_acc"] = (cat_logits.argmax(1) == cat).float().mean()
        return out

    @torch.no_grad()
    def infer_codes(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Q's reading of images in [0, 1]: the categorical code (argmax) and the continuous means."""
        _, cat_logits, mu, _ = self.heads(self.to_signed(x.to(self.device)))
        return cat_logits.argmax(1), mu

    # ----------------------------------------------------------------------- the game
    def d_loss(self, x: Tensor, y, fake: Tensor, code: Tensor, c) -> dict:
        cfg = self.config
        real_out = self.critic(x)
        fake_out, cat_logits, mu, logvar = self.heads(fake)
        adv = discriminator_loss(cfg.loss, real_out, fake_out, cfg.label_smoothing, cfg.ls_a, cfg.ls_b)
        info = self.information(cat_logits, mu, logvar, code)
        return {"loss": adv + info["info"], "adv": adv.detach(), **self.scores(real_out, fake_out),
                **{k: v.detach() for k, v in info.items() if k != "info"}}

    def generator_noise(self, n: int, y=None) -> tuple[Tensor, Tensor]:
        if not (self.config.diversity_weight > 0 and n >= 2):
            return self.noise(n)
        d = self.config.latent_dim
        code, cat = self.noise(n // 2)       # the same codes c twice, each copy with its own noise z
        code = torch.cat([code, torch.cat([torch.randn_like(code[:, :d]), code[:, d:]], 1)])
        return code, cat.repeat(2)

    def g_loss(self, fake: Tensor, code: Tensor, c) -> dict:
        cfg = self.config
        fake_out, cat_logits, mu, logvar = self.heads(fake)
        adv = generator_loss(cfg.loss, fake_out, cfg.ls_c)
        info = self.information(cat_logits, mu, logvar, code)
        out = {"loss": adv + info["info"], "adv": adv.detach(), "info_ce": info["info_ce"].detach(),
               "q_acc": info["q_acc"]}
        return self.add_mode_seeking(out, fake, code[:, :cfg.latent_dim], cfg.diversity_weight)

    # ----------------------------------------------------------------------- capabilities
    @torch.no_grad()
    def sample(self, n: int, y=None, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images with categorical code ``y`` (an int, n values, or n×K weights); without ``y``
        every value equally often, in order (stratified draws from the uniform prior of c1)."""
        y = stratified_labels(n, self.config.categories) if y is None else y
        weights, cont = self.codes(n, y, generator=generator)
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device) * temperature
        return self.to_unit(self.generate(torch.cat([z, weights, cont], 1), net=self.sampler()))

    def decode(self, z: Tensor, y=None) -> Tensor:
        """Images of whole codes [z, c1 weights, c2…] (N×``code_dim``, ``y`` None), or of noise z
        (N×latent_dim) with the categorical code ``y`` and the continuous codes at 0."""
        z = z.to(self.device)
        if y is None and z.shape[1] == self.code_dim:
            return self.to_unit(self.generate(z, net=self.sampler()))
        if z.shape[1] != self.config.latent_dim:
            raise ConfigError(f"infogan decodes a {self.code_dim}-D code [z, onehot(c1), c2…] or a "
                              f"{self.config.latent_dim}-D noise z with its categorical code y; "
                              f"got {z.shape[1]} columns")
        return self.decode_codes(z, self.require_labels(y, len(z), weights=True))

    def decode_codes(self, z: Tensor, y, cont: Tensor | None = None) -> Tensor:
        """Images of noise z with categorical code ``y`` and continuous codes ``cont`` (default 0)."""
        if cont is None:
            cont = torch.zeros(len(z), self.config.continuous, device=self.device)
        weights, cont = self.codes(len(z), y, cont)
        return self.to_unit(self.generate(torch.cat([z.to(self.device), weights, cont], 1), net=self.sampler()))

    @torch.no_grad()
    def traverse_codes(self, n_noise: int = 8, steps: int = 10, span: float = 2.0, seed: int = 0) -> dict:
        """The paper's Figure 2 as tensors of rows × columns × C×H×W (images in [0, 1]):

        ``categorical``: row k = c1 = k, columns = ``n_noise`` draws of z (the same in every row),
        continuous codes 0. ``continuous_j`` (j = 1…M): row k = c1 = k, columns = c_j from −span to
        span (beyond the training range ±1, as in the paper) with one z and the other codes 0.
        """
        if n_noise < 1 or steps < 2:
            raise ConfigError(f"traverse_codes needs n_noise ≥ 1 and steps ≥ 2, got {n_noise} and {steps}")
        k, m, d = self.config.categories, self.config.continuous, self.config.latent_dim
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n_noise, d, generator=g).to(self.device)
        rows = torch.arange(k, device=self.device)
        out = {"categorical": self.decode_codes(z.repeat(k, 1), rows.repeat_interleave(n_noise))
               .view(k, n_noise, *self.image_shape)}
        values = torch.linspace(-span, span, steps, device=self.device)
        for j in range(m):
            cont = torch.zeros(k * steps, m, device=self.device)
            cont[:, j] = values.repeat(k)
            images = self.decode_codes(z[:1].expand(k * steps, d), rows.repeat_interleave(steps), cont)
            out[f"continuous_{j + 1}"] = images.view(k, steps, *self.image_shape)
        return out


__all__ = ["InfoGAN", "InfoGANConfig"]
