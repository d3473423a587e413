"""`genlab eval` / `compare` / `bench` end to end (a judge is trained once into a temporary cache)."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from genlab.train.names import Name
from genlab.apps import evaluate as E
from genlab.apps.evaluate import evaluate, format_table, nearest_grid, parse_metrics
from genlab.apps.report import build_report
from genlab.cli import main
from genlab.errors import GenlabError
from genlab.metrics import memorization


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    mp.setenv("GENLAB_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def runs(cache, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    # the KL warm-up keeps a 2-epoch VAE from collapsing onto a few digits (it did once in a clean run)
    for name, extra in (("vae", ["--set", "latent_dim=8", "--set", "kl_warmup_epochs=1"]), ("conv-ae", [])):
        assert main(["train", name, "--epochs", "2", "--out", str(root / name), "--no-progress", "--no-report",
                     *extra]) == 0
    return root


def test_eval_vae_all_metrics(runs, capsys):
    assert main(["eval", str(runs / "vae"), "--n", "300", "--iwae-k", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    m = result["metrics"]
    for key in ("fid", "kid", "is", "precision", "recall", "density", "coverage", "classes_found", "duplicate_rate",
                "memorized_share", "neg_elbo", "iwae_nll", "mse", "psnr", "ssim", "probe_codes", "probe_pixels"):
        assert key in m, key
    assert set(result["not_applicable"]) == {"seg", "restore", "baseline", "judged",    # image-to-image only
                                             "cycle", "domain_fid", "label_kept", "attribute_accuracy", "content_kept"}
    assert m["iwae_nll"] <= m["neg_elbo"] + 0.5
    assert 1.0 <= m["is"] <= 10.0 and m["classes_found"] >= 5
    assert result["judge"]["test_accuracy"] >= 0.98 and result["features"]["name"] == "judge"
    saved = json.loads((runs / "vae" / "eval.json").read_text())
    assert saved["metrics"] == m and saved["images"] == {"nearest": "nearest.png"}
    grid = Image.open(runs / "vae" / "nearest.png")
    assert grid.height > 3 * 28 and grid.width > 12 * 28  # 3 rows of 12 digits
    html = build_report(runs / "vae").read_text()
    assert "Memorisation check" in html and "judge classifier trained on mnist5k" in html


def test_a_declared_metric_is_computed_exactly_for_models_that_can_encode(small, monkeypatch):
    train, test = small

    def code_mean(ev):
        return {"code_mean": float(ev.model.encode(ev.real.x).mean())}

    metric = E.Metric("codes", code_mean, needs=("encode",), why_not="codes", labels={"code_mean": Name("mean code")})
    monkeypatch.setitem(E.DECLARED, "codes", metric)
    assert parse_metrics("codes,psnr") == ["codes", "psnr"] and "codes" in parse_metrics(None)

    ae = evaluate(genlab.create("conv-ae", data=train), train, test, "mnist5k", ["codes", "psnr", "nll"], n=50)
    assert set(ae["metrics"]) == {"code_mean", "mse", "psnr"}
    assert ae["not_applicable"] == {"nll": "needs a likelihood: an encoder/decoder density (VAE) or an exact log_prob"}
    assert "mean code" in format_table(ae)
    gan = evaluate(genlab.create("gan", data=train), train, test, "mnist5k", ["codes", "psnr"], n=50)
    assert gan["metrics"] == {}
    why = gan["not_applicable"]
    assert set(why) == {"codes", "psnr"} and "genlab invert" in why["codes"]   # with the model's hint
    assert why["codes"].startswith("needs codes; gan cannot encode (it can: decode, sample)")
    assert why["psnr"].startswith("needs reconstructions; gan cannot reconstruct (it can: decode, sample)")
    with pytest.raises(GenlabError, match="unknown metric"):
        evaluate(genlab.create("gan", data=train), train, test, "mnist5k", ["bleu"], n=50)


def test_likelihood_is_a_bound_for_vaes_and_exact_for_log_prob(small):
    train, test = small
    vae = evaluate(genlab.create("vae", data=train), train, test, "mnist5k", ["nll"], n=20, iwae_k=4)
    assert set(vae["metrics"]) == {"neg_elbo", "iwae_nll"} and vae["iwae_k"] == 4
    gaussian = genlab.create("gaussian", data=train)
    gaussian.prepare(train)
    exact = evaluate(gaussian, train, test, "mnist5k", ["nll", "probe"], n=20)
    assert set(exact["metrics"]) >= {"nll", "bits_per_dim", "probe_codes"} and "iwae_k" not in exact
    assert exact["metrics"]["bits_per_dim"] == pytest.approx(exact["metrics"]["nll"] / (784 * np.log(2)))
    unlabelled = type(train)(train.x)
    probe = evaluate(genlab.create("ae", data=train), unlabelled, test, "mnist5k", ["probe"], n=20)
    assert probe["not_applicable"] == {"probe": "needs labelled data (the probe predicts the labels from the codes)"}


def test_nearest_grid_pairs_each_sample_with_its_nearest_training_image():
    g = torch.Generator().manual_seed(0)
    train, test = torch.rand(50, 1, 8, 8, generator=g), torch.rand(20, 1, 8, 8, generator=g)
    fake = torch.cat([train[[7, 3]], torch.rand(4, 1, 8, 8, generator=g)])
    mem = memorization(fake, train, test, fake.flatten(1), train.flatten(1))
    image = np.asarray(nearest_grid(fake, train, mem, k=3).convert("L"), dtype=float)
    s = image.shape[0] // (3 * 10 + 2)  # three rows of 8-px images with 2-px padding, scaled by s
    rows = [image[(2 + 10 * r) * s:(10 + 10 * r) * s, -(3 * 10) * s:] for r in range(3)]
    # the two copies come first (distance 0): their columns are identical in all three rows
    copies = slice(0, 18 * s)
    assert np.array_equal(rows[0][:, copies], rows[1][:, copies]) and np.array_equal(rows[1], rows[2])
    assert not np.array_equal(rows[0], rows[1])  # the third sample is novel


def test_eval_autoencoder_lists_sample_metrics_as_not_applicable(runs, capsys):
    assert main(["eval", str(runs / "conv-ae"), "--n", "200"]) == 0
    out = capsys.readouterr().out
    assert "FID, KID, Inception score" in out and "PSNR ↑" in out and "MSE ↓" in out
    assert out.count("cannot sample") == 1                 # the reason once, for all six sample metrics
    assert "  fid " not in out and "\n  kid" not in out      # display names, not raw keys
    saved = json.loads((runs / "conv-ae" / "eval.json").read_text())
    assert set(saved["not_applicable"]) == {"fid", "kid", "is", "pr", "coverage", "memorization", "nll",
                                            "seg", "restore", "baseline", "judged", "cycle", "domain_fid",
                                            "label_kept", "attribute_accuracy", "content_kept"}


def test_compare_and_unknown_metric(runs, tmp_path, capsys):
    out = tmp_path / "cmp.html"
    assert main(["compare", str(runs / "vae"), str(runs / "conv-ae"), "--n", "200", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"{runs / 'vae'}: mnist5k, 200 held-out images, 200 samples" in text
    assert f"{runs / 'conv-ae'}: mnist5k, 200 held-out images\n" in text and "not comparable" not in text
    psnr = next(line for line in text.splitlines() if line.startswith("PSNR ↑"))
    assert psnr.count("★") == 1                              # the better of the two reconstructions
    html = out.read_text()
    assert "vae" in html and "conv-ae" in html and "n/a" in html and "lower is better" in html
    gallery = html.split('<div class="gallery">', 1)[1].split("</div>", 1)[0]
    assert gallery.count("data:image/png;base64,") == 2  # the two runs' grids side by side
    assert "vae: samples" in gallery and "conv-ae: held-out images" in gallery
    assert main(["eval", str(runs / "vae"), "--metrics", "fid,bleu"]) == 2
    assert "unknown metric(s) bleu" in capsys.readouterr().err


def test_inception_features_without_weights_is_one_line(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GENLAB_INCEPTION", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["eval", str(runs / "vae"), "--features", "inception", "--metrics", "fid"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no Inception-v3 weights found" in err and "GENLAB_INCEPTION" in err


def test_bench_writes_leaderboard(cache, tmp_path, capsys):
    assert main(["bench", "--models", "ae,vae", "--budget-seconds", "3", "--n", "200", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "leaderboard.json").read_text())
    assert [r["model"] for r in rows] == ["ae", "vae"]
    assert rows[0]["images_per_s"] > 0 and "psnr" in rows[0] and "fid" not in rows[0] and "fid" in rows[1]
    md = (tmp_path / "leaderboard.md").read_text()
    assert "| ae |" in md and "| vae |" in md
    assert "PSNR ↑" in md and "MSE ↓" in md and "| psnr |" not in md and md.count("★") >= 2


def test_format_table_names_directions_no_negative_zero_and_one_explanation():
    explanation = "unlabelled data: needs labels to train a judge, or Inception-v3 weights: " + "x" * 300
    result = {"model": "vae", "data": "folder:/tmp/shapes", "n": 60, "n_requested": 1000, "n_samples": 60,
              "seconds": 1.5, "metrics": {"class_entropy": -0.0, "fid": 12.5, "psnr": 17.25, "kid": -1e-9},
              "per_class": {"what": "share of the samples the judge assigns to each class",
                            "shares": {"circle": 0.5, "square": 0.25, "triangle": 0.25}},
              "not_applicable": {k: explanation for k in ("is", "pr", "memorization")}}
    text = format_table(result)
    assert "-0.0000" not in text and "class entropy ↑" in text and "0.0000" in text
    assert "FID ↓" in text and "PSNR ↑" in text and "(↓ lower is better, ↑ higher is better)" in text
    assert "60 held-out images, 60 samples" in text                  # the real counts, not --n
    assert text.count(explanation) == 1
    assert "Inception score, precision and recall, memorisation check: " + explanation in text
    assert "circle 50%  square 25%  triangle 25%" in text


def test_class_names_prefer_the_runs_then_the_data():
    from types import SimpleNamespace

    from genlab.apps.sections import class_names

    named = SimpleNamespace(class_names=("circle", "square", "triangle"))
    assert class_names(named, None, 3) == ["circle", "square", "triangle"]
    run = SimpleNamespace(class_names=("a", "b"))
    assert class_names(run, SimpleNamespace(classes=["cat", "dog"]), 2) == ["a", "b"]
    data = SimpleNamespace(classes=["cat", "dog"])
    assert class_names(SimpleNamespace(class_names=None), data, 2) == ["cat", "dog"]
    assert class_names(SimpleNamespace(class_names=None), None, 3) == ["0", "1", "2"]   # indices, at last
