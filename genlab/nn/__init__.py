"""Reusable layers; no training logic."""
from .blocks import MLP, ConvDecoder, ConvEncoder, activation, conv_stack_sizes

__all__ = ["MLP", "ConvEncoder", "ConvDecoder", "activation", "conv_stack_sizes"]
