"""The GAN networks of genlab.nn.gan: shapes at 28/32/64 px, the optional heads, DiffAugment applied
inside D in training mode only, and GAN models composed without hooks or modules attached later."""
import pytest
import torch
from torch import nn

import genlab
from genlab.errors import ConfigError
from genlab.nn.gan import (ClassEmbedding, DCDiscriminator, DCGenerator, MinibatchStdHead, MLPDiscriminator,
                           MLPGenerator, QHead, grid_plan)
from genlab.registry import entries

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("shape, plan", [((1, 28, 28), (7, 2)), ((3, 32, 32), (4, 3)), ((3, 64, 64), (4, 4))])
def test_dcgan_networks_at_28_32_and_64_pixels(shape, plan):
    torch.manual_seed(0)
    assert grid_plan(shape[1]) == plan
    g, d = DCGenerator(16, shape, width=8), DCDiscriminator(shape, width=8)
    images = g(torch.randn(5, 16))
    assert images.shape == (5, *shape) and images.abs().max() <= 1          # Tanh output
    assert d.features(images).shape == (5, 8 * 2 ** (plan[1] - 1), plan[0], plan[0])
    assert d(images).shape == (5,)
    assert d.feature_dim == 8 * 2 ** (plan[1] - 1) * plan[0] ** 2


def test_grid_plan_refuses_sides_it_cannot_grow():
    for side in (30, 36, 7):                       # 15·2, 9·4, and 7 without a doubling
        with pytest.raises(ConfigError, match="--image-size"):
            grid_plan(side)


def test_mlp_networks():
    g, d = MLPGenerator(8, (16, 32), (1, 28, 28)), MLPDiscriminator((1, 28, 28), (32, 16), dropout=0.3)
    assert g(torch.randn(4, 8)).shape == (4, 1, 28, 28)
    assert d(torch.rand(4, 1, 28, 28)).shape == (4,)


def test_heads_and_conditioning():
    torch.manual_seed(0)
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    y = torch.arange(6) % 3
    q = DCDiscriminator((1, 28, 28), width=8, q_outputs=14, q_hidden=32)
    h = q.features(x)
    assert isinstance(q.q, QHead) and q.q(h.flatten(1)).shape == (6, 14)
    ac = DCDiscriminator((1, 28, 28), width=8, classifier=3)
    assert ac.classifier(ac.features(x).flatten(1)).shape == (6, 3)
    std = DCDiscriminator((1, 28, 28), width=8, minibatch_std=True).eval()
    assert isinstance(std.head, MinibatchStdHead) and std.head.conv.in_channels == 16 + 1
    assert std(x).shape == (6,)
    # its score of the first image depends on the rest of the batch (the batch's spread)
    assert not torch.allclose(std(x)[0], std(x[:1].expand(6, -1, -1, -1))[0])
    for kw in ({"projection": 3}, {"label_channels": (3, 4)}):
        d = DCDiscriminator((1, 28, 28), width=8, **kw).eval()
        assert isinstance(d.embed, ClassEmbedding) and d(x, y).shape == (6,)
        assert not torch.allclose(d(x, y), d(x, (y + 1) % 3))                 # the class changes the score
        with pytest.raises(ConfigError, match="pass y"):
            d(x)
    g = DCGenerator(8, (1, 28, 28), width=8, classes=3, embed_dim=5, codes=2)
    assert g.project[0].in_features == 8 + 5 + 2
    assert g(torch.randn(6, 8), y, torch.zeros(6, 2)).shape == (6, 1, 28, 28)
    one_hot = DCGenerator(8, (1, 28, 28), width=8, classes=3)                 # embed_dim 0: the one-hot enters G
    assert one_hot.embed is None and one_hot.project[0].in_features == 8 + 3


def test_spectral_norm_reaches_every_layer_of_d():
    d = DCDiscriminator((1, 28, 28), width=8, classifier=3, q_outputs=4, minibatch_std=True, spectral_norm=True)
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 2 + 1 + 1 + 2                  # body, head, classifier, Q's two layers
    assert all(hasattr(m, "parametrizations") for m in layers)


@pytest.mark.parametrize("make", [
    lambda policy: DCDiscriminator((1, 28, 28), width=8, norm="none", augment=policy),
    lambda policy: MLPDiscriminator((1, 28, 28), (16,), augment=policy),
])
def test_diff_augment_is_applied_inside_d_in_training_mode_only(make):
    torch.manual_seed(0)
    plain, shifted = make(""), make("translation,cutout")
    shifted.load_state_dict(plain.state_dict())          # no parameters or buffers of its own
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    plain.eval(), shifted.eval()
    assert torch.equal(plain(x), shifted(x))
    plain.train(), shifted.train()
    torch.manual_seed(1)
    a = shifted(x)
    torch.manual_seed(1)
    b = shifted(x)
    assert torch.equal(a, b) and not torch.allclose(a, plain(x))            # random, seeded, and not the identity
    assert "augment=translation,cutout" in repr(shifted) and "augment" not in repr(plain)
    with pytest.raises(ConfigError, match="unknown diff_augment policy"):
        make("rotate")


GANS = [e.name for e in entries() if issubclass(e.model_class, genlab.models.gan.GAN)]


def test_every_gan_is_registered_here():
    assert {"gan", "dcgan", "cgan", "acgan", "infogan"} <= set(GANS)


@pytest.mark.parametrize("name", GANS)
def test_gans_are_composed_without_hooks_and_print_every_part(name):
    kw = {"num_classes": 10, "ema": True, "diff_augment": "translation", "spectral_norm": True}
    model = genlab.create(name, image_shape=(1, 28, 28), **kw)
    for sub_name, sub in model.named_modules():
        assert not (sub._forward_pre_hooks or sub._forward_hooks), sub_name
    text = repr(model)
    for sub_name, sub in model.named_modules():
        if sub_name.count(".") == 1:                          # every part of G and D, by the name it prints
            assert f"({sub_name.split('.')[1]}): {type(sub).__name__}" in text, sub_name
    assert "(generator_ema)" in text and "augment=translation" in text
    assert set(model.state_dict()) == set(genlab.create(name, image_shape=(1, 28, 28), **kw).state_dict())
