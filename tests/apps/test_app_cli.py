"""End to end: `genlab denoise`, `compress`, `anomaly`, `features`, `toy manifold`, `filters` in a temporary folder."""
import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.models.base import GenerativeModel, ModelConfig, Player, adam
from tests.cli_run import run


def user_error(capsys, *argv, match):
    code, out, err = run(capsys, *argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("genlab: error:"), (code, out, err)
    assert match in lines[0], lines[0]


@dataclass
class PainterConfig(ModelConfig):
    pass


class Painter(GenerativeModel):
    """A model with nothing but ``sample``: no encoder, no reconstruction, no layer on pixels."""

    def __init__(self, config):
        super().__init__(config)
        self.logits = torch.nn.Parameter(torch.zeros(config.image_shape))

    def sample(self, n, temperature=1.0):
        return torch.sigmoid(self.logits).expand(n, *self.image_shape)

    def loss(self, batch):
        value = ((torch.sigmoid(self.logits) - batch["x"]) ** 2).mean()
        return {"loss": value}

    def players(self):
        return [Player("painter", [self.logits], adam([self.logits], 0.1), self.loss)]


@pytest.fixture(scope="module")
def painter(mnist, tmp_path_factory):
    """A run of the stand-in model, registered while this module's tests run."""
    from genlab.registry import Entry, _REGISTRY, get

    train = mnist[0].subset(range(0, 4000, 10))
    get("ae")                                           # built-in models first, then the stand-in beside them
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(_REGISTRY, "test-painter", Entry("test-painter", Painter, PainterConfig, "stand-in"))
        mp.setattr(Painter, "registry_name", "test-painter", raising=False)
        model = genlab.create("test-painter", data=train)
        out = tmp_path_factory.mktemp("apps") / "painter"
        genlab.train(model, train, epochs=1, out=out, progress=False, data_info={"spec": "mnist5k"})
        yield out


class RunCopies(dict):
    """``runs["ae"]``: a private copy of a shared trained run, made on first use (the tasks write
    into the run folder by default)."""

    def __init__(self, trained_runs, folder, **extra):
        super().__init__(**extra)
        self.trained_runs, self.folder = trained_runs, folder

    def __missing__(self, name):
        self[name] = self.trained_runs.copy(name, self.folder)
        return self[name]


@pytest.fixture
def runs(trained_runs, painter, tmp_path):
    """ae (latent 8), conv-ae and vae (latent 2) trained one epoch on 400 mnist5k digits (their config
    points at mnist5k for held-out data), and the stand-in painter."""
    return RunCopies(trained_runs, tmp_path / "runs", painter=painter)


@pytest.fixture(scope="module")
def unlabelled(mnist, tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "unlabelled.npz"
    np.savez(path, x=(mnist[1].x[::20, 0] * 255).round().byte().numpy())
    return f"npz:{path}"


@pytest.fixture(scope="module")
def three_digits(mnist, tmp_path_factory):
    """Digits 0, 1, 2 only, labelled (an npz is used whole as train and test)."""
    train = mnist[0]
    keep = (train.y <= 2).nonzero().flatten()[::8]
    path = tmp_path_factory.mktemp("data") / "three.npz"
    np.savez(path, x=(train.x[keep, 0] * 255).round().byte().numpy(), y=train.y[keep].numpy())
    return f"npz:{path}"


def _json(path):
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- denoise

def test_denoise_held_out_images(runs, capsys):
    code, out, _ = run(capsys, "denoise", runs["ae"], "--noise", "gaussian:0.5", "--n", 16, "--n-eval", 200)
    folder = runs["ae"] / "denoise"
    assert code == 0 and str(folder) in out and "PSNR" in out
    for name in ("noisy.png", "denoised.png", "clean.png", "comparison.png"):
        assert Image.open(folder / name).size[0] > 100
    f = _json(folder / "denoise.json")
    assert f["noise"] == "gaussian:0.5" and f["n"] == 200 and f["model"] == "ae"
    assert 5 < f["noisy"]["psnr"] < 15 and 0 <= f["noisy"]["ssim"] < 0.5      # σ = 0.5 noise on digits
    assert f["psnr_gain_db"] == pytest.approx(f["denoised"]["psnr"] - f["noisy"]["psnr"])
    # the default folder belongs to the command: running it again replaces its files
    assert run(capsys, "denoise", runs["ae"], "--noise", "mask:0.5", "--n-eval", 50)[0] == 0
    assert _json(folder / "denoise.json")["noise"] == "mask:0.5"


def test_denoise_one_image_file(runs, mnist, tmp_path, capsys):
    digit = (mnist[1].x[0, 0].numpy() * 255).astype(np.uint8)
    Image.fromarray(digit).convert("RGB").resize((56, 56)).save(tmp_path / "digit.png")
    out = tmp_path / "out"
    code, text, _ = run(capsys, "denoise", runs["conv-ae"], "--image", tmp_path / "digit.png", "--out", out)
    assert code == 0 and "taken as noisy" in text
    assert Image.open(out / "digit-pair.png").size[0] > 50 and (out / "digit-denoised.png").is_file()
    f = _json(out / "digit-denoise.json")
    assert f["input_is"] == "noisy" and f["size"] == [1, 28, 28]
    # a one-epoch conv-ae changes the picture, and the PSNR is that change in decibels (one image)
    assert f["change_mse"] > 0
    assert f["psnr_denoised_vs_input"] == pytest.approx(10 * math.log10(1 / f["change_mse"]), rel=1e-3)
    code, text, _ = run(capsys, "denoise", runs["conv-ae"], "--image", tmp_path / "digit.png", "--out", out,
                        "--noise", "saltpepper:0.2", "--overwrite")
    assert code == 0 and _json(out / "digit-denoise.json")["input_is"] == "clean"


def test_denoise_bad_inputs(runs, tmp_path, capsys):
    user_error(capsys, "denoise", runs["ae"], "--noise", "gauss:0.5", match="cannot read noise spec")
    user_error(capsys, "denoise", runs["ae"], "--noise", "gaussian:lots", match="not a number")
    user_error(capsys, "denoise", runs["painter"], match="cannot reconstruct")
    user_error(capsys, "denoise", tmp_path / "nowhere", match="does not exist")
    user_error(capsys, "denoise", runs["ae"], "--image", tmp_path / "missing.png", match="does not exist")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    user_error(capsys, "denoise", runs["ae"], "--out", tmp_path / "full", match="not empty")
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me"


# --------------------------------------------------------------------------- compress

def test_compress_writes_table_json_and_plot(tmp_path, capsys):
    out = tmp_path / "compress"
    code, text, _ = run(capsys, "compress", "--data", "digits", "--codes", "2,8", "--models", "pca,ae",
                        "--epochs", 1, "--out", out)
    assert code == 0 and "| 2 |" in text and "| 8 |" in text
    f = _json(out / "compress.json")
    mse = {(r["model"], r["code"]): r["mse"] for r in f["rows"]}
    assert set(mse) == {("pca", 2), ("pca", 8), ("ae", 2), ("ae", 8)}
    assert mse[("pca", 8)] < mse[("pca", 2)]
    assert "| code size | pca | ae |" in (out / "compress.md").read_text()
    assert Image.open(out / "compress.png").size[0] > 200


def test_compress_bad_inputs(tmp_path, capsys):
    user_error(capsys, "compress", "--data", "digits", "--models", "pca,no-such-model", match="unknown model")
    user_error(capsys, "compress", "--data", "digits", "--codes", "2,eight", match="comma-separated integers")
    user_error(capsys, "compress", "--data", "digits", "--codes", "2,100", "--models", "pca", "--out", tmp_path / "c",
               match="at most 64 components")


# --------------------------------------------------------------------------- anomaly

def test_anomaly_scores_a_run_with_a_held_out_digit(runs, three_digits, capsys):
    code, out, _ = run(capsys, "anomaly", runs["ae"], "--holdout-digit", 3, "--n", 16)
    folder = runs["ae"] / "anomaly"
    assert code == 0 and "AUROC" in out
    f = _json(folder / "anomaly.json")
    assert f["score"] == "recon_mse" and f["normal_classes"] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert 0 <= f["auroc"] <= 1 and f["anomalous_share"] == pytest.approx(0.1)
    for name in ("most_anomalous.png", "least_anomalous.png", "scores.png"):
        assert Image.open(folder / name).size[0] > 100
    code, out, _ = run(capsys, "anomaly", runs["vae"], "--data", three_digits, "--normal-classes", "0,1",
                       "--out", runs["vae"] / "a")
    assert code == 0 and _json(runs["vae"] / "a" / "anomaly.json")["score"] == "neg_elbo"


def test_anomaly_holdout_protocol_from_the_command_line(three_digits, tmp_path, capsys):
    out = tmp_path / "one"
    code, text, _ = run(capsys, "anomaly", "--model", "ae", "--data", three_digits, "--holdout-digit", 1,
                        "--epochs", 1, "--out", out)
    assert code == 0 and _json(out / "anomaly.json")["holdout_digit"] == 1
    out = tmp_path / "all"
    code, text, _ = run(capsys, "anomaly", "--model", "ae", "--data", three_digits, "--all-digits",
                        "--epochs", 1, "--out", out)
    assert code == 0 and "mean AUROC" in text
    f = _json(out / "holdout.json")
    assert [r["digit"] for r in f["per_digit"]] == [0, 1, 2]
    assert f["worst_auroc"] == min(r["auroc"] for r in f["per_digit"])
    assert (out / "holdout_auroc.png").is_file()


def test_anomaly_bad_inputs(runs, unlabelled, tmp_path, capsys):
    user_error(capsys, "anomaly", runs["ae"], "--data", unlabelled, "--holdout-digit", 3, match="labelled data")
    user_error(capsys, "anomaly", "--model", "ae", "--data", unlabelled, "--holdout-digit", 3, match="labelled data")
    user_error(capsys, "anomaly", runs["ae"], "--normal-classes", "0,11", match="do not occur")
    user_error(capsys, "anomaly", runs["ae"], "--model", "ae", match="not both")
    user_error(capsys, "anomaly", "--model", "ae", match="exactly one of --holdout-digit D or --all-digits")
    user_error(capsys, "anomaly", runs["painter"], match="cannot score anomalies")
    user_error(capsys, "anomaly", tmp_path / "nowhere", match="does not exist")
    # unlabelled data without labels asked for: scores and grids, no AUROC
    code, _, _ = run(capsys, "anomaly", runs["ae"], "--data", unlabelled, "--out", tmp_path / "u")
    assert code == 0 and "auroc" not in _json(tmp_path / "u" / "anomaly.json")


# --------------------------------------------------------------------------- features

def test_features_probe_and_map(runs, capsys):
    code, out, _ = run(capsys, "features", runs["ae"], "--limit", 200, "--n", 150, "--method", "tsne")
    folder = runs["ae"] / "features"
    assert code == 0 and "linear probe accuracy" in out
    f = _json(folder / "features.json")
    assert f["code_dim"] == 8 and f["train_images"] == 200 and f["map"]["method"] == "tsne"
    assert all(0 <= v <= 1 for v in f["probe_accuracy"].values())
    assert f["probe_accuracy"]["pixels"] > 0.5                          # ten digits, 200 images: far above 0.1
    assert Image.open(folder / "code_map.png").size[0] > 200 and "| codes | 8 |" in (folder / "features.md").read_text()


def test_features_bad_inputs(runs, unlabelled, capsys):
    user_error(capsys, "features", runs["painter"], match="cannot encode")
    user_error(capsys, "features", runs["ae"], "--data", unlabelled, match="no labels")


# --------------------------------------------------------------------------- toy manifold

def test_toy_manifold(tmp_path, capsys):
    out = tmp_path / "toy"
    code, text, _ = run(capsys, "toy", "manifold", "--epochs", 20, "--points", 300, "--grid", 6, "--out", out)
    assert code == 0 and "mean distance to the ellipse" in text
    f = _json(out / "manifold.json")
    assert f["grid_points"] == 36 and f["grid_mean_distance_after"] < f["grid_mean_distance_before"]
    assert Image.open(out / "manifold.png").size[0] > 300
    user_error(capsys, "toy", "manifold", "--epochs", 1, "--out", out, match="not empty")


# --------------------------------------------------------------------------- filters

def test_filters(runs, tmp_path, capsys):
    code, out, _ = run(capsys, "filters", runs["ae"])
    assert code == 0 and (runs["ae"] / "filters.png").is_file()
    shapes = [s["shape"] for s in _json(runs["ae"] / "filters.json")["sets"]]
    assert shapes == [[8, 1, 28, 28], [8, 1, 28, 28]]
    code, out, _ = run(capsys, "filters", runs["conv-ae"], "--which", "encoder", "--n", 16, "--out", tmp_path / "f.png")
    assert code == 0 and [s["shape"] for s in _json(tmp_path / "f.json")["sets"]] == [[16, 1, 3, 3]]
    user_error(capsys, "filters", runs["conv-ae"], "--out", tmp_path / "f.png", match="exists")
    user_error(capsys, "filters", runs["painter"], match="no first-layer filters or decoder atoms")
