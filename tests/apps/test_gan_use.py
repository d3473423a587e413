"""Using a trained generator: GAN inversion, latent tools on z and class embeddings, augmentation."""
import json
import math

import numpy as np
import pytest
import torch

import genlab
from genlab.apps import augment as A
from genlab.apps import invert as I
from genlab.apps import latent
from genlab.errors import CapabilityError, ConfigError, DataError
from tests.cli_run import run


def one_line_error(code, err, *words):
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture
def runs(trained_runs):
    """``runs["dcgan"]``, ``cgan``, ``infogan``: tiny generators trained one epoch on 200 digits;
    ``ae`` on 400. Shared by the session: a test that writes into one copies it."""
    return trained_runs


@pytest.fixture(scope="module")
def generator():
    """An untrained MLP generator: enough structure for inversion (G is a fixed smooth map of z)."""
    torch.manual_seed(0)
    return genlab.create("gan", latent_dim=8, g_hidden=(64,), d_hidden=(16,)).eval()


# ------------------------------------------------------------------------------------ inversion

def test_optimisation_recovers_a_generating_code(generator):
    torch.manual_seed(1)
    z_star = torch.randn(6, 8)
    with torch.no_grad():
        target = generator.decode(z_star)
    random_mse = I.pixel_mse(generator.decode(torch.randn(6, 8)).detach(), target)
    start = torch.randn(1, 6, 8)
    start_mse = I.pixel_mse(generator.decode(start[0]).detach(), target)
    z, mse = I.optimize_codes(generator, target, start, steps=150, lr=0.1)
    assert (mse < 0.05 * start_mse).all() and (mse < 0.05 * random_mse).all(), (mse, start_mse, random_mse)
    assert torch.allclose(I.pixel_mse(generator.decode(z).detach(), target), mse, atol=1e-6)
    # several restarts in one batch: the best of them is kept, never worse than one start alone
    result = I.invert(generator, target, method="optimize", steps=150, restarts=4)
    assert result.z.shape == (6, 8) and (result.mse <= 0.05 * random_mse).all()
    assert generator.training is False and all(p.requires_grad for p in generator.parameters())


def test_hybrid_is_never_worse_than_the_encoder(generator, tmp_path):
    encoder, info = I.get_encoder(generator, tmp_path / "enc", steps=30)
    assert info["cached"] is False
    x = generator.sample(8)
    enc = I.invert(generator, x, method="encoder", encoder=encoder)
    hyb = I.invert(generator, x, method="hybrid", encoder=encoder, steps=20)
    assert (hyb.mse <= enc.mse + 1e-7).all()
    assert hyb.mse.mean() < 0.8 * enc.mse.mean()          # and the refinement does improve on it
    with pytest.raises(ConfigError, match="needs a trained encoder"):
        I.invert(generator, x, method="hybrid")


