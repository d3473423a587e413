"""A layer table like Keras's ``model.summary()``, via torchinfo."""
from __future__ import annotations

import torch
import torchinfo


class _Path(torch.nn.Module):
    """Wraps the capability that shows the whole network: x → reconstruction, or z → sample."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.reconstruct(x)


def summary(model, depth: int = 8) -> str:
    c, h, w = model.image_shape
    stats = torchinfo.summary(_Path(model), input_size=(1, c, h, w), depth=depth, verbose=0,
                              col_names=("output_size", "num_params"), row_settings=("var_names",))
    return f"{model.registry_name}: input {c}×{h}×{w}\n{stats}"
