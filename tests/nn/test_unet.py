"""genlab.nn.unet: the U-Net (Ronneberger et al. 2015) at odd and even sizes, what its skips and its
residual option do, a tiny one learning to denoise; pix2pix's PatchGAN (Isola et al. 2017) with its
receptive fields from the layer list (genlab.convmath) and from the gradient of one output pixel."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab import convmath
from genlab.errors import ConfigError
from genlab.nn import (PATCH_PRESETS, PatchDiscriminator, UNet, layers_for_patch, patch_layer_spec, patch_layers,
                       receptive_field)

pytestmark = pytest.mark.usefixtures("one_thread")


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------------------------------------- U-Net

@pytest.mark.parametrize("hw", [(28, 28), (27, 31), (32, 32), (9, 6)])
@pytest.mark.parametrize("depth, up", [(1, "transpose"), (2, "resize"), (3, "transpose"), (4, "resize")])
def test_unet_keeps_any_size(hw, depth, up):
    torch.manual_seed(0)
    net = UNet(2, 3, depth=depth, width=4, up=up)
    out = net(torch.rand(2, 2, *hw))
    assert out.shape == (2, 3, *hw)
    assert net.widths == [4 * 2 ** i for i in range(depth + 1)] and net.multiple == 2 ** depth
    h, w = hw
    left, right, top, bottom = net.padding_for(h, w)
    assert (h + top + bottom) % 2 ** depth == 0 and (w + left + right) % 2 ** depth == 0
    assert 0 <= top + bottom < 2 ** depth and abs(top - bottom) <= 1      # the least padding, split evenly


def test_padding_is_reflection_and_the_crop_matches_it():
    torch.manual_seed(0)
    net = UNet(1, 1, depth=3, width=4).eval()
    assert net.padding_for(27, 31) == (0, 1, 2, 3)                       # 27 → 32 (2 + 3), 31 → 32 (0 + 1)
    x = torch.rand(2, 1, 27, 31)
    padded = F.pad(x, (0, 1, 2, 3), mode="reflect")
    # the padded image is already a multiple of 8: the net runs it as is; cropping must undo the same offsets
    assert torch.allclose(net(x), net(padded)[..., 2:29, 0:31], atol=1e-6)
    assert not torch.allclose(net(x), net(padded)[..., 0:27, 0:31], atol=1e-4)
    assert net(torch.rand(1, 1, 3, 2)).shape == (1, 1, 3, 2)             # tinier than the pad: replicate


def test_transpose_and_resize_upsampling():
    for up, resize_mode, layer in [("transpose", "nearest", nn.ConvTranspose2d), ("resize", "nearest", nn.Upsample),
                                   ("resize", "bilinear", nn.Upsample)]:
        net = UNet(1, 1, depth=2, width=4, up=up, resize_mode=resize_mode)
        assert all(isinstance(u[0], layer) for u in net.ups)
        if layer is nn.Upsample:
            assert net.ups[0][0].mode == resize_mode and isinstance(net.ups[0][1], nn.Conv2d)
        else:
            assert net.ups[0][0].kernel_size == (2, 2) and net.ups[0][0].stride == (2, 2)
        assert net(torch.rand(2, 1, 13, 10)).shape == (2, 1, 13, 10)


def test_skip_false_is_the_same_encoder_decoder_without_concatenation():
    with_skip, without = UNet(1, 1, depth=3, width=4), UNet(1, 1, depth=3, width=4, skip=False)
    assert count(with_skip.encoder) == count(without.encoder) and count(with_skip.ups) == count(without.ups)
    # only the first convolution of each decoder level differs: it reads w more channels with the skip
    for a, b in zip(with_skip.decoder, without.decoder):
        assert a[0][0].in_channels == 2 * b[0][0].in_channels
    widths = [4, 8, 16]
    assert count(with_skip) - count(without) == sum(w * w * 9 for w in widths)


def test_skip_connections_change_the_output_with_the_same_weights():
    torch.manual_seed(0)
    net = UNet(1, 1, depth=2, width=4).eval()
    plain = UNet(1, 1, depth=2, width=4, skip=False).eval()
    state = net.state_dict()
    for i, level in enumerate(plain.decoder):                           # the upsampled half of the weights
        w = level[0][0].in_channels
        state[f"decoder.{i}.0.0.weight"] = state[f"decoder.{i}.0.0.weight"][:, :w]
    plain.load_state_dict(state)
    x = torch.rand(3, 1, 16, 16)
    assert (net(x) - plain(x)).abs().mean() > 1e-3                      # the skips carry information
    with torch.no_grad():                                               # silence the skip half: now identical
        for level in net.decoder:
            conv = level[0][0]
            conv.weight[:, conv.in_channels // 2:] = 0
    assert torch.allclose(net(x), plain(x), atol=1e-6)


def test_residual_adds_the_input():
    torch.manual_seed(0)
    base = UNet(3, 2, depth=2, width=4).eval()
    res = UNet(3, 2, depth=2, width=4, residual=True).eval()
    res.load_state_dict(base.state_dict())
    x = torch.rand(2, 3, 12, 20)
    assert torch.allclose(res(x), base(x) + x[:, :2], atol=1e-6)        # the first out_channels channels
    with pytest.raises(ConfigError, match="in_channels .* must be ≥ out_channels"):
        UNet(1, 3, residual=True)
    with pytest.raises(ConfigError, match="out_act"):
        UNet(1, 1, residual=True, out_act="sigmoid")


def test_output_activation_dropout_and_norms():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 16, 16) * 4 - 2
    assert UNet(1, 1, depth=2, width=4, out_act="sigmoid")(x).min() >= 0
    assert UNet(1, 1, depth=2, width=4, out_act="tanh")(x).abs().max() <= 1
    net = UNet(1, 1, depth=2, width=4, dropout=0.5)
    drops = [m for m in net.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 2 and all(any(d is m for m in net.decoder.modules()) for d in drops)   # decoder only
    assert not torch.allclose(net(x), net(x))                            # train mode: dropout is noise
    net.eval()
    assert torch.equal(net(x), net(x))
    inst = UNet(1, 1, depth=2, width=4, norm="instance")
    assert any(isinstance(m, nn.InstanceNorm2d) for m in inst.modules()) and inst(x).shape == x.shape
    bare = UNet(1, 1, depth=2, width=4, norm="none")
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in bare.modules())
    with pytest.raises(ConfigError, match="bottleneck"):
        UNet(1, 1, depth=3, width=2, norm="instance")(torch.rand(2, 1, 7, 8))     # 8×8 pooled 3 times: 1×1
    assert UNet(1, 1, depth=3, width=2, norm="instance")(torch.rand(2, 1, 9, 8)).shape == (2, 1, 9, 8)   # 16×8


def test_unet_refuses_bad_settings_and_inputs():
    net = UNet(3, 1, depth=2, width=4)
    with pytest.raises(ConfigError, match=r"N×3×H×W.*channel"):
        net(torch.rand(2, 1, 16, 16))
    with pytest.raises(ConfigError, match="N×3×H×W"):
        net(torch.rand(3, 16, 16))
    for kwargs, match in [({"up": "deconv"}, "up must be one of"), ({"norm": "layer"}, "norm must be one of"),
                          ({"depth": 0}, "depth"), ({"dropout": 1.0}, "dropout"), ({"out_act": "relu"}, "out_act"),
                          ({"resize_mode": "cubic"}, "resize_mode"), ({"width": True}, "width"),
                          ({"in_channels": 1.5}, "in_channels")]:
        with pytest.raises(ConfigError, match=match):
            UNet(**{"in_channels": 1, "out_channels": 1, **kwargs})


def blobs(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """n binary images of a disc and a square at random places (vectorised)."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    c = torch.rand(n, 2, generator=g) * (size - 8) + 4
    r = torch.rand(n, generator=g) * 3 + 2.5
    disc = (yy - c[:, 0, None, None]) ** 2 + (xx - c[:, 1, None, None]) ** 2 <= r[:, None, None] ** 2
    lo = (torch.rand(n, 2, generator=g) * size / 2).long()
    box = ((yy >= lo[:, :1, None]) & (yy < lo[:, :1, None] + 6) & (xx >= lo[:, 1:, None]) & (xx < lo[:, 1:, None] + 6))
    return (disc | box).float().unsqueeze(1)