def test_encoder_is_cached_and_reused(generator, tmp_path, monkeypatch):
    folder = tmp_path / "inversion-encoder"
    encoder, info = I.get_encoder(generator, folder, steps=5)
    assert (folder / "encoder.safetensors").is_file() and not info["cached"]
    assert json.loads((folder / "encoder.json").read_text())["generator_sha256"] == I.generator_fingerprint(generator)
    trained = []
    real_train = I.train_encoder
    monkeypatch.setattr(I, "train_encoder", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    again, info = I.get_encoder(generator, folder, steps=5)
    x = torch.rand(3, 1, 28, 28)
    assert info["cached"] and not trained
    assert torch.equal(I.encode_with(again, x), I.encode_with(encoder, x))
    # other settings, or a changed generator, train a new one
    I.get_encoder(generator, folder, steps=6)
    assert trained == [1]
    other = genlab.create("gan", latent_dim=8, g_hidden=(64,), d_hidden=(16,))
    I.get_encoder(other, folder, steps=6)
    assert trained == [1, 1]


def test_invert_cli_on_held_out_images_and_a_file(trained_runs, tmp_path, capsys):
    from PIL import Image

    run_dir = trained_runs.copy("dcgan", tmp_path)        # the inversion encoder is cached in the run folder
    code, out, err = run(capsys, "invert", run_dir, "--n", 3, "--method", "all", "--steps", 3, "--restarts", 2,
                         "--encoder-steps", 3, "--out", tmp_path / "a")
    assert code == 0, err
    assert "encoder: trained" in out and "hybrid: MSE" in out
    figures = json.loads((tmp_path / "a" / "invert.json").read_text())
    assert set(figures["methods"]) == {"optimize", "encoder", "hybrid"} and figures["n"] == 3
    for m, f in figures["methods"].items():
        assert f["mse"] > 0
        # PSNR is averaged per image, so by Jensen it is at least the PSNR of the mean MSE
        assert f["psnr"] >= 10 * math.log10(1 / f["mse"]) - 1e-6
        assert f"{m}: MSE {f['mse']:.5f}, PSNR {f['psnr']:.2f} dB, {f['seconds']:.1f} s on 3 image(s)" in out
    assert (tmp_path / "a" / "invert.png").is_file() and (run_dir / "inversion-encoder" / "encoder.json").is_file()
    # a second call reuses the encoder of the run folder
    code, out, err = run(capsys, "invert", run_dir, "--n", 2, "--method", "encoder", "--encoder-steps", 3,
                         "--out", tmp_path / "b")
    assert code == 0 and "encoder: cached" in out, err
    # an image file
    test = genlab.load_data("mnist5k", "test")
    Image.fromarray((test.x[0, 0].numpy() * 255).astype(np.uint8)).save(tmp_path / "digit.png")
    code, out, err = run(capsys, "invert", run_dir, tmp_path / "digit.png", "--steps", 5, "--restarts", 2,
                         "--out", tmp_path / "c")
    assert code == 0, err
    assert json.loads((tmp_path / "c" / "invert.json").read_text())["source"].endswith("digit.png")


def test_invert_refusals_are_one_line(runs, tmp_path, capsys):
    code, _, err = run(capsys, "invert", runs["dcgan"], tmp_path / "missing.png")
    one_line_error(code, err, "does not exist")
    code, _, err = run(capsys, "invert", runs["ae"], "--n", 2)
    one_line_error(code, err, "has an encoder", "reconstruct")
    code, _, err = run(capsys, "invert", runs["dcgan"], "--method", "magic")
    one_line_error(code, err, "unknown inversion method")
    code, _, err = run(capsys, "invert", runs["dcgan"], "--label", 3, "--n", 1)
    one_line_error(code, err, "unconditional")
    (tmp_path / "x.png").write_bytes(b"")
    from PIL import Image

    Image.new("L", (28, 28), 0).save(tmp_path / "x.png")
    code, _, err = run(capsys, "invert", runs["cgan"], tmp_path / "x.png")
    one_line_error(code, err, "with a class", "--label")
    assert not (runs["cgan"] / "invert").exists()        # refused before writing anything


def test_conditional_inversion_uses_the_labels(runs, tmp_path, capsys):
    code, out, err = run(capsys, "invert", runs["cgan"], "--n", 2, "--steps", 2, "--restarts", 1,
                         "--out", tmp_path / "o")
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "invert.json").read_text())["labels"] == [0, 9]


def test_denoise_refuses_a_gan_in_one_line(runs, capsys):
    code, _, err = run(capsys, "denoise", runs["dcgan"], "--n-eval", 10)
    one_line_error(code, err, "cannot reconstruct", "genlab invert")


# ---------------------------------------------------------------------------------- latent tools

def test_latent_tools_on_a_gan_end_to_end(runs, tmp_path, capsys):
    from PIL import Image

    run_dir = runs["dcgan"]
    for i, args in enumerate([("interpolate", "--seeds", "1,2", "--steps", 5),
                              ("traverse", "--dims", "0,3", "--steps", 5),
                              ("manifold", "--n", 4),
                              ("arithmetic", "--plus", "thick", "--minus", "thin", "--base", "all", "--n", 3,
                               "--pool", 200)]):
        out = tmp_path / f"{i}.png"
        code, text, err = run(capsys, *args[:1], run_dir, *args[1:], "--out", out)
        assert code == 0, (args, err)
        assert Image.open(out).size[0] > 50
    assert "generated samples grouped by ink" in text
    code, _, err = run(capsys, "interpolate", run_dir, "--classes", "3,8")
    one_line_error(code, err, "conditional generator")


