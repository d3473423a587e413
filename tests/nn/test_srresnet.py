"""genlab.nn.srresnet: SRGAN's networks (Ledig et al. 2017). SRResNet's sizes for every power-of-two scale
at odd and even sides, its PixelShuffle stages (Shi et al. 2016), its bicubic residual option, a tiny one
learning ×2 super-resolution better than nearest-neighbour; the discriminator's widths, strides and logits
on small images."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import ConfigError
from genlab.nn.srresnet import ResidualBlock, SRDiscriminator, SRResNet

pytestmark = pytest.mark.usefixtures("one_thread")


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------------------- SRResNet

@pytest.mark.parametrize("hw", [(7, 7), (14, 14), (9, 13)])
@pytest.mark.parametrize("scale", [1, 2, 4, 8])
def test_srresnet_output_size(hw, scale):
    torch.manual_seed(0)
    net = SRResNet(3, 2, scale, blocks=1, width=4)
    h, w = hw
    assert net(torch.rand(2, 3, h, w)).shape == (2, 2, scale * h, scale * w)
    assert net.scale == scale and net.stages == int(math.log2(scale))


@pytest.mark.parametrize("scale", [1, 2, 4, 8])
def test_one_pixel_shuffle_per_doubling(scale):
    net = SRResNet(1, 1, scale, blocks=2, width=4)
    shuffles = [m for m in net.modules() if isinstance(m, nn.PixelShuffle)]
    assert len(shuffles) == net.stages == int(math.log2(scale))
    assert all(m.upscale_factor == 2 for m in shuffles)
    for stage in net.upsample:        # Conv(w → 4w) feeds the shuffle, which leaves w channels for the PReLU
        conv, shuffle, act = stage
        assert conv.out_channels == 4 * 4 and isinstance(shuffle, nn.PixelShuffle) and isinstance(act, nn.PReLU)


def test_srresnet_layers_follow_the_paper():
    net = SRResNet(3, 3, 4, blocks=3, width=8)
    assert net.head[0].kernel_size == (9, 9) and isinstance(net.head[1], nn.PReLU)
    assert net.tail.kernel_size == (9, 9) and net.tail.out_channels == 3
    assert len(net.body) == 3 and all(isinstance(b, ResidualBlock) for b in net.body)
    kinds = [type(m) for m in net.body[0].body]
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.PReLU, nn.Conv2d, nn.BatchNorm2d]
    # 1 head PReLU + 1 per block + 1 per upsampling stage
    assert sum(isinstance(m, nn.PReLU) for m in net.modules()) == 1 + 3 + 2
    assert [type(m) for m in net.fuse] == [nn.Conv2d, nn.BatchNorm2d]


def test_residual_block_adds_its_input():
    block = ResidualBlock(4)
    for m in block.body:
        if isinstance(m, nn.Conv2d):
            nn.init.zeros_(m.weight)
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(block(x), x)                        # zero branch: identity
    nn.init.normal_(block.body[0].weight)
    nn.init.normal_(block.body[3].weight)
    assert not torch.allclose(block(x), x)


def test_residual_blocks_start_as_the_identity():
    torch.manual_seed(0)
    net = SRResNet(1, 1, 2, blocks=3, width=4)
    u = torch.randn(2, 4, 5, 5)
    assert torch.allclose(net.body(u), u)
    assert all((block.body[-1].weight == 0).all() for block in net.body)
    assert not (net.fuse[1].weight == 0).any()            # the fuse convolution is live: the trunk is not zero


def test_long_skip_carries_the_head_features():
    """With the fuse convolution's BN silenced (scale 0, shift 0) the residual blocks add nothing, and the
    upsampler must still see the head's features: the long skip connects head and tail."""
    torch.manual_seed(0)
    net = SRResNet(1, 1, 2, blocks=2, width=4).eval()
    x = torch.rand(2, 1, 6, 6)
    with torch.no_grad():
        for block in net.body:
            nn.init.normal_(block.body[-1].weight)        # make the blocks matter
        before = net(x)
        net.fuse[1].weight.zero_()
        assert torch.allclose(net(x), net.tail(net.upsample(net.head(x))), atol=1e-6)
        assert not torch.allclose(before, net(x), atol=1e-4)     # the blocks and fuse did contribute before


@pytest.mark.parametrize("scale", [3, 0, -2, 6, 2.0, True, "2"])
def test_bad_scale(scale):
    with pytest.raises(ConfigError, match="scale must be a power of two") as err:
        SRResNet(1, 1, scale)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, name", [({"width": 0}, "width"), ({"width": 2.5}, "width"),
                                          ({"blocks": -1}, "blocks"), ({"in_channels": 0}, "in_channels"),
                                          ({"out_channels": 0}, "out_channels")])
def test_bad_sizes(kwargs, name):
    args = {"in_channels": 1, "out_channels": 1, "scale": 2} | kwargs
    with pytest.raises(ConfigError, match=f"SRResNet: {name} must be a whole number"):
        SRResNet(**args)


def test_wrong_input_channels():
    with pytest.raises(ConfigError, match="N×3×H×W"):
        SRResNet(3, 3, 2, blocks=1, width=4)(torch.rand(1, 1, 8, 8))


@pytest.mark.parametrize("scale", [1, 2, 4])
def test_residual_bicubic_is_bicubic_when_the_network_is_silent(scale):
    torch.manual_seed(0)
    net = SRResNet(3, 2, scale, blocks=2, width=4, residual_bicubic=True)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
                if m.bias is not None:
                    m.bias.zero_()
    x = torch.rand(2, 3, 5, 7)
    expected = F.interpolate(x[:, :2], scale_factor=scale, mode="bicubic", align_corners=False) if scale > 1 \
        else x[:, :2]
    assert torch.allclose(net(x), expected, atol=1e-6)
    # the same silent network without the option outputs zeros: the bicubic term is the option's doing
    plain = SRResNet(3, 2, scale, blocks=2, width=4)
    plain.load_state_dict(net.state_dict())
    assert plain(x).abs().max() == 0


