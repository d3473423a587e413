"""The autoregressive family's tools: completion (the given pixels are kept), the receptive field
(fvsbn: exactly the pixels before; a plain masked-conv stack: a blind spot), and sampling a VQ-VAE
through an autoregressive prior over its code maps."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genlab
from genlab.apps import autoregressive as A
from genlab.apps import prior as P
from genlab.data import ImageData
from genlab.errors import CapabilityError, ConfigError
from genlab.models.autoregressive import Autoregressive, AutoregressiveConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    """200 binarised 14×14 training digits and 40 held-out ones, with their labels."""
    train = genlab.load_data("mnist5k", "train", image_size=14).subset(range(0, 4000, 20))
    test = genlab.load_data("mnist5k", "test", image_size=14).subset(range(0, 1000, 25))
    binary = lambda d: ImageData((d.x > 0.5).float(), d.y, classes=d.classes, meta={"levels": 2})
    return binary(train), binary(test)


@pytest.fixture(scope="module")
def fvsbn(digits):
    torch.manual_seed(0)
    model = genlab.create("fvsbn", data=digits[0])
    genlab.train(model, digits[0], epochs=3, batch_size=50, progress=False)
    return model.eval()


@pytest.fixture(scope="module")
def vqvae(digits):
    torch.manual_seed(0)
    model = genlab.create("vq-vae", data=digits[0], num_codes=8, code_dim=4, channels=(8, 8))
    genlab.train(model, digits[0], epochs=1, batch_size=50, progress=False)
    return model.eval()


def code_prior(vqvae, levels=None, grid=None):
    """An fvsbn over the vq-vae's code maps (categorical, K levels), untrained."""
    k = levels or vqvae.config.num_codes
    return genlab.create("fvsbn", image_shape=(1, *(grid or vqvae.grid)), levels=k, categorical=True).eval()


# ------------------------------------------------------------------------------------ completion

def test_known_mask_gives_top_rows_or_left_columns_and_refuses_the_edges():
    rows = A.known_mask((1, 6, 5), rows=2)
    assert rows[:2].all() and not rows[2:].any()
    cols = A.known_mask((1, 6, 5), cols=3)
    assert cols[:, :3].all() and not cols[:, 3:].any()
    for bad in ({"rows": 0}, {"rows": 6}, {"cols": 5}, {"cols": -1}):
        with pytest.raises(ConfigError, match="must lie in 1…"):
            A.known_mask((1, 6, 5), **bad)