def test_class_interpolation_on_a_conditional_gan(runs, tmp_path, capsys):
    model = genlab.load(runs["cgan"])
    images = latent.interpolate_classes(model, [3, 8], steps=5, seed=4)
    z = latent.prior_codes(model, 1, 4)
    with torch.no_grad():
        ends = model.decode(z.expand(2, -1), torch.tensor([3, 8]))
    assert images.shape == (5, 1, 28, 28)
    assert torch.allclose(images[0], ends[0], atol=1e-5) and torch.allclose(images[-1], ends[1], atol=1e-5)
    # the middle is neither end (a tiny one-epoch cgan draws faint digits: measured against the ends' gap)
    gap = (ends[1] - ends[0]).abs().max()
    assert gap > 1e-4
    assert all((images[2] - end).abs().max() > 0.1 * gap for end in (images[0], images[-1]))
    for i, args in enumerate([("interpolate", "--classes", "3,8", "--steps", 5),
                              ("interpolate", "--seeds", "1,2", "--label", 3),
                              ("traverse", "--label", 5, "--steps", 3, "--dims", "0"),
                              ("manifold", "--label", 1, "--n", 3),
                              ("arithmetic", "--plus", "1", "--minus", "7", "--base", "3", "--n", 2, "--pool", 100)]):
        code, text, err = run(capsys, *args[:1], runs["cgan"], *args[1:], "--out", tmp_path / f"{i}.png")
        assert code == 0, (args, err)
    assert "asked to draw" in text
    code, _, err = run(capsys, "interpolate", runs["cgan"], "--seeds", "1,2")
    one_line_error(code, err, "with a class", "--label")
    code, _, err = run(capsys, "interpolate", runs["cgan"], "--classes", "3,12")
    one_line_error(code, err, "out of range")


def test_latent_tools_on_infogan_take_the_categorical_code_as_label(runs, tmp_path, capsys):
    model = genlab.load(runs["infogan"])
    images = latent.interpolate_seeds(model, 1, 2, steps=4, label=3)
    z = torch.stack([latent.prior_codes(model, 1, seed)[0] for seed in (1, 2)])
    with torch.no_grad():
        ends = model.decode(z, torch.tensor([3, 3]))
    assert images.shape == (4, 1, 28, 28) and z.shape == (2, model.config.latent_dim)
    assert torch.allclose(images[0], ends[0], atol=1e-5) and torch.allclose(images[-1], ends[1], atol=1e-5)
    walk = latent.interpolate_classes(model, [2, 7], steps=3, seed=0)
    with torch.no_grad():
        ends = model.decode(latent.prior_codes(model, 1, 0).expand(2, -1), torch.tensor([2, 7]))
    assert torch.allclose(walk[0], ends[0], atol=1e-5) and torch.allclose(walk[-1], ends[1], atol=1e-5)
    for i, args in enumerate([("interpolate", "--seeds", "1,2", "--label", 3),
                              ("interpolate", "--classes", "2,7", "--steps", 4),
                              ("traverse", "--label", 5, "--steps", 3, "--dims", "0"),
                              ("manifold", "--label", 1, "--n", 3)]):
        code, _, err = run(capsys, *args[:1], runs["infogan"], *args[1:], "--out", tmp_path / f"{i}.png")
        assert code == 0, (args, err)
    for tool in (("interpolate", "--seeds", "1,2"), ("traverse",), ("manifold",)):
        code, _, err = run(capsys, *tool[:1], runs["infogan"], *tool[1:], "--out", tmp_path / "x.png")
        one_line_error(code, err, "categorical code c1", "--label")
    code, _, err = run(capsys, "manifold", runs["infogan"], "--label", 10, "--out", tmp_path / "x.png")
    one_line_error(code, err, "out of range")
    code, _, err = run(capsys, "interpolate", runs["dcgan"], "--seeds", "1,2", "--label", 3, "--out", tmp_path / "x.png")
    one_line_error(code, err, "--label", "draws neither")