def test_a_tiny_unet_learns_to_denoise():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    clean = blobs(16, 20, g)
    noisy = clean + 0.3 * torch.randn(clean.shape, generator=g)
    net = UNet(1, 1, depth=2, width=8)
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for step in range(100):
        loss = F.mse_loss(net(noisy), clean)
        first = loss.item() if step == 0 else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    test = blobs(16, 20, g)
    test_noisy = test + 0.3 * torch.randn(test.shape, generator=g)
    with torch.no_grad():
        trained, held_out = F.mse_loss(net(noisy), clean).item(), F.mse_loss(net(test_noisy), test).item()
    identity = F.mse_loss(test_noisy, test).item()                       # σ² = 0.09: returning the input
    assert trained < first / 20
    assert held_out < 0.7 * identity, (held_out, identity)               # it removes noise on unseen images


# ------------------------------------------------------------------------------------- PatchGAN

def test_patch_receptive_fields_from_the_layer_list():
    assert {patch: receptive_field(layers) for patch, layers in PATCH_PRESETS.items()} == \
        {1: 1, 16: 16, 34: 34, 70: 70, 142: 142, 286: 286}
    assert patch_layer_spec(0) == "conv1,conv1,conv1"                    # PixelGAN
    assert patch_layer_spec(3) == "conv4/s2/p1,conv4/s2/p1,conv4/s2/p1,conv4/s1/p1,conv4/s1/p1"
    # by hand, backwards from one output pixel: r ← (r − 1)·stride + 4 → 1, 4, 7, 16, 34, 70, 142, 286
    r, fields = 7, []
    for _ in range(5):
        r = (r - 1) * 2 + 4
        fields.append(r)
    assert fields == [16, 34, 70, 142, 286]
    assert layers_for_patch(70) == 3 and layers_for_patch(1) == 0
    with pytest.raises(ConfigError, match="choose one of 1, 16, 34, 70"):
        layers_for_patch(64)


