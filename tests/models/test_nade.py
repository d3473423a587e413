"""NADE (Larochelle & Murray 2011) and MADE (Germain et al. 2015): each conditional sees only the
dimensions before it in the model's order, densities sum to one (MADE's ensemble too), NADE's blocked
cumulative sum equals the per-dimension definition, sampling is reproducible and follows the model,
training beats independent pixels, and saved models keep their masks."""
import itertools
import math

import pytest
import torch

from genlab.data import ImageData
from genlab.errors import ConfigError
from genlab.models.autoregressive import Autoregressive
from genlab.models.nade import MADE, NADE, MADEConfig, NADEConfig
from tests.models.test_autoregressive import check_completion


def _all_images(levels: int, shape) -> torch.Tensor:
    d = math.prod(shape)
    values = torch.tensor(list(itertools.product(range(levels), repeat=d)), dtype=torch.float32)
    return (values / (levels - 1)).view(-1, *shape)


def _random(cls, shape, levels=2, **config):
    """A model with every weight drawn N(0, 1): conditionals far from uniform."""
    torch.manual_seed(0)
    config_class = NADEConfig if cls is NADE else MADEConfig
    model = cls(config_class(image_shape=shape, levels=levels, **config))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    return model.eval()


MODELS = [
    ("nade", NADE, {"hidden": 16}),
    ("made", MADE, {"hidden": (16,), "direct": False}),
    ("made-random", MADE, {"hidden": (16, 16), "order": "random", "masks": 3, "test_masks": 3, "direct": True}),
]


def _positions(model, k: int = 0) -> list[int]:
    """Each flattened dimension's place in the model's generation order."""
    if isinstance(model, NADE):
        return list(range(model.dims))
    order = model.dimension_order(k)
    return [order.index(d) for d in range(model.dims)]


@pytest.mark.parametrize("label,cls,config", MODELS, ids=[m[0] for m in MODELS])
@pytest.mark.parametrize("levels,categorical", [(2, False), (3, True)])
def test_each_dimension_depends_only_on_the_dimensions_before_it_in_the_models_order(label, cls, config, levels,
                                                                                     categorical):
    model = _random(cls, (3, 2, 2), levels, categorical=categorical, **config)
    c, h, w = model.image_shape
    sets = model.config.masks if isinstance(model, MADE) else 1
    # NADE and a MADE with the direct map read every earlier dimension; through relu units alone
    # a MADE may miss a few (a unit off for this input, no unit of the degree between)
    complete = isinstance(model, NADE) or model.config.direct
    for k in range(sets):
        pos = _positions(model, k)
        inp = model.network_input(torch.randint(0, levels, (2, c, h, w))).requires_grad_()
        out = model.network(inp, mask=k) if isinstance(model, MADE) else model.network(inp)
        pairs = seen_pairs = 0
        for ch, i, j in itertools.product(range(c), range(h), range(w)):
            grad, = torch.autograd.grad(out[:, :, ch, i, j].sum(), inp, retain_graph=True)
            d = (i * w + j) * c + ch
            for c2, i2, j2 in itertools.product(range(c), range(h), range(w)):
                seen = bool(grad[:, c2, :, i2, j2].abs().sum() > 0)
                before = pos[(i2 * w + j2) * c + c2] < pos[d]
                assert seen == before if complete else seen <= before, (label, k, (ch, i, j), (c2, i2, j2))
                pairs, seen_pairs = pairs + before, seen_pairs + seen
        assert seen_pairs >= 0.7 * pairs, (label, k, seen_pairs, pairs)


@pytest.mark.parametrize("label,cls,config", MODELS, ids=[m[0] for m in MODELS])
@pytest.mark.parametrize("levels,output,categorical", [(2, "auto", False), (3, "softmax", False),
                                                       (3, "logistic", False), (3, "auto", True)])
def test_log_prob_is_a_distribution_over_every_image(label, cls, config, levels, output, categorical):
    shape = (1, 2, 2)
    model = _random(cls, shape, levels, output=output, categorical=categorical, **config)
    log_p = model.log_prob(_all_images(levels, shape)).detach()
    assert abs(float(log_p.exp().sum()) - 1) < 1e-5
    if label == "made-random":        # the ensemble is a mixture, not any one of its members
        model.train()
        single = model.log_prob(_all_images(levels, shape)).detach()
        assert abs(float(single.exp().sum()) - 1) < 1e-5 and not torch.allclose(single, log_p, atol=1e-3)


def _naive_nade_log_prob(model: NADE, x: torch.Tensor) -> torch.Tensor:
    """The definition, one dimension at a time: a_d = c + Σ_{j<d} W_j x_j, params_d = V_d σ(a_d) + b_d."""
    v = model.to_levels(x)
    flat = model.network_input(v).permute(0, 3, 4, 1, 2).reshape(len(x), model.dims, -1)
    values = v.permute(0, 2, 3, 1).reshape(len(x), -1)
    a = model.c.expand(len(x), -1)
    total = 0
    for d in range(model.dims):
        params = torch.sigmoid(a) @ model.V[d].T + model.b[d]                      # N×P
        total = total + model.dim_log_prob(params.view(len(x), -1, 1, 1, 1), values[:, d].view(-1, 1, 1, 1)).flatten()
        a = a + flat[:, d] @ model.W[d]
    return total


@pytest.mark.parametrize("levels,output,categorical,shape", [(2, "auto", False, (1, 5, 7)),
                                                             (4, "softmax", True, (3, 3, 2)),
                                                             (5, "logistic", False, (2, 4, 3))])
