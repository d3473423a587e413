"""CycleGAN's networks (genlab.nn.translation): the ResNet generator, its blocks, and the image pool."""
import pytest
import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.nn.translation import ImagePool, ResnetBlock, ResnetGenerator, max_downsamplings


@pytest.mark.parametrize("shape", [(28, 28), (32, 32), (13, 17), (8, 8), (6, 9)])
def test_generator_keeps_the_input_size_and_outputs_tanh_range(shape):
    torch.manual_seed(0)
    g = ResnetGenerator(3, 3, width=4, blocks=1, downsamplings=2)
    x = torch.rand(2, 3, *shape) * 2 - 1
    with torch.no_grad():
        out = g(x)
    assert out.shape == x.shape
    assert float(out.min()) >= -1 and float(out.max()) <= 1


def test_generator_layers_follow_c7s1_dk_rk_uk():
    g = ResnetGenerator(1, 1, width=16, blocks=3, downsamplings=2)
    shapes = {}
    for name in ("stem", "down", "blocks", "up", "head"):
        getattr(g, name).register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:])))
    g(torch.rand(1, 1, 28, 28))
    assert shapes == {"stem": (16, 28, 28), "down": (64, 7, 7), "blocks": (64, 7, 7), "up": (16, 28, 28),
                      "head": (1, 28, 28)}
    assert len(g.blocks) == 3 and g.widths == [16, 32, 64]
    kinds = {type(m) for m in g.modules()}
    assert nn.ReflectionPad2d in kinds and nn.InstanceNorm2d in kinds and nn.BatchNorm2d not in kinds
    # every 3×3 and 7×7 convolution at stride 1 reads a reflection-padded map, not zeros
    assert all(c.padding == (0, 0) for c in g.modules() if isinstance(c, nn.Conv2d) and c.stride == (1, 1))


def test_resnet_block_is_a_residual_with_reflection_padding():
    torch.manual_seed(0)
    block = ResnetBlock(4)
    x = torch.randn(2, 4, 5, 5)
    assert not torch.allclose(block(x), x)
    last = [m for m in block.body if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    assert torch.allclose(block(x), x)          # r + IN(0) = r: the block adds a residual to its input


def test_downsamplings_only_where_the_size_allows():
    assert [max_downsamplings(s, s) for s in (32, 28, 16, 15, 8, 7, 6)] == [2, 2, 2, 1, 1, 0, 0]
    assert max_downsamplings(28, 8) == 1 and max_downsamplings(64, 64, wanted=3) == 3


def test_generator_refuses_bad_arguments_and_inputs():
    with pytest.raises(ConfigError, match="width"):
        ResnetGenerator(1, 1, width=0)
    g = ResnetGenerator(1, 1, width=2, blocks=0, downsamplings=0)
    with pytest.raises(ConfigError, match="N×1×H×W"):
        g(torch.rand(1, 3, 8, 8))
    with pytest.raises(ConfigError, match="too small"):
        g(torch.rand(1, 1, 3, 8))


def test_pool_stores_and_returns_every_fake_until_full():
    pool = ImagePool(4, generator=torch.Generator().manual_seed(0))
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 3
    second = torch.tensor([3.0, 4.0]).view(2, 1, 1, 1)
    out = pool.query(second)
    assert len(pool) == 4 and out[0].item() == 3.0      # the fourth filled the pool; the fifth met a full one
    assert torch.equal(ImagePool(0).query(second), second)        # size 0: the newest fakes only


def test_full_pool_returns_a_past_image_half_of_the_time_and_stores_the_new_one():
    pool = ImagePool(50, generator=torch.Generator().manual_seed(1))
    pool.query(-torch.arange(1.0, 51.0).view(50, 1, 1, 1))        # full with 50 past images (negative values)
    draws, past = 4000, 0
    for i in range(draws):
        stored = {float(t) for t in pool.images}
        new = torch.full((1, 1, 1, 1), float(i))
        got = float(pool.query(new))
        if got != float(i):
            past += 1
            assert got in stored                                  # a stored image comes back ...
            assert float(i) in {float(t) for t in pool.images}    # ... and the new one takes its place
            assert got not in {float(t) for t in pool.images}    # (every value is unique)
        else:
            assert {float(t) for t in pool.images} == stored      # returned as it is: the pool is unchanged
        assert len(pool) == 50
    share = past / draws
    assert abs(share - 0.5) < 0.03, share                         # binomial sd 0.008: 0.03 is ~4 sd


def test_pool_draws_are_reproducible_with_a_seeded_generator():
    def run(seed):
        pool = ImagePool(5, generator=torch.Generator().manual_seed(seed))
        return torch.cat([pool.query(torch.full((3, 1, 1, 1), float(i))) for i in range(20)])

    assert torch.equal(run(3), run(3)) and not torch.equal(run(3), run(4))
