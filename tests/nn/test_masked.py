"""genlab.nn.masked: PixelCNN's masked convolutions (van den Oord et al. 2016): the A/B masks written
out, colour groups R → G → B at the centre pixel, the residual block's causality, and the gated
layer's vertical/horizontal stacks (no leakage of the current row or the pixel itself, the class
embedding inside the gates)."""
import pytest
import torch

from genlab.errors import ConfigError
from genlab.nn.masked import (GatedPixelCNNLayer, MaskedConv2d, PixelCNNBlock, channel_groups, mask_picture,
                              shift_down)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_mask_pictures_are_the_papers_masks():
    assert mask_picture(3, "A").tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert mask_picture(3, "B").tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    a5 = mask_picture(5, "A")
    assert a5[:2].eq(1).all() and a5[2].tolist() == [1, 1, 0, 0, 0] and a5[3:].eq(0).all()
    assert int(mask_picture(7, "A").sum()) == 7 * 3 + 3          # three full rows and three pixels left


def test_channel_groups_are_contiguous_rgb_blocks():
    assert channel_groups(6, 3).tolist() == [0, 0, 1, 1, 2, 2]
    assert channel_groups(3, 3).tolist() == [0, 1, 2]
    assert channel_groups(4, 1).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_centre_weights_follow_the_colour_groups(mask_type):
    conv = MaskedConv2d(3, 6, 3, mask_type, channels=3)          # input R, G, B; output 2 per colour
    centre = conv.mask[:, :, 1, 1]
    out_g, in_g = channel_groups(6, 3).view(-1, 1), channel_groups(3, 3).view(1, -1)
    expected = in_g < out_g if mask_type == "A" else in_g <= out_g
    assert torch.equal(centre.bool(), expected)
    assert conv.mask[:, :, 0].eq(1).all() and conv.mask[:, :, 1, 0].eq(1).all() and conv.mask[:, :, 2].eq(0).all()
    assert "mask" not in conv.state_dict()                       # rebuilt from the arguments, not saved


def test_masked_conv_output_ignores_the_pixel_and_what_follows():
    torch.manual_seed(0)
    conv = MaskedConv2d(1, 4, 5, "A")
    x = torch.randn(1, 1, 6, 6, requires_grad=True)
    conv(x)[0, :, 3, 2].sum().backward()
    g = x.grad[0, 0]
    assert g[3, 2:].eq(0).all() and g[4:].eq(0).all()           # itself, right of it, rows below
    assert g[3, :2].ne(0).all() and g[1:3, 0:5].ne(0).all()       # left of it and the rows above, within 5×5


def test_bad_kernel_or_mask_type_is_refused():
    with pytest.raises(ConfigError, match="odd kernel"):
        MaskedConv2d(1, 1, 4, "A")
    with pytest.raises(ConfigError, match="'A'"):
        MaskedConv2d(1, 1, 3, "C")
    with pytest.raises(ConfigError, match="even"):
        PixelCNNBlock(7)


def test_residual_block_keeps_the_colour_order_and_type_b():
    torch.manual_seed(0)
    block = PixelCNNBlock(12, channels=3)
    x = torch.randn(1, 12, 5, 5, requires_grad=True)
    out = block(x)
    assert out.shape == x.shape
    groups = channel_groups(12, 3)
    for g in range(3):
        grad, = torch.autograd.grad(out[0, groups == g, 2, 2].sum(), x, retain_graph=True)
        centre = grad[0, :, 2, 2].ne(0)
        assert not centre[groups > g].any() and centre[groups == g].all()   # B: its own group, never later ones
        assert grad[0, :, 3:].eq(0).all() and grad[0, :, 2, 3:].eq(0).all()


@pytest.mark.parametrize("first", [True, False])
def test_gated_layer_sees_rows_above_and_the_left_of_its_row_only(first):
    torch.manual_seed(0)
    layer = GatedPixelCNNLayer(1 if first else 4, 4, kernel=3, first=first)
    v = torch.randn(1, layer.v_conv.in_channels, 6, 6, requires_grad=True)
    h = torch.randn(1, layer.v_conv.in_channels, 6, 6, requires_grad=True)
    _, h_out = layer(v, h)
    gv, gh = torch.autograd.grad(h_out[0, :, 3, 2].sum(), (v, h))
    gv, gh = gv[0].abs().sum(0), gh[0].abs().sum(0)
    assert gv[3:].eq(0).all()                                   # the vertical stack: rows strictly above
    assert gv[2, 1:4].ne(0).all() and gv[1, 1:4].ne(0).all()    # above-left, above, above-right: no blind spot
    assert gh[:3].eq(0).all() and gh[4:].eq(0).all() and gh[3, 3:].eq(0).all()
    assert gh[3, 1].ne(0) and (gh[3, 2].eq(0) if first else gh[3, 2].ne(0))   # A hides the pixel, B keeps it


def test_gated_layer_class_embedding_enters_both_gates():
    torch.manual_seed(0)
    layer = GatedPixelCNNLayer(1, 4, kernel=3, first=True, num_classes=3)
    x = torch.randn(2, 1, 5, 5)
    _, h0 = layer(x, x, torch.tensor([0, 0]))
    assert torch.equal(h0, layer(x, x)[1])                      # zero-initialised: starts unconditional
    torch.nn.init.normal_(layer.embed.weight)
    v1, h1 = layer(x, x, torch.tensor([0, 1]))
    v2, h2 = layer(x, x, torch.tensor([1, 1]))
    assert torch.equal(v1[1], v2[1]) and not torch.equal(v1[0], v2[0]) and not torch.equal(h1[0], h2[0])


def test_shift_down_moves_rows_one_down():
    x = torch.arange(6.0).view(1, 1, 3, 2)
    assert shift_down(x)[0, 0].tolist() == [[0, 0], [0, 1], [2, 3]]