def test_nade_blocked_cumulative_sum_equals_the_per_dimension_definition(levels, output, categorical, shape):
    model = NADE(NADEConfig(image_shape=shape, levels=levels, output=output, categorical=categorical, hidden=9))
    model.block_elements = 9 * 5 * 4           # 4 dimensions per block: several blocks and a ragged last one
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=0.5)
    x = torch.randint(0, levels, (5, *shape)).float() / (levels - 1)
    fast, naive = model.log_prob(x), _naive_nade_log_prob(model, x)
    assert torch.allclose(fast, naive, atol=1e-4)
    # the hand-written backward pass gives the gradients of the definition
    fast_grads = torch.autograd.grad(fast.sum(), list(model.parameters()))
    naive_grads = torch.autograd.grad(naive.sum(), list(model.parameters()))
    for name, a, b in zip([n for n, _ in model.named_parameters()], fast_grads, naive_grads):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), name
    # and so does step_params, which sampling by the base class would call
    inp = model.network_input(model.to_levels(x))
    assert torch.allclose(model.step_params(inp, None, 2, 1), model.network(inp)[..., 2, 1], atol=1e-5)


@pytest.mark.parametrize("label,cls,config", MODELS, ids=[m[0] for m in MODELS])
def test_sampling_is_reproducible_and_completion_keeps_the_given_pixels(label, cls, config):
    model = _random(cls, (1, 4, 4), 2, **config)
    a = model.sample(6, generator=torch.Generator().manual_seed(1))
    b = model.sample(6, generator=torch.Generator().manual_seed(1))
    c = model.sample(6, generator=torch.Generator().manual_seed(2))
    assert a.shape == (6, 1, 4, 4) and torch.equal(a, b) and not torch.equal(a, c)
    if label != "made-random":    # raster order: the same draws as the base class's pixel-by-pixel loop
        assert torch.equal(a, Autoregressive.generate(model, 6, generator=torch.Generator().manual_seed(1)))
    check_completion(model)


@pytest.mark.parametrize("label,cls,config", MODELS, ids=[m[0] for m in MODELS])
def test_samples_follow_the_model_distribution(label, cls, config):
    model = _random(cls, (1, 1, 3), 2, **config)
    draws = model.sample(20000, generator=torch.Generator().manual_seed(0))
    images = _all_images(2, (1, 1, 3))
    frequency = torch.stack([(draws == im).flatten(1).all(1).float().mean() for im in images])
    assert torch.allclose(frequency, model.log_prob(images).exp().detach(), atol=0.015), label


def test_made_cycles_its_mask_sets_in_training_and_refuses_bad_configs():
    model = _random(MADE, (1, 3, 3), 2, hidden=(16,), order="random", masks=3)
    assert len({tuple(model.dimension_order(k)) for k in range(3)}) == 3        # an order per mask set
    model.train()
    x = torch.randint(0, 2, (8, 1, 3, 3)).float()
    losses = [float(model.loss({"x": x})["loss"].detach()) for _ in range(4)]
    assert losses[0] == losses[3] and len({round(v, 4) for v in losses[:3]}) == 3
    with pytest.raises(ConfigError, match="test_masks"):
        MADE(MADEConfig(image_shape=(1, 2, 2), levels=2, masks=2, test_masks=3))
    with pytest.raises(ConfigError, match="hidden"):
        MADE(MADEConfig(image_shape=(1, 2, 2), levels=2, hidden=(), direct=False))


def _binary_digits():
    from genlab.data import load_data

    digits = load_data("mnist5k", "train", image_size=10, limit=600)
    return ImageData((digits.x > 0.5).float(), digits.y, meta={"levels": 2})


@pytest.mark.parametrize("name,config", [("nade", {"hidden": 32}), ("made", {"hidden": (64,), "masks": 2,
                                                                              "test_masks": 2, "order": "random"})])
def test_training_on_binarised_digits_beats_independent_pixels(name, config):
    from genlab.runs import create
    from genlab.train import train

    data = _binary_digits()
    model = create(name, data=data, seed=0, lr=1e-2, **config)
    assert model.output == "bernoulli"
    before = float(-model.eval().log_prob(data.x).mean().detach())
    train(model.train(), data, epochs=6, batch_size=50, progress=False)
    after = float(-model.eval().log_prob(data.x).mean().detach())
    p = data.x.mean(0).clamp(1e-3, 1 - 1e-3)       # each pixel on its own: the product of marginals
    independent = float(-(data.x * p.log() + (1 - data.x) * (1 - p).log()).flatten(1).sum(1).mean())
    assert after < before and after < independent - 3, (before, after, independent)


def test_a_saved_made_keeps_its_masks_and_orders(tmp_path):
    from genlab.runs import create, load
    from genlab.train import train

    data = ImageData(torch.randint(0, 2, (40, 1, 3, 3)).float(), meta={"levels": 2})
    model = create("made", data=data, seed=0, hidden=(16,), order="random", masks=3, test_masks=3)
    train(model, data, epochs=1, batch_size=20, out=tmp_path / "run", progress=False)
    loaded = load(tmp_path / "run")
    x = data.x[:10]
    assert torch.equal(loaded.orders, model.orders)
    assert torch.allclose(loaded.log_prob(x), model.eval().log_prob(x))
    # the masks travel with the weights: a model drawn from another seed takes them over on loading
    other = create("made", data=data, hidden=(16,), order="random", masks=3, test_masks=3, mask_seed=5)
    assert not torch.equal(other.orders, model.orders)
    other.load_state_dict(model.state_dict())
    assert torch.allclose(other.eval().log_prob(x), model.log_prob(x))
