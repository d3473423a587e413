"""MADE's masks (Germain et al. 2015): an output is connected only to inputs strictly before it in the
order, hidden units all read something, degrees repeat over a dimension's features and parameters."""
import torch

from genlab.nn.made import MaskedLinear, made_degrees, made_masks, order_positions


def _connected(masks: list[torch.Tensor]) -> torch.Tensor:
    """Output × input: whether any path through the masked layers joins them."""
    paths = masks[0]
    for mask in masks[1:]:
        paths = mask @ paths
    return paths > 0


def test_order_positions_invert_the_order():
    order = torch.tensor([2, 0, 3, 1])
    assert order_positions(order).tolist() == [2, 4, 1, 3]     # dimension 2 first, 0 second, …


def test_degrees_lie_between_the_previous_layers_least_degree_and_d_minus_one():
    g = torch.Generator().manual_seed(0)
    positions = order_positions(torch.randperm(9, generator=g))
    degrees = made_degrees(positions, (50, 40, 30), g)
    low = 1
    for layer, size in zip(degrees, (50, 40, 30)):
        assert layer.shape == (size,) and int(layer.min()) >= low and int(layer.max()) <= 8
        low = int(layer.min())
    again = made_degrees(positions, (50, 40, 30), torch.Generator().manual_seed(0))
    assert not all(torch.equal(a, b) for a, b in zip(degrees, again))   # the generator moved on: new draws
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert all(torch.equal(a, b) for a, b in zip(made_degrees(positions, (20,), g1), made_degrees(positions, (20,), g2)))


def test_each_output_is_connected_to_exactly_the_inputs_before_it():
    g = torch.Generator().manual_seed(1)
    order = torch.randperm(6, generator=g)
    positions = order_positions(order)
    masks, direct = made_masks(positions, made_degrees(positions, (64, 64), g))
    before = positions.view(-1, 1) > positions.view(1, -1)              # output d × input j: pos(j) < pos(d)
    # wide layers: every allowed path exists, and no other
    assert torch.equal(_connected(masks), before)
    assert torch.equal(direct.bool(), before)
    for mask in masks[:-1]:
        assert bool((mask.sum(1) > 0).all())                           # no hidden unit reads nothing


def test_degrees_repeat_over_input_features_and_output_parameters():
    positions = order_positions(torch.tensor([1, 0, 2]))
    masks, direct = made_masks(positions, [torch.tensor([1, 2, 2, 1])], inputs_per_dim=2, outputs_per_dim=3)
    assert masks[0].shape == (4, 6) and masks[1].shape == (9, 4) and direct.shape == (9, 6)
    connected = _connected(masks)
    for out in range(9):
        for inp in range(6):
            d, j = out // 3, inp // 2
            assert bool(connected[out, inp]) <= bool(positions[j] < positions[d])
    # the first dimension of the order (dimension 1) is seen by nothing but the dimensions after it
    assert not connected[3:6].any() and connected[:3, 2:4].all()


def test_masked_linear_ignores_and_does_not_train_masked_weights():
    layer = MaskedLinear(3, 2)
    mask = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    x = torch.randn(4, 3, requires_grad=True)
    out = layer(x, mask)
    grad, = torch.autograd.grad(out[:, 0].sum(), x, retain_graph=True)
    assert bool((grad[:, 1:] == 0).all()) and bool((grad[:, 0] != 0).all())
    out.sum().backward()
    assert bool((layer.weight.grad * (1 - mask) == 0).all())
    assert torch.allclose(layer(x), x @ layer.weight.T + layer.bias)   # without a mask: a plain linear layer
