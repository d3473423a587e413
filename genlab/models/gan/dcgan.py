"""DCGAN (Radford et al. 2016): the GAN game with convolutional networks.

    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))],   z ~ N(0, I) of latent_dim = 64
    (G minimises the non-saturating −log D(G(z)); any loss of ``game.LOSSES`` with ``loss=``)

    G   z → Linear, BN, ReLU → 128×7×7 → ConvT 4×4/2, BN, ReLU → 64×14×14 → ConvT 4×4/2, Tanh → 1×28×28
    D   x → Conv 4×4/2, LeakyReLU → 64×14×14 → Conv 4×4/2, BN, LeakyReLU → 128×7×7 → Conv 7×7 → logit

(shown for 28×28 and width 64; 32×32 grows from 4×4 in 3 doublings, 64×64 in 4: ``nn.gan.grid_plan``).
The paper's guidelines: no pooling (strided convolutions in D, transposed ones in G); BatchNorm in
both, not on G's output nor D's input layer; no fully connected hidden layers; ReLU in G with a Tanh
output, LeakyReLU(0.2) in D; weights from N(0, 0.02).

Recipe: the loss's, ``game.RECIPES[loss]``; for the default loss ``DCGAN_RECIPE`` (the paper's
Adam 2e-4, β1 = 0.5, β2 = 0.999, k = 1). Config keys: ``game.DCGANConfig``.
"""
from __future__ import annotations

from ...nn.gan import DCDiscriminator, DCGenerator
from ...registry import register
from .game import GAN, DCGANConfig, d_norm


@register("dcgan", DCGANConfig,
          "DCGAN (Radford et al.): transposed-conv G with BatchNorm, strided-conv D, Adam 2e-4 β1 0.5")
class DCGAN(GAN):
    def __init__(self, config: DCGANConfig):
        super().__init__(
            config,
            generator=DCGenerator(config.latent_dim, config.image_shape, config.g_width),
            discriminator=DCDiscriminator(config.image_shape, config.d_width, d_norm(config),
                                          spectral_norm=config.spectral_norm, augment=config.diff_augment))


__all__ = ["DCGAN", "DCGANConfig"]