def test_completion_keeps_the_given_pixels_and_samples_the_rest(fvsbn, digits):
    result = A.complete_held_out(fvsbn, digits[1], rows=7, n=5, samples=3, seed=0)
    c = result.completions
    assert c.shape == (5, 3, 1, 14, 14) and result.labels == ["0", "1", "2", "3", "4"]   # a spread of classes
    given = result.original.unsqueeze(1).expand_as(c)
    assert torch.equal(c[..., :7, :], given[..., :7, :])
    assert set(c.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(c[:, 0, :, 7:], c[:, 1, :, 7:])            # the hidden part is drawn, not copied
    again = A.complete_held_out(fvsbn, digits[1], rows=7, n=5, samples=3, seed=0)
    assert torch.equal(again.completions, c)                            # the seed fixes the draw
    # columns: the left 4 of every row kept
    cols = A.complete_images(fvsbn, digits[1].x[:2], cols=4, samples=2).completions
    assert torch.equal(cols[..., :4], digits[1].x[:2].unsqueeze(1).expand_as(cols)[..., :4])
    picture = result.picture()
    assert picture.width > picture.height > 0                            # 5 columns of images, 5 rows


def test_completion_refuses_a_model_that_is_not_autoregressive(digits):
    vae = genlab.create("vae", data=digits[0])
    with pytest.raises(CapabilityError, match="'vae' cannot complete images; train pixelcnn, gated-pixelcnn, made"):
        A.complete_images(vae, digits[1].x[:2], rows=3)


# ------------------------------------------------------------------------------------ receptive field

@pytest.mark.parametrize("pixel", [(0, 0), (0, 5), (6, 3), (13, 13)])
def test_receptive_field_of_fvsbn_is_exactly_the_pixels_before(pixel):
    model = genlab.create("fvsbn", image_shape=(1, 14, 14), levels=2)    # zero weights: the masks must decide
    field = A.receptive_field(model, pixel)
    r, c = pixel
    expected = (torch.arange(196) < r * 14 + c).view(14, 14)
    assert torch.equal(field.influence, expected) and field.count == r * 14 + c
    assert not field.has_blind_spot and "no blind spot" in field.summary()


class MaskedConv(nn.Conv2d):
    """A k×k convolution masked as in PixelCNN: type A hides the centre, B keeps it."""

    def __init__(self, cin, cout, k, mask_type):
        super().__init__(cin, cout, k, padding=k // 2)
        mask = torch.ones(1, 1, k, k)
        mask[..., k // 2, k // 2 + (mask_type == "B"):] = 0
        mask[..., k // 2 + 1:, :] = 0
        self.register_buffer("mask", mask)
        self.mask_type = mask_type

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PlainStack(Autoregressive):
    """Stacked masked 3×3 convolutions (A, then B): the stack whose field has a blind spot."""

    def __init__(self, config):
        super().__init__(config)
        self.convs = nn.ModuleList([MaskedConv(1, 4, 3, "A")] + [MaskedConv(4, 4, 3, "B") for _ in range(3)])
        self.out = MaskedConv(4, self.params_per_dim, 1, "B")

    def network(self, inp, y=None):
        h = inp[:, :, 0]
        for conv in self.convs:
            h = torch.relu(conv(h))
        return self.out(h).unsqueeze(2)


def test_a_stack_of_masked_convolutions_has_a_blind_spot():
    model = PlainStack(AutoregressiveConfig(image_shape=(1, 12, 12), levels=2))
    field = A.receptive_field(model, (8, 6))
    assert not (field.influence & ~field.before).any()                  # never a pixel after (8, 6)
    assert field.influence[4, 10] and field.influence[8, 2]             # 4 layers reach 4 up and right, 4 left
    # the wedge to the upper right: (7, 8) is before (8, 6), in reach, but no path leads from it
    assert not field.influence[7, 8] and field.blind[7, 8] and field.has_blind_spot
    assert "blind spot" in field.summary()
    assert A.masked_kernels(model) == [("A", 3), ("B", 3), ("B", 1)]
    figure = A.receptive_field_figure(field)
    assert figure.axes


def test_receptive_field_refuses_pixels_outside_and_other_models():
    model = genlab.create("fvsbn", image_shape=(1, 6, 6), levels=2)
    for pixel in ((6, 0), (0, -1)):
        with pytest.raises(ConfigError, match="outside the 6×6 image"):
            A.receptive_field(model, pixel)
    with pytest.raises(CapabilityError, match="autoregressive|pixelcnn"):
        A.receptive_field(genlab.create("vae", image_shape=(1, 6, 6)), (1, 1))
    with pytest.raises(ConfigError, match="ROW,COL"):
        A.parse_pixel("3")
    assert A.parse_pixel(" 3, 4") == (3, 4)
    built = A.model_or_run("fvsbn")
    assert built.image_shape == (1, 28, 28) and built.levels == 2
    with pytest.raises(CapabilityError, match="give pixelcnn"):
        A.model_or_run("vae")


# ------------------------------------------------------------------------------------ the vq-vae prior

def test_prior_sampler_draws_code_maps_and_decodes_them_through_the_vqvae(vqvae, monkeypatch):
    sampler = P.PriorSampler(vqvae, code_prior(vqvae))
    codes = sampler.sample_codes(5, generator=torch.Generator().manual_seed(1))
    assert codes.shape == (5, *vqvae.grid) and codes.dtype == torch.long
    assert 0 <= int(codes.min()) and int(codes.max()) < 8 and len(codes.unique()) > 1
    decoded = []
    real = vqvae.decode_indices
    monkeypatch.setattr(vqvae, "decode_indices", lambda idx: decoded.append(idx) or real(idx))
    images = sampler.sample(5, generator=torch.Generator().manual_seed(1))
    assert images.shape == (5, 1, 14, 14) and 0 <= float(images.min()) and float(images.max()) <= 1
    assert torch.equal(decoded[0], codes)                              # exactly the prior's codes
    assert torch.allclose(images, real(codes))
    uniform = P.uniform_codes(vqvae, 3, torch.Generator().manual_seed(0))
    assert uniform.shape == (3, 1, 14, 14)


def test_prior_nll_is_log_k_for_a_uniform_prior_and_the_mean_code_cross_entropy(vqvae, digits):
    prior = code_prior(vqvae)
    with torch.no_grad():
        prior.linear.bias.zero_()                                       # zero weights and bias: uniform softmax
    sampler = P.PriorSampler(vqvae, prior)
    assert sampler.code_nll(digits[1].x) == pytest.approx(math.log(8), rel=1e-5)
    with torch.no_grad():
        prior.linear.bias.normal_()
    x = digits[1].x[:7]
    maps = sampler.as_maps(vqvae.encode_indices(x))
    with torch.no_grad():
        expected = float(-prior.log_prob(maps).sum()) / (7 * vqvae.grid[0] * vqvae.grid[1])
    assert sampler.code_nll(x, batch_size=3) == pytest.approx(expected, rel=1e-5)


def test_a_prior_that_does_not_fit_the_vqvae_is_refused_naming_both(vqvae, digits):
    with pytest.raises(ConfigError, match="prior P models 4 codes but the vq-vae has 8: train the prior on codes:R"):
        P.PriorSampler(vqvae, code_prior(vqvae, levels=4), "R", "P")
    with pytest.raises(ConfigError, match="models 1×5×5 maps but the vq-vae's code grid is 1×4×4"):
        P.PriorSampler(vqvae, code_prior(vqvae, grid=(5, 5)), "R", "P")
    with pytest.raises(CapabilityError, match="not an autoregressive model"):
        P.PriorSampler(vqvae, genlab.create("vae", image_shape=(1, 4, 4)), "R", "P")
    with pytest.raises(CapabilityError, match="not a vq-vae"):
        P.PriorSampler(genlab.create("vae", data=digits[0]), code_prior(vqvae), "R", "P")


def test_a_vqvae_with_a_prior_samples_for_the_tools_that_take_a_model(vqvae):
    model = P.WithPrior(vqvae, P.PriorSampler(vqvae, code_prior(vqvae)))
    assert "sample" in model.capabilities() and model.can("sample") and not vqvae.can("sample")
    assert model.registry_name == "vq-vae" and model.grid == vqvae.grid
    assert model.require("sample")(2).shape == (2, 1, 14, 14)
    with pytest.raises(ConfigError, match="takes no label"):
        model.sample(2, 3)


def test_the_leaderboard_puts_bits_per_dim_beside_the_vae_nll():
    from genlab.apps.bench import markdown

    rows = [{"model": "vae", "seconds": 60, "images_per_s": 900, "neg_elbo": 110.0, "iwae_nll": 105.0},
            {"model": "fvsbn", "seconds": 60, "images_per_s": 5000, "nll": 98.0, "bits_per_dim": 0.18}]
    header = next(line for line in markdown(rows, 60).splitlines() if line.startswith("| model"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    at = cells.index("IWAE NLL ↓")
    assert cells[at + 1:at + 3] == ["NLL ↓", "bits/dim ↓"], cells
