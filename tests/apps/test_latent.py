"""Latent-space tools: interpolation, morphing, manifold, traversal, arithmetic, mixing, the KL sweep."""
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import genlab
from genlab.apps import latent
from genlab.errors import CapabilityError, ConfigError, DataError
from genlab.models.base import GenerativeModel, ModelConfig
from genlab.registry import register
from tests.cli_run import run


def identity_decoder(model, d):
    """Make decode show the code itself as a 1×1×d image, so tests can read codes back."""
    model.decode = lambda z: z.reshape(len(z), 1, 1, d)
    return model


@dataclass
class _GenConfig(ModelConfig):
    latent_dim: int = 3


@register("test-generator", _GenConfig, "a decoder with no encoder, for capability tests")
class _Generator(GenerativeModel):
    def __init__(self, config):
        super().__init__(config)
        self.net = torch.nn.Linear(config.latent_dim, 28 * 28)

    def players(self):
        return []

    def decode(self, z, y=None):
        self.labels(y, len(z))
        return torch.sigmoid(self.net(z)).view(-1, 1, 28, 28)

    def sample(self, n, y=None, *, temperature=1.0, generator=None):
        return self.decode(torch.randn(n, self.config.latent_dim, generator=generator) * temperature, y)


def test_slerp_and_lerp_endpoints_equal_inputs():
    a, b = torch.tensor([1.0, 2.0, -0.5]), torch.tensor([-0.3, 0.7, 2.0])
    t = torch.linspace(0, 1, 7)
    for fn in (latent.lerp, latent.slerp):
        out = fn(a, b, t)
        assert out.shape == (7, 3)
        assert torch.allclose(out[0], a, atol=1e-5) and torch.allclose(out[-1], b, atol=1e-5)
    # spherical: the norm stays between the endpoints' for equal-norm codes
    c = b / b.norm() * a.norm()
    norms = latent.slerp(a, c, t).norm(dim=1)
    assert torch.allclose(norms, a.norm().expand(7), rtol=1e-4)
    assert latent.lerp(a, c, t).norm(dim=1)[3] < a.norm() - 1e-3


def test_path_passes_through_every_waypoint_once():
    pts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    p = latent.path(pts, steps=5)
    assert p.shape == (3 * 4 + 1, 2)
    for i, k in enumerate((0, 4, 8, 12)):
        assert torch.allclose(p[k], pts[i])
    with pytest.raises(ConfigError):
        latent.path(pts, steps=1)


def test_arithmetic_with_zero_vector_is_identity(mnist):
    _, test = mnist
    model = genlab.create("ae", latent_dim=8)
    rows, vector = latent.arithmetic(model, test, plus="3", minus="3", base="5", n=4)
    assert torch.count_nonzero(vector) == 0
    x = test.x[test.y == 5][:4]
    with torch.no_grad():
        expected = model.reconstruct(x)
    for row in rows:
        assert torch.allclose(row, expected, atol=1e-6)


def test_arithmetic_adds_the_mean_code_difference(mnist):
    _, test = mnist
    model = identity_decoder(genlab.create("ae", latent_dim=6), 6)
    rows, vector = latent.arithmetic(model, test, plus="thick", minus="thin", base="1", n=3, strengths=(0.0, 1.0))
    z = latent.codes(model, test, limit=len(test))
    ink = test.x.flatten(1).mean(1)
    expected = z[ink >= ink.quantile(0.75)].mean(0) - z[ink <= ink.quantile(0.25)].mean(0)
    assert torch.allclose(vector, expected, atol=1e-6)
    assert torch.allclose(rows[1].flatten(1) - rows[0].flatten(1), vector.expand(3, 6), atol=1e-5)


def test_groups_need_labels_for_classes(mnist):
    _, test = mnist
    unlabelled = test.subset(range(50))
    unlabelled.y = None
    with pytest.raises(DataError, match="no labels"):
        latent.group_mask(unlabelled, "3")
    with pytest.raises(ConfigError, match="cannot read group"):
        latent.group_mask(test, "bold")
    assert latent.group_mask(unlabelled, "thick").sum() >= 12


def test_traverse_varies_one_dimension_per_row():
    model = identity_decoder(genlab.create("ae", latent_dim=4), 4)
    images, dims = latent.traverse(model, None, None, dims=[1, 3], steps=5, span=2.0)
    codes = images.view(2, 5, 4)
    base = latent.prior_codes(model, 1, seed=0)[0]         # a typical prior code, not z = 0
    assert dims == [1, 3]
    assert torch.count_nonzero(base) == 4
    assert torch.allclose(codes[0, :, 1], base[1] + torch.linspace(-2, 2, 5))
    assert torch.equal(codes[0][:, [0, 2, 3]], base[[0, 2, 3]].expand(5, 3))
    assert torch.allclose(codes[1, :, 3], base[3] + torch.linspace(-2, 2, 5))
    with pytest.raises(ConfigError, match="out of range"):
        latent.traverse(model, None, None, dims=[7])


def test_mix_takes_code_halves_from_each_source():
    model = identity_decoder(genlab.create("ae", latent_dim=6, code_activation="linear"), 6)
    x_a, x_b = torch.rand(3, 1, 28, 28), torch.rand(3, 1, 28, 28)
    mixed, how = latent.mix(model, x_a, x_b, split=0.5)
    with torch.no_grad():
        z_a, z_b = model.encode(x_a), model.encode(x_b)
    m = mixed.flatten(1)
    assert torch.allclose(m[:, :3], z_a[:, :3]) and torch.allclose(m[:, 3:], z_b[:, 3:])
    assert "of A" in how


