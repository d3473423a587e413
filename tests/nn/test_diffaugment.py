"""DiffAugment: the transformations, their gradients, and how every GAN's discriminator uses them."""
import pytest
import torch

import genlab
from genlab.errors import ConfigError
from genlab.nn.diffaugment import DiffAugment, color, cutout, parse_policy, translation


def images(n=16, c=1, side=28):
    torch.manual_seed(0)
    return torch.rand(n, c, side, side) * 2 - 1


def test_translation_shifts_whole_images_and_fills_with_black():
    x = images()
    torch.manual_seed(1)
    out = translation(x)
    assert out.shape == x.shape
    for a, b in zip(x, out):          # each output is its input shifted by some (dy, dx) with |d| ≤ 4
        found = False
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                shifted = torch.full_like(a, -1.0)
                ys, yd = slice(max(0, -dy), 28 - max(0, dy)), slice(max(0, dy), 28 - max(0, -dy))
                xs, xd = slice(max(0, -dx), 28 - max(0, dx)), slice(max(0, dx), 28 - max(0, -dx))
                shifted[:, yd, xd] = a[:, ys, xs]
                found = found or torch.equal(shifted, b)
        assert found


def test_cutout_zeroes_one_square_of_about_half_the_side():
    x = images() + 5                   # no pixel is 0 before
    out = cutout(x)
    for img in out:
        rows, cols = (img[0] == 0).nonzero(as_tuple=True)
        assert len(rows) > 0
        assert rows.max() - rows.min() + 1 <= 14 and cols.max() - cols.min() + 1 <= 14
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # a rectangle


def test_color_changes_each_image_by_an_affine_map():
    x = images(c=3)
    out = color(x)
    assert out.shape == x.shape and not torch.allclose(out, x)


def test_gradients_pass_through_every_policy():
    x = images().requires_grad_(True)
    aug = DiffAugment("color,translation,cutout").train()
    aug(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_policy_parsing_and_refusal():
    assert parse_policy("cutout, translation") == ("translation", "cutout")   # applied in a fixed order
    assert parse_policy("") == ()
    with pytest.raises(ConfigError, match="unknown diff_augment policy 'flip'"):
        parse_policy("translation,flip")
    with pytest.raises(ConfigError, match="diff_augment"):
        genlab.create("dcgan", image_shape=(1, 28, 28), diff_augment="rotate")


@pytest.mark.parametrize("name", ["gan", "dcgan", "cgan", "acgan", "infogan"])
def test_every_gan_discriminator_sees_augmented_images_only_while_training(name):
    kw = {"num_classes": 10} if name in ("cgan", "acgan") else {}
    small = {"latent_dim": 8} if name == "gan" else {"latent_dim": 8, "g_width": 8, "d_width": 8}
    plain = genlab.create(name, image_shape=(1, 28, 28), diff_augment="", **small, **kw)
    model = genlab.create(name, image_shape=(1, 28, 28), diff_augment="translation,cutout", **small, **kw)
    assert plain.discriminator.policy == () and model.discriminator.policy == ("translation", "cutout")
    # no parameters and no buffers: saved weights are the same either way
    assert model.state_dict().keys() == plain.state_dict().keys()
    model.load_state_dict(plain.state_dict())
    x, y = images(8), torch.arange(8)
    yy = y if name == "cgan" else None
    model.eval(), plain.eval()
    assert torch.equal(model.critic(x, yy), plain.critic(x, yy))        # eval: D unchanged
    model.train(), plain.train()
    torch.manual_seed(0)
    a = model.critic(x, yy)
    torch.manual_seed(0)
    b = plain.critic(x, yy)
    assert not torch.allclose(a, b)                                        # training: augmented inputs
    batch = {"x": (x + 1) / 2, "y": y}
    for player in model.players():
        assert torch.isfinite(player.loss(batch)["loss"])


def test_infogan_shifts_what_d_and_q_see_by_default():
    small = {"image_shape": (1, 28, 28), "latent_dim": 8, "g_width": 8, "d_width": 8}
    model, plain = genlab.create("infogan", **small), genlab.create("infogan", diff_augment="", **small)
    assert model.discriminator.policy == ("translation",) and plain.discriminator.policy == ()
    plain.load_state_dict(model.state_dict())
    model.train(), plain.train()                 # both on batch statistics: only the shift differs
    x = images(8)
    assert not torch.allclose(model.heads(x)[1], plain.heads(x)[1])   # Q's reading too, not only D's score
    plain.load_state_dict(model.state_dict())    # the two training passes moved BatchNorm's running stats apart
    model.eval(), plain.eval()
    assert torch.equal(model.heads(x)[1], plain.heads(x)[1])
