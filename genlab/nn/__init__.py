"""Reusable layers; no training logic."""
from .blocks import MLP, ConvDecoder, ConvEncoder, activation, conv_stack_sizes, init_linear

__all__ = ["MLP", "ConvEncoder", "ConvDecoder", "activation", "conv_stack_sizes", "init_linear"]
from .vit import (PositionEmbedding, Transformer, gather_tokens, patch_grid, patchify, random_masking,  # noqa: E402
                  sincos_2d, unpatchify)

__all__ += ["PositionEmbedding", "Transformer", "gather_tokens", "patch_grid", "patchify", "random_masking",
            "sincos_2d", "unpatchify"]
from .quantize import Quantized, VectorQuantizer, perplexity  # noqa: E402

__all__ += ["Quantized", "VectorQuantizer", "perplexity"]
from .diffaugment import DiffAugment  # noqa: E402
from .gan import (ClassEmbedding, DCDiscriminator, DCGenerator, MinibatchStdHead, MLPDiscriminator,  # noqa: E402
                  MLPGenerator, QHead)

__all__ += ["DiffAugment", "ClassEmbedding", "DCDiscriminator", "DCGenerator", "MinibatchStdHead", "MLPDiscriminator",
            "MLPGenerator", "QHead"]
from .blocks import GridDecoder, GridEncoder, down_convs, up_convs  # noqa: E402
from .vit import MAEDecoder, MAEEncoder  # noqa: E402

__all__ += ["GridEncoder", "GridDecoder", "down_convs", "up_convs", "MAEEncoder", "MAEDecoder"]
from .unet import (PATCH_PRESETS, PatchDiscriminator, UNet, layers_for_patch, patch_layer_spec,  # noqa: E402
                   patch_layers, receptive_field)

__all__ += ["UNet", "PatchDiscriminator", "PATCH_PRESETS", "layers_for_patch", "patch_layer_spec", "patch_layers",
            "receptive_field"]

from .srresnet import ResidualBlock, SRDiscriminator, SRResNet  # noqa: E402

__all__ += ["SRResNet", "SRDiscriminator", "ResidualBlock"]

from .made import MaskedLinear, made_degrees, made_masks, order_positions  # noqa: E402

__all__ += ["MaskedLinear", "made_degrees", "made_masks", "order_positions"]

from .masked import GatedPixelCNNLayer, MaskedConv2d, PixelCNNBlock, mask_picture  # noqa: E402

__all__ += ["MaskedConv2d", "PixelCNNBlock", "GatedPixelCNNLayer", "mask_picture"]