def test_manifold_on_a_2d_prior_uses_normal_quantiles():
    model = identity_decoder(genlab.create("vae", latent_dim=2), 2)
    m = latent.manifold(model, n=5)
    assert m.images.shape == (25, 1, 1, 2)
    from scipy.stats import norm

    q = norm.ppf(np.linspace(0.05, 0.95, 5))
    assert np.allclose(m.xs.numpy(), q, atol=1e-5)
    grid = m.images.view(5, 5, 2)
    assert np.allclose(grid[0, :, 0].numpy(), q, atol=1e-5)            # x varies along a row
    assert np.allclose(grid[:, 0, 1].numpy(), q[::-1], atol=1e-5)      # y decreases down the rows


def test_manifold_of_a_larger_latent_needs_data(mnist):
    _, test = mnist
    model = genlab.create("conv-ae")
    with pytest.raises(ConfigError, match="needs data"):
        latent.manifold(model, n=4)
    m = latent.manifold(model, n=4, data=test.spread(200))
    assert m.images.shape == (16, 1, 28, 28) and "principal" in m.axes
    m = latent.manifold(model, n=3, data=test.spread(200), dims=(0, 5))
    assert m.images.shape == (9, 1, 28, 28) and "0 and 5" in m.axes


@pytest.fixture(scope="module")
def latent_runs(trained_runs, tmp_path_factory, mnist):
    """The session's vae (2-D code), conv-ae and cvae runs, and a decoder without an encoder."""
    small = mnist[0].subset(range(0, 4000, 8))
    out = tmp_path_factory.mktemp("latent") / "test-generator"
    genlab.train(genlab.create("test-generator", data=small), small, epochs=1, out=out, progress=False,
                 data_info={"spec": "mnist5k"})
    return {**{name: trained_runs.get(name) for name in ("vae", "conv-ae", "cvae")}, "test-generator": out}


@pytest.mark.parametrize("name", ["vae", "conv-ae", "cvae"])
def test_latent_commands_end_to_end(latent_runs, name, tmp_path, capsys):
    from PIL import Image

    run_dir = latent_runs[name]
    commands = [
        ("interpolate", "--through", "7,2,8,0", "--steps", 4, "--mode", "spherical"),
        ("interpolate", "--index", "3,500"),
        ("manifold", "--n", 6),
        ("traverse", "--dims", "0,1", "--steps", 5),
        ("arithmetic", "--plus", "thick", "--minus", "thin", "--base", "1", "--n", 4),
        ("mix", "--n", 4),
    ]
    for i, (cmd, *rest) in enumerate(commands):
        out = tmp_path / f"{cmd}-{i}.png"
        code, text, err = run(capsys, cmd, run_dir, *rest, "--out", out)
        assert code == 0, (cmd, err)
        assert Image.open(out).size[0] > 50, cmd


def test_generator_without_encoder(latent_runs, tmp_path, capsys):
    run_dir = latent_runs["test-generator"]
    code, _, err = run(capsys, "interpolate", run_dir, "--out", tmp_path / "i.png")
    assert code == 2 and "needs an encoder" in err and "--seeds" in err and "Traceback" not in err
    code, _, err = run(capsys, "interpolate", run_dir, "--seeds", "1,2", "--steps", 6, "--out", tmp_path / "s.png")
    assert code == 0 and (tmp_path / "s.png").is_file()
    code, _, err = run(capsys, "traverse", run_dir, "--steps", 5, "--out", tmp_path / "t.png")
    assert code == 0, err
    code, _, err = run(capsys, "arithmetic", run_dir, "--plus", "1", "--minus", "7", "--base", "3")
    assert code == 2 and "cannot encode" in err


def test_arithmetic_on_unlabelled_data_is_refused(latent_runs, tmp_path, capsys):
    _, test = genlab.load_data("mnist5k", "train"), genlab.load_data("mnist5k", "test")
    np.savez(tmp_path / "x.npz", x=(test.x[:100, 0].numpy() * 255).astype(np.uint8))
    code, _, err = run(capsys, "arithmetic", latent_runs["vae"], "--plus", "1", "--minus", "7", "--base", "3",
                       "--data", f"npz:{tmp_path / 'x.npz'}")
    assert code == 2 and "no labels" in err and "Traceback" not in err
    code, _, err = run(capsys, "interpolate", latent_runs["vae"], "--seeds", "1", "--out", tmp_path / "i.png")
    assert code == 2 and "--seeds expects 2" in err


def test_sweep_kl_orders_the_weightings(tmp_path, mnist):
    from genlab.apps.sweep import parse_weights, sweep_kl

    train, test = mnist
    # 6 epochs: after 2 both codes are still collapsed (KL 0.3 and 0.01) and the order of the
    # reconstruction errors is chance; at 6 it holds for seeds 0–2 (KL 1.6–5.2 against 0.01–0.09)
    result = sweep_kl([(1, 0.01), (1, 20)], epochs=6, out=tmp_path / "sweep", train_data=train.subset(range(0, 4000, 4)),
                      test_data=test.spread(300))
    low, high = result["runs"]
    assert low["label"] == "reconstruction privileged" and high["label"] == "KL privileged"
    assert low["recon"] < high["recon"] and low["kl"] > high["kl"]          # the weighting's trade-off
    assert (tmp_path / "sweep" / "sweep.png").is_file() and (tmp_path / "sweep" / "sweep.json").is_file()
    with pytest.raises(ConfigError, match="K1:K2"):
        parse_weights("1-0.5")
    with pytest.raises(genlab.GenlabError, match="already exists"):
        sweep_kl([(1, 1)], epochs=1, out=tmp_path / "sweep")
