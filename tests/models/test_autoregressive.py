"""The autoregressive family's base: exact densities, the three output distributions, sampling
and completion, on the fully visible sigmoid belief network (the family's simplest member)."""
import itertools
import math

import pytest
import torch

from genlab.data import ImageData
from genlab.errors import ConfigError
from genlab.models.autoregressive import FVSBN, FVSBNConfig, logistic_log_prob
from genlab.runs import create


def _all_images(levels: int, shape) -> torch.Tensor:
    d = math.prod(shape)
    values = torch.tensor(list(itertools.product(range(levels), repeat=d)), dtype=torch.float32)
    return (values / (levels - 1)).view(-1, *shape)


def _random_fvsbn(shape, levels, **config) -> FVSBN:
    torch.manual_seed(0)
    model = FVSBN(FVSBNConfig(image_shape=shape, levels=levels, **config))
    torch.nn.init.normal_(model.linear.weight)
    torch.nn.init.normal_(model.linear.bias)
    return model


@pytest.mark.parametrize("levels,output,shape,categorical", [
    (2, "auto", (1, 2, 2), False), (3, "softmax", (1, 2, 2), False), (3, "logistic", (1, 2, 2), False),
    (2, "auto", (3, 2, 1), False), (3, "auto", (1, 2, 2), True)])
def test_log_prob_is_a_distribution_over_every_image(levels, output, shape, categorical):
    model = _random_fvsbn(shape, levels, output=output, categorical=categorical)
    total = model.log_prob(_all_images(levels, shape)).exp().sum()
    assert abs(float(total.detach()) - 1) < 1e-5


def test_discretised_logistic_is_the_logistic_mass_of_each_bin():
    mu, log_s, levels = torch.tensor([0.2]), torch.tensor([-1.0]), 5
    probs = logistic_log_prob(mu, log_s, torch.arange(levels), levels).exp()
    edges = torch.tensor([-math.inf, -0.75, -0.25, 0.25, 0.75, math.inf])   # bin edges of 5 levels on [−1, 1]
    cdf = torch.sigmoid((edges - mu) / math.exp(-1.0))
    assert torch.allclose(probs, cdf[1:] - cdf[:-1], atol=1e-6)
    # a very sharp logistic puts nearly all mass on the bin holding μ, without NaN
    sharp = logistic_log_prob(torch.tensor([0.0]), torch.tensor([-12.0]), torch.arange(levels), levels).exp()
    assert torch.isfinite(sharp).all() and float(sharp[2]) > 0.99


def test_each_dimension_depends_only_on_the_dimensions_before_it():
    model = _random_fvsbn((3, 2, 2), 2)
    inp = model.network_input(torch.randint(0, 2, (1, 3, 2, 2))).requires_grad_()
    out = model.network(inp)
    c, h, w = 3, 2, 2
    rank = lambda c_, i, j: (i * w + j) * c + c_   # noqa: E731
    for ch, i, j in itertools.product(range(c), range(h), range(w)):
        grad, = torch.autograd.grad(out[0, :, ch, i, j].sum(), inp, retain_graph=True)
        for c2, i2, j2 in itertools.product(range(c), range(h), range(w)):
            seen = bool(grad[0, c2, :, i2, j2].abs().sum() > 0)
            assert seen == (rank(c2, i2, j2) < rank(ch, i, j)), ((ch, i, j), (c2, i2, j2))


def test_samples_follow_the_model_distribution_and_a_generator_repeats_them():
    model = _random_fvsbn((1, 1, 2), 3, output="logistic")
    draws = model.sample(20000, generator=torch.Generator().manual_seed(0))
    images = _all_images(3, (1, 1, 2))
    frequency = torch.stack([(draws == im).flatten(1).all(1).float().mean() for im in images])
    assert torch.allclose(frequency, model.log_prob(images).exp().detach(), atol=0.015)
    again = model.sample(20000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(draws, again)
    cooler = model.sample(20000, temperature=0.3, generator=torch.Generator().manual_seed(0))
    mode = images[model.log_prob(images).argmax()]
    assert (cooler == mode).flatten(1).all(1).float().mean() > (draws == mode).flatten(1).all(1).float().mean()
    with pytest.raises(ConfigError, match="temperature"):
        model.sample(2, temperature=0)


def check_completion(model) -> None:
    """``complete`` on a 1×4×4 binary model keeps the top two rows and varies the rest."""
    x = torch.randint(0, 2, (3, 1, 4, 4)).float()
    known = torch.zeros(4, 4, dtype=torch.bool)
    known[:2] = True
    out = model.complete(x, known, samples=5, generator=torch.Generator().manual_seed(1))
    assert out.shape == (3, 5, 1, 4, 4)
    assert torch.equal(out[:, :, :, :2], x[:, None, :, :2].expand(3, 5, 1, 2, 4))
    assert len({tuple(s.flatten().tolist()) for s in out[:, :, :, 2:].flatten(0, 1)}) > 1


def test_completion_keeps_the_given_pixels_and_varies_the_rest():
    check_completion(_random_fvsbn((1, 4, 4), 2))


def test_bernoulli_output_needs_binary_data():
    with pytest.raises(ConfigError, match="binar"):
        FVSBN(FVSBNConfig(image_shape=(1, 2, 2), levels=256, output="bernoulli"))
    with pytest.raises(ConfigError, match="categories"):
        FVSBN(FVSBNConfig(image_shape=(1, 2, 2), levels=8, categorical=True, output="logistic"))


def test_fvsbn_learns_binarised_digits_better_than_independent_pixels():
    from genlab.data import load_data
    from genlab.train import train

    digits = load_data("mnist5k", "train", image_size=12, limit=800)
    data = ImageData((digits.x > 0.5).float(), digits.y, meta={"levels": 2})
    model = create("fvsbn", data=data)
    assert model.config.levels == 2 and model.output == "bernoulli"
    model.prepare(data)
    before = float(-model.log_prob(data.x).mean().detach())
    train(model, data, epochs=8, batch_size=64, progress=False)
    after = float(-model.log_prob(data.x).mean().detach())
    p = data.x.mean(0).clamp(1e-3, 1 - 1e-3)       # each pixel on its own: the product of marginals
    independent = float(-(data.x * p.log() + (1 - data.x) * (1 - p).log()).flatten(1).sum(1).mean())
    assert after < before and after < independent - 5, (before, after, independent)