def test_residual_bicubic_needs_enough_input_channels():
    with pytest.raises(ConfigError, match="in_channels \\(1\\) must be ≥ out_channels \\(3\\)"):
        SRResNet(1, 3, 2, residual_bicubic=True)


def test_tiny_srresnet_beats_nearest_neighbour():
    """×2 super-resolution of smooth images (Gaussian-blurred noise in [−1, 1], low resolution by 2×2
    averaging): 150 Adam steps must bring the held-out MSE well below nearest-neighbour upsampling's."""
    torch.manual_seed(0)

    def smooth(n):
        kernel = torch.exp(-torch.arange(-4, 5.0) ** 2 / (2 * 1.5 ** 2))
        kernel = (kernel[:, None] * kernel[None, :]) / kernel.sum() ** 2
        z = F.conv2d(F.pad(torch.randn(n, 1, 16, 16), (4, 4, 4, 4), mode="circular"), kernel[None, None])
        lo, hi = z.amin((2, 3), keepdim=True), z.amax((2, 3), keepdim=True)
        return 2 * (z - lo) / (hi - lo) - 1                  # each image spans [−1, 1]

    train_hr, test_hr = smooth(32), smooth(64)
    train_lr, test_lr = F.avg_pool2d(train_hr, 2), F.avg_pool2d(test_hr, 2)
    net = SRResNet(1, 1, 2, blocks=2, width=8)
    with torch.no_grad():
        untrained = F.mse_loss(net.eval()(test_lr), test_hr).item()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(150):
        loss = F.mse_loss(net(train_lr), train_hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        learned = F.mse_loss(net(test_lr), test_hr).item()
    nearest = F.mse_loss(F.interpolate(test_lr, scale_factor=2, mode="nearest"), test_hr).item()
    assert untrained > nearest                               # the win is learned, not built in
    assert learned < 0.8 * nearest, (learned, nearest)      # measured: 0.57–0.63× over three seeds


# ------------------------------------------------------------------------------------ discriminator

@pytest.mark.parametrize("hw", [(8, 8), (28, 28), (32, 32), (9, 13)])
def test_discriminator_one_logit_per_image(hw):
    torch.manual_seed(0)
    d = SRDiscriminator(3, width=4, dense=16)
    out = d(torch.rand(2, 3, *hw))
    assert out.shape == (2,)
    d.eval()
    assert d(torch.rand(1, 3, *hw)).shape == (1,)


def test_discriminator_layers_follow_the_paper():
    d = SRDiscriminator(3)                                   # the paper's sizes
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert all(c.kernel_size == (3, 3) for c in convs)
    bns = [m for m in d.features if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 7 and not isinstance(d.features[1], nn.BatchNorm2d)    # no BN after the first conv
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, nn.LeakyReLU))
    linears = [m for m in d.classifier if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 1024), (1024, 1)]
    # DCGAN initialisation: weights N(0, 0.02)
    assert abs(convs[-1].weight.std().item() - 0.02) < 0.002 and abs(linears[0].weight.std().item() - 0.02) < 0.002


def test_discriminator_halves_the_side_per_level():
    d = SRDiscriminator(1, width=2, blocks=3, dense=8)
    assert d.features(torch.rand(2, 1, 28, 28)).shape == (2, 8, 4, 4)       # 28 → 14 → 7 → 4
    assert d.features(torch.rand(2, 1, 8, 8)).shape == (2, 8, 1, 1)


def test_discriminator_parameters_grow_with_width_and_blocks():
    sizes = [count(SRDiscriminator(1, width=w, dense=32)) for w in (2, 4, 8)]
    assert sizes[0] < sizes[1] < sizes[2]
    assert count(SRDiscriminator(1, width=4, blocks=2, dense=32)) < count(SRDiscriminator(1, width=4, blocks=3,
                                                                                          dense=32))


def test_discriminator_bad_sizes():
    for kwargs, name in [({"width": 0}, "width"), ({"blocks": 0}, "blocks"), ({"dense": 0}, "dense"),
                         ({"in_channels": 0}, "in_channels"), ({"width": True}, "width")]:
        with pytest.raises(ConfigError, match=f"SRDiscriminator: {name} must be a whole number"):
            SRDiscriminator(**({"in_channels": 1} | kwargs))


def test_discriminator_learns_to_separate():
    """The logistic loss separates smooth images from noise in 100 Adam steps, and the trained network (eval
    mode, BN running statistics) tells new smooth images from new noise: the logits are trainable."""
    torch.manual_seed(0)

    def batch():
        real = F.avg_pool2d(torch.rand(16, 1, 16, 16), 3, stride=1, padding=1)
        return torch.cat([real, torch.rand(16, 1, 16, 16)]), torch.cat([torch.ones(16), torch.zeros(16)])

    d = SRDiscriminator(1, width=4, blocks=2, dense=16)
    x, y = batch()
    opt = torch.optim.Adam(d.parameters(), lr=2e-3)
    losses = []
    for _ in range(100):
        loss = F.binary_cross_entropy_with_logits(d(x), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < 0.25 * losses[0]                   # from log 2 ≈ 0.69 (measured: 0.04–0.06)
    x, y = batch()
    with torch.no_grad():
        accuracy = ((d.eval()(x) > 0).float() == y).float().mean().item()
    assert accuracy >= 0.9
