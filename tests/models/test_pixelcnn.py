"""pixelcnn and gated-pixelcnn (van den Oord et al. 2016): the autoregressive property checked by
gradients for every output dimension (grey and colour, Bernoulli and softmax), PixelCNN's blind spot
against the gated model's full view above, normalised densities, the cropped sampling step against
the whole network, class conditioning, and learning below the independent-pixels baseline."""
import itertools
import math

import pytest
import torch

import genlab
from genlab.data import ImageData
from genlab.errors import ConfigError
from genlab.models.pixelcnn import (
    GatedPixelCNN,
    GatedPixelCNNConfig,
    PixelCNN,
    PixelCNNConfig,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def pixelcnn(shape, levels=2, **kw):
    kw = {"width": 8, "blocks": 2, "kernel": 3, **kw}
    return PixelCNN(PixelCNNConfig(image_shape=shape, levels=levels, **kw))


def gated(shape, levels=2, **kw):
    # conditional whenever given classes, so the class path is checked wherever the tests give some
    kw = {"width": 6, "layers": 3, "kernel": 3, "conditional": True, **kw}
    return GatedPixelCNN(GatedPixelCNNConfig(image_shape=shape, levels=levels, **kw))


def input_grads(model, shape, y=None, seed=0):
    """For every output dimension (c, i, j): |∂params/∂inp| summed over its parameters, C×H×W."""
    torch.manual_seed(seed)
    c, h, w = shape
    v = torch.randint(0, model.levels, (1, c, h, w))
    inp = model.network_input(v).requires_grad_(True)
    out = model.network(inp, y)
    grads = {}
    for ch, i, j in itertools.product(range(c), range(h), range(w)):
        g, = torch.autograd.grad(out[0, :, ch, i, j].sum(), inp, retain_graph=True)
        grads[ch, i, j] = g[0].abs().sum(1)
    return grads


def before(a, b) -> bool:
    """Dimension a = (c, i, j) strictly before b in raster order, channels inside a pixel."""
    return (a[1], a[2], a[0]) < (b[1], b[2], b[0])


BUILDERS = {"pixelcnn": pixelcnn, "gated": gated}


@pytest.mark.parametrize("levels", [2, 4], ids=["bernoulli", "softmax"])
@pytest.mark.parametrize("shape", [(1, 6, 6), (3, 5, 5)], ids=["grey", "rgb"])
@pytest.mark.parametrize("kind", BUILDERS)
def test_every_output_reads_only_the_dimensions_before_it(kind, shape, levels):
    torch.manual_seed(0)
    model = BUILDERS[kind](shape, levels, num_classes=3, width=12)     # 2–4 channels per colour group
    assert model.output == ("bernoulli" if levels == 2 else "softmax")
    y = torch.tensor([1]) if model.label_space is not None else None
    grads = input_grads(model, shape, y)
    dims = list(grads)
    for out_dim in dims:
        for in_dim in dims:
            if not before(in_dim, out_dim):
                assert grads[out_dim][in_dim] == 0, (kind, out_dim, in_dim)
    # and the colour order is used, not just allowed: G reads R of its own pixel, B reads R and G
    # (at some pixel: with few channels per colour the head's ReLUs may all be off at one of them)
    if shape[0] == 3:
        pixels = list(itertools.product(range(shape[1]), range(shape[2])))
        for later, earlier in [(1, 0), (2, 0), (2, 1)]:
            assert any(grads[later, i, j][earlier, i, j] > 0 for i, j in pixels), (later, earlier)


def test_pixelcnn_has_a_blind_spot_above_right():
    torch.manual_seed(0)
    model = pixelcnn((1, 6, 6))                      # 3×3 mask A + two 3×3 blocks: reach 3 rows, 3 columns
    g = input_grads(model, (1, 6, 6))[0, 3, 1][0]
    assert g[2, 3] == 0                               # one row up, two right: inside the 3-pixel reach, never read
    assert g[1, 3] > 0 and g[2, 2] > 0 and g[3, 0] > 0  # two rows up at the same column is read


def test_gated_pixelcnn_reads_every_pixel_above_within_its_reach():
    torch.manual_seed(0)
    model = gated((1, 6, 6))
    assert (model.row_reach, model.col_reach) == (4, 3)
    i, j = 4, 2
    g = input_grads(model, (1, 6, 6))[0, i, j][0]
    for a, b in itertools.product(range(6), range(6)):
        inside = (a < i and i - a <= model.row_reach and abs(b - j) <= model.col_reach) or (a == i and b < j)
        assert (g[a, b] > 0) == inside, (a, b)
    assert g[3, 3] > 0 and g[3, 4] > 0                 # PixelCNN's blind spot, read here


TOYS = [((1, 2, 2), 2), ((3, 1, 1), 2), ((1, 1, 2), 3)]


@pytest.mark.parametrize("shape,levels", TOYS, ids=["2x2-binary", "rgb-pixel", "3-levels"])
@pytest.mark.parametrize("kind", BUILDERS)
def test_log_prob_sums_to_one_over_every_image(kind, shape, levels):
    torch.manual_seed(0)
    model = BUILDERS[kind](shape, levels, num_classes=2)
    d = math.prod(shape)
    values = torch.tensor(list(itertools.product(range(levels), repeat=d)), dtype=torch.float)
    x = (values / (levels - 1)).view(-1, *shape)
    for y in ([None] if model.label_space is None else [0, 1]):
        with torch.no_grad():
            total = torch.logsumexp(model.log_prob(x, y), 0)
        assert abs(float(total)) < 1e-5, (kind, y)


@pytest.mark.parametrize("shape", [(1, 6, 7), (3, 5, 5)])
@pytest.mark.parametrize("kind", BUILDERS)
def test_step_params_equals_the_whole_network(kind, shape):
    torch.manual_seed(0)
    model = BUILDERS[kind](shape, 4, num_classes=3, kernel=5 if kind == "pixelcnn" else 3)
    v = torch.randint(0, 4, (2, *shape))
    inp = model.network_input(v)
    y = torch.tensor([0, 2]) if model.label_space is not None else None
    with torch.no_grad():
        full = model.network(inp, y)
        for i, j in model.order():
            assert torch.allclose(model.step_params(inp, y, i, j), full[..., i, j], atol=1e-5), (i, j)


@pytest.mark.parametrize("kind", BUILDERS)
def test_a_prior_over_categorical_codes_reads_them_one_hot(kind):
    torch.manual_seed(0)
    model = BUILDERS[kind]((1, 2, 3), 5, categorical=True)      # a VQ-VAE's code map: 5 unordered codes
    assert model.input_features == 5 and model.output == "softmax"
    v = torch.randint(0, 5, (2, 1, 2, 3))
    inp = model.network_input(v)
    with torch.no_grad():
        full = model.network(inp)
        assert all(torch.allclose(model.step_params(inp, None, i, j), full[..., i, j], atol=1e-5)
                   for i, j in model.order())
        x = torch.tensor(list(itertools.product(range(5), repeat=2)), dtype=torch.float).view(-1, 1, 1, 2) / 4
        small = BUILDERS[kind]((1, 1, 2), 5, categorical=True)
        assert abs(float(torch.logsumexp(small.log_prob(x), 0))) < 1e-5


@pytest.mark.parametrize("kind", BUILDERS)
def test_sampling_with_a_generator_is_reproducible(kind):
    torch.manual_seed(0)
    model = BUILDERS[kind]((1, 4, 4), 4)
    a = model.sample(3, generator=torch.Generator().manual_seed(5))
    b = model.sample(3, generator=torch.Generator().manual_seed(5))
    c = model.sample(3, generator=torch.Generator().manual_seed(6))
    assert a.shape == (3, 1, 4, 4) and torch.equal(a, b) and not torch.equal(a, c)
    assert set((a * 3).round().unique().tolist()) <= {0, 1, 2, 3}


def test_class_conditional_gated_model():
    torch.manual_seed(0)
    model = gated((1, 4, 4), num_classes=3, conditional=True)
    assert model.label_space.kind == "classes" and model.label_space.size == 3
    for layer in model.layers:                         # zero-initialised embeddings: make the label matter
        torch.nn.init.normal_(layer.embed.weight)
    x = (torch.rand(2, 1, 4, 4) > 0.5).float()
    with torch.no_grad():
        assert not torch.allclose(model.log_prob(x, 0), model.log_prob(x, 2))
        assert model.sample(2, [0, 2], generator=torch.Generator().manual_seed(0)).shape == (2, 1, 4, 4)
    with pytest.raises(ConfigError, match="0…2"):
        model.sample(2, 3)
    with pytest.raises(ConfigError, match="needs a class"):
        model.log_prob(x)
    loss = model.loss({"x": x, "y": torch.tensor([0, 1])})["loss"]
    assert torch.isfinite(loss)


def test_unconditional_gated_model_takes_no_label():
    plain = GatedPixelCNN(GatedPixelCNNConfig(image_shape=(1, 4, 4), levels=2, num_classes=3))   # the default
    unlabelled = gated((1, 4, 4), num_classes=0, conditional=True)
    for model in (plain, unlabelled):
        assert model.label_space is None
        with pytest.raises(ConfigError, match="takes no label"):
            model.sample(1, 0)


def test_models_are_registered_and_built_from_data():
    data = ImageData((torch.rand(8, 1, 5, 5) > 0.5).float(), torch.arange(8) % 2, meta={"levels": 2})
    model = genlab.create("gated-pixelcnn", data=data, width=4, layers=1, conditional=True)
    assert isinstance(model, GatedPixelCNN) and model.output == "bernoulli" and model.label_space.size == 2
    assert isinstance(genlab.create("pixelcnn", image_shape=(1, 5, 5), width=8, blocks=1), PixelCNN)
    grey = genlab.create("pixelcnn", image_shape=(1, 5, 5), width=8, blocks=1)   # 256 levels: a 256-way softmax
    assert grey.network(grey.network_input(torch.zeros(2, 1, 5, 5, dtype=torch.long))).shape == (2, 256, 1, 5, 5)


def test_bad_sizes_are_refused():
    with pytest.raises(ConfigError, match="odd"):
        pixelcnn((1, 4, 4), kernel=4)
    with pytest.raises(ConfigError, match="even"):
        pixelcnn((1, 4, 4), width=7)
    with pytest.raises(ConfigError, match="at least 6"):
        pixelcnn((3, 4, 4), width=4)
    with pytest.raises(ConfigError, match="odd"):
        gated((1, 4, 4), kernel=2)


def stripes(n: int, generator) -> torch.Tensor:
    """6×6 binary images whose rows are each all 0 or all 1: 6 bits of entropy in 36 pixels."""
    rows = (torch.rand(n, 1, 6, 1, generator=generator) < 0.5).float()
    return rows.expand(n, 1, 6, 6).contiguous()


@pytest.mark.parametrize("kind", BUILDERS)
def test_learning_beats_independent_pixels(kind):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    train, test = stripes(64, gen), stripes(64, gen)
    model = BUILDERS[kind]((1, 6, 6))
    p = train.mean(0).clamp(1e-3, 1 - 1e-3)          # the all-pixels-independent baseline: Bernoulli(mean)
    baseline = -(test * p.log() + (1 - test) * (1 - p).log()).flatten(1).sum(1).mean()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        loss = model.loss({"x": train})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        nll = -model.log_prob(test).mean()
    assert nll < 0.5 * baseline, (float(nll), float(baseline))     # ≈ 25 nats independent, 4.2 nats possible


def test_a_conditional_model_without_labels_samples_every_class_and_scores_given_the_class():
    from genlab.metrics.likelihood import exact_nll

    torch.manual_seed(0)
    model = gated((1, 4, 4), num_classes=3)
    for layer in model.layers:
        torch.nn.init.normal_(layer.embed.weight)
    a = model.sample(4, generator=torch.Generator().manual_seed(2))
    b = model.sample(4, [0, 0, 1, 2], generator=torch.Generator().manual_seed(2))   # every class in turn
    assert torch.equal(a, b)
    x, y = (torch.rand(5, 1, 4, 4) > 0.5).float(), torch.tensor([0, 1, 2, 0, 1])
    with torch.no_grad():
        assert torch.allclose(exact_nll(model, x, y, batch_size=2), -model.log_prob(x, y))