def test_generator_arithmetic_averages_group_codes(generator):
    class InkJudge:
        """Class 1 for the brighter half of the images, 0 for the rest, with full confidence."""
        def probs_of(self, x):
            ink = x.flatten(1).mean(1)
            label = (ink > ink.median()).long()
            return torch.nn.functional.one_hot(label, 10).float()

    rows, vector, info = latent.generator_arithmetic(generator, "1", "0", "0", judge=InkJudge(), n=4, pool=300,
                                                     strengths=(0.0, 1.0), seed=3)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        z, _ = generator.noise(300)
    with torch.no_grad():
        ink = generator.decode(z).flatten(1).mean(1)
    bright = ink > ink.median()
    assert torch.allclose(vector, z[bright].mean(0) - z[~bright].mean(0), atol=1e-5)
    assert info["group_sizes"] == {"1": 150, "0": 150} and "judge" in info["source"]
    with torch.no_grad():
        assert torch.allclose(rows[0], generator.decode(z[~bright][:4]), atol=1e-5)
        assert torch.allclose(rows[1], generator.decode(z[~bright][:4] + vector), atol=1e-5)
    with pytest.raises(ConfigError, match="judge"):
        latent.generator_arithmetic(generator, "1", "0", "0", pool=50)


def test_gan_arithmetic_without_a_cached_judge(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "empty-cache"))
    code, _, err = run(capsys, "arithmetic", runs["dcgan"], "--plus", "1", "--minus", "7", "--base", "3",
                       "--out", tmp_path / "a.png")
    one_line_error(code, err, "genlab judge train --data mnist5k")


# ------------------------------------------------------------------------------------ augment

def test_augment_end_to_end(runs, tmp_path, capsys):
    code, out, err = run(capsys, "augment", "--generator", runs["cgan"], "--labelled", 20, "--synthetic", 20,
                         "--epochs", 1, "--out", tmp_path / "aug")
    assert code == 0, err
    assert "20 real" in out and "20 generated" in out
    figures = json.loads((tmp_path / "aug" / "augment.json").read_text())
    assert figures["labelled"] == 20 and figures["synthetic"] == 20 and figures["test_images"] == 1000
    assert all(0 <= figures["accuracy"][k] <= 1 for k in ("real", "augmented", "synthetic"))
    assert (tmp_path / "aug" / "samples.png").is_file()


def test_augment_picks_stratified_labelled_images(mnist):
    train, _ = mnist
    a, b = A.stratified(train, 23, 10, seed=1), A.stratified(train, 23, 10, seed=1)
    assert torch.equal(a.x, b.x)
    assert torch.bincount(a.y, minlength=10).tolist() == [3, 3, 3] + [2] * 7
    assert torch.bincount(A.per_class(25, 10)).tolist() == [3] * 5 + [2] * 5


def test_augment_refusals(runs, tmp_path, capsys):
    code, _, err = run(capsys, "augment", "--generator", runs["dcgan"])
    one_line_error(code, err, "conditional generator such as cgan/acgan")
    code, _, err = run(capsys, "augment", "--generator", runs["cgan"], "--labelled", 5, "--out", tmp_path / "a")
    one_line_error(code, err, "fewer than the 10 classes")
    x = (genlab.load_data("mnist5k", "test").x[:100, 0].numpy() * 255).astype(np.uint8)
    np.savez(tmp_path / "x.npz", x=x)
    code, _, err = run(capsys, "augment", "--generator", runs["cgan"], "--data", f"npz:{tmp_path / 'x.npz'}",
                       "--out", tmp_path / "b")
    one_line_error(code, err, "no labels")
    code, _, err = run(capsys, "augment", "--generator", runs["cgan"], "--data", "digits", "--out", tmp_path / "c")
    one_line_error(code, err, "shape")
    model, (train, test) = genlab.load(runs["cgan"]), (genlab.load_data("mnist5k", "train"),
                                                        genlab.load_data("mnist5k", "test"))
    with pytest.raises(CapabilityError):
        A.augment(genlab.load(runs["dcgan"]), train, test)
    unlabelled = train.subset(range(10))
    unlabelled.y = None
    with pytest.raises(DataError, match="no labels"):
        A.augment(model, unlabelled, test)
