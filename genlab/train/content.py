"""SRGAN's feature network φ for the content loss (Ledig et al. 2017):

    L_content = 1/(W_φH_φC_φ) ‖s·φ(y) − s·φ(G(x))‖²

Ledig et al.'s φ is VGG19 up to conv5_4 (after its ReLU, before the last max-pooling: "VGG54"), which
cannot be downloaded here. φ is instead, by ``feature_network``:

* ``judge``: the data's judge classifier (``genlab.metrics.judge``, LeNet-style: Conv5×5 → ReLU → pool →
  Conv5×5 → ReLU → pool) cut after its last convolution's ReLU, before the last pooling, as VGG54 is;
  trained on first use for the run's data spec and target shape (``get_judge``);
* ``inception``: the FID Inception-v3's stem (Conv 1a, 2a, 2b → max-pool → Conv 3b, 4a: 192 maps at ~1/8
  of the input side, before the second max-pooling) from the safetensors file the user supplies.

The model cannot load either (models sit below metrics), so :func:`feature_network_callbacks` contributes,
whenever an SRGAN with content=features trains (diagnostics on or off), a callback that builds φ at fit
start and hands it to ``model.use_feature_network`` (kept out of the run's weights).
"""
from __future__ import annotations

import math

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.superres import SRGAN
from .callbacks import TrainingContext, training_callbacks

__all__ = ["FeatureMap", "judge_feature_map", "inception_feature_map", "feature_network", "FeatureNetwork",
           "feature_network_callbacks", "INCEPTION_MIN_SIDE"]

INCEPTION_MIN_SIDE = 75   # the stem's valid convolutions and pooling need ≥ 75 px per side for a 4×4 map


class FeatureMap(nn.Module):
    """φ: images in [0, 1] → ``layers(prepare(images))``, a stack of convolution maps (N×C_φ×H_φ×W_φ)."""

    def __init__(self, layers: nn.Module, name: str, channels: int, in_channels: int, min_side: int = 1,
                 signed: bool = False):
        super().__init__()
        self.layers, self.name, self.channels = layers, name, channels
        self.in_channels, self.min_side, self.signed = in_channels, min_side, signed

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.in_channels:
            if x.shape[1] == 1:                      # grey images into a colour network
                x = x.expand(-1, self.in_channels, -1, -1)
            else:
                raise ValueError(f"{self.name} takes {self.in_channels}-channel images, got {x.shape[1]}")
        side = min(x.shape[-2:])
        if side < self.min_side:                     # enlarge small images so the map is not empty
            x = F.interpolate(x, scale_factor=math.ceil(self.min_side / side), mode="bilinear", align_corners=False)
        return self.layers(x * 2 - 1 if self.signed else x)

    def extra_repr(self) -> str:
        return f"{self.name}, {self.channels} maps"


def judge_feature_map(judge) -> FeatureMap:
    """The judge's body up to its last convolution's ReLU (before the last pooling)."""
    body = judge.body
    convs = [i for i, m in enumerate(body) if isinstance(m, nn.Conv2d)]
    last = convs[-1]
    cut = last + 2 if last + 1 < len(body) and isinstance(body[last + 1], nn.ReLU) else last + 1
    layers = nn.Sequential(*list(body)[:cut])
    return FeatureMap(layers, "judge conv maps", body[last].out_channels, judge.image_shape[0])


def inception_feature_map(net) -> FeatureMap:
    """The FID Inception-v3's stem: Conv 1a, 2a, 2b → max-pool 3/2 → Conv 3b, 4a (192 maps)."""
    layers = nn.Sequential(net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, nn.MaxPool2d(3, stride=2),
                           net.Conv2d_3b_1x1, net.Conv2d_4a_3x3)
    return FeatureMap(layers, "Inception-v3 stem (Conv2d_4a)", 192, 3, min_side=INCEPTION_MIN_SIDE, signed=True)


def feature_network(kind: str, spec: str, target_shape, inception_path: str = "", progress: bool = False) -> FeatureMap:
    """φ for ``feature_network`` ``kind``: the judge of ``spec`` at ``target_shape`` (trained and cached on
    first use) or the Inception-v3 stem from ``inception_path`` (or $GENLAB_INCEPTION)."""
    from ..metrics import judge as judges

    if kind == "inception":
        from ..metrics.inception import load_inception

        net = inception_feature_map(load_inception(inception_path or None))
    else:
        judge, _ = judges.get_judge(spec, tuple(target_shape), train_if_missing=True, progress=progress)
        net = judge_feature_map(judge)
    # the weights of the cached networks may be channels-last; plain layout keeps autograd simple
    return net.to(memory_format=torch.contiguous_format).eval().requires_grad_(False)


class FeatureNetwork(L.Callback):
    """At fit start: builds φ and gives it to the SRGAN (``model.use_feature_network``)."""

    def __init__(self, spec: str, target_shape, kind: str = "judge", inception_path: str = ""):
        self.spec, self.target_shape = spec, tuple(target_shape)
        self.kind, self.inception_path = kind, inception_path

    def on_fit_start(self, trainer: L.Trainer, pl_module) -> None:
        model = pl_module.model
        if model.feature_network is None:
            model.use_feature_network(feature_network(self.kind, self.spec, self.target_shape, self.inception_path))


@training_callbacks(SRGAN, always=True)
def feature_network_callbacks(model, context: TrainingContext) -> list:
    """:class:`FeatureNetwork` for an SRGAN with content=features (the loss needs it, so always)."""
    cfg = model.config
    if cfg.content != "features":
        return []
    data = context.data
    shape = tuple(data.target.shape[1:]) if data.target is not None else tuple(data.shape)
    return [FeatureNetwork(context.spec, shape, cfg.feature_network, cfg.inception_path)]