def test_convmath_receptive_field():
    assert convmath.receptive_field("conv5,pool2,conv5,pool2") == 16          # LeNet: 5, 6, 14, 16
    assert convmath.receptive_field("conv3/d2,conv3/d2") == 9                 # dilation widens, padding never
    assert convmath.receptive_field("conv3/p5/s2,conv3") == 7
    assert convmath.receptive_field("conv3x5") == (3, 5)
    with pytest.raises(ConfigError, match="convT"):
        convmath.receptive_field("conv3,convT2/s2")


@pytest.mark.parametrize("layers", [0, 1, 2, 3])
def test_the_discriminator_is_built_from_its_layer_list(layers):
    d = PatchDiscriminator(4, layers=layers, width=8)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    stack = patch_layers(layers)
    assert [(c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == \
        [(l.kernel, l.stride or 1, l.padding) for l in stack]
    assert d.receptive_field == receptive_field(layers)
    assert [c.out_channels for c in convs] == [8 * min(2 ** i, 8) for i in range(len(stack) - 1)] + [1]
    norms = [m for m in d.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == len(stack) - 2                                    # not after the first nor the last
    assert sum(isinstance(m, nn.LeakyReLU) and m.negative_slope == 0.2 for m in d.modules()) == len(stack) - 1


@pytest.mark.parametrize("layers, size", [(0, 9), (1, 40), (2, 72), (3, 150), (5, 320)])
def test_receptive_field_is_the_gradient_support_of_one_output_pixel(layers, size):
    torch.manual_seed(0)
    d = PatchDiscriminator(2, layers=layers, width=2).double().eval()    # eval: BatchNorm is a fixed affine map
    x = torch.randn(1, 2, size, size, dtype=torch.float64, requires_grad=True)
    out = d(x)
    i, j = out.shape[-2] // 2, out.shape[-1] // 2
    out[0, 0, i, j].backward()
    support = x.grad.abs().sum((0, 1)) > 0
    rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
    assert rows.min() > 0 and cols.min() > 0 and rows.max() < size - 1 and cols.max() < size - 1  # not clipped
    assert rows.max() - rows.min() + 1 == receptive_field(layers)
    assert cols.max() - cols.min() + 1 == receptive_field(layers)
    assert support.sum() == receptive_field(layers) ** 2                 # the whole square, no holes


def test_patches_of_a_256_image_with_the_70_preset():
    d = PatchDiscriminator(6, layers=layers_for_patch(70), width=4).eval()
    x, y = torch.rand(2, 3, 256, 256), torch.rand(2, 3, 256, 256)
    out = d(x, y)
    assert out.shape == (2, 1, 30, 30)                                   # 900 overlapping 70×70 patches
    rows = convmath.trace(patch_layer_spec(3), 256)
    assert [r.size_out for r in rows] == [128, 64, 32, 31, 30]           # 256 → 128 → 64 → 32 → 31 → 30
    assert torch.equal(out, d(torch.cat([x, y], 1)))                     # the pair, concatenated on channels
    assert not torch.equal(out, d(x, y.flip(-1)))                        # the output half matters


def test_patch_discriminator_refuses_bad_pairs():
    d = PatchDiscriminator(2, layers=1, width=4)
    with pytest.raises(ConfigError, match=r"pair.*N×2×H×W"):
        d(torch.rand(1, 3, 32, 32), torch.rand(1, 1, 32, 32))
    with pytest.raises(ConfigError, match="aligned"):
        d(torch.rand(1, 1, 32, 32), torch.rand(1, 1, 16, 16))
    with pytest.raises(ConfigError, match="norm must be one of"):
        PatchDiscriminator(2, norm="spectral")
    assert any(isinstance(m, nn.InstanceNorm2d) for m in PatchDiscriminator(2, layers=2, norm="instance").modules())
