"""GAN diagnostics: the training callback, its rules, `genlab diagnose`, the report section and
`genlab experiment adam-vs-sgd` — with a nearest-class-mean "judge" so that no real judge is trained."""
import base64
import csv
import json

import pytest
import torch
from PIL import Image
from torch import nn

import genlab
from genlab.apps.diagnose import VERDICTS, choose_epochs, oscillation
from genlab.cli import main
from genlab.metrics import judge as J
from genlab import runs
from genlab.metrics.sample import duplicate_reference
from genlab.train.diagnostics import (DIAG_COLUMNS, GANTrainingWarning, Thresholds, all_warnings, epoch_warnings,
                                      read_history, run_verdict, sample_health)

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def judge(mean_judge):
    """get_judge answers with a nearest-class-mean judge for mnist5k (any cached real judge is left alone)."""
    return mean_judge


class ConstantGenerator(nn.Module):
    """A collapsed generator: one learned image, whatever z is."""

    def __init__(self, shape):
        super().__init__()
        self.image = nn.Parameter(torch.randn(1, *shape) * 0.1)

    def forward(self, z):
        return torch.tanh(self.image).expand(len(z), *self.image.shape[1:])


def tiny_gan(data, **kw):
    torch.manual_seed(0)
    return genlab.create("dcgan", data=data, **{**TINY, **kw})


def train_run(model, data, out, epochs=2, **kw):
    return genlab.train(model, data, epochs=epochs, batch_size=32, out=out, progress=False,
                        data_info={"spec": "mnist5k"}, **kw)


def csv_rows(path):
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r.get(DIAG_COLUMNS["duplicate_rate"])]


@pytest.fixture
def small_train(mnist):
    return mnist[0].subset(range(0, 4000, 50))          # 80 digits, 8 of each class


# ----------------------------------------------------------------------------- the callback

def test_callback_logs_columns_and_warns_on_a_collapsed_generator(judge, small_train, tmp_path):
    model = tiny_gan(small_train)
    model.generator = ConstantGenerator(model.image_shape)
    with pytest.warns(GANTrainingWarning, match="epoch 2: possible mode collapse") as caught:
        # 3 steps an epoch here: a warm-up of 3 steps leaves epoch 2 to be judged
        train_run(model, small_train, tmp_path / "run", diagnostics=Thresholds(warmup_steps=3))
    assert not any("epoch 1" in str(w.message) for w in caught if w.category is GANTrainingWarning)  # warm-up
    rows = csv_rows(tmp_path / "run" / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    last = rows[-1]
    assert float(last[DIAG_COLUMNS["classes_covered"]]) == 1.0
    assert float(last[DIAG_COLUMNS["duplicate_rate"]]) == 1.0
    assert float(last[DIAG_COLUMNS["mode_collapse"]]) == 1.0 and float(rows[0][DIAG_COLUMNS["mode_collapse"]]) == 0.0
    assert float(last[DIAG_COLUMNS["class_kl_uniform"]]) == pytest.approx(2.302585, abs=1e-4)   # log 10
    saved = json.loads((tmp_path / "run" / "diagnostics.json").read_text())
    assert saved["judge"] and [w["kind"] for w in saved["warnings"]] == ["mode_collapse"]
    # the verdict written at the end of training is the one everything else computes from metrics.csv
    assert saved["verdict"]["verdict"] == "mode collapse" == run_verdict(tmp_path / "run").name
    assert saved["num_classes"] == 10 and saved["thresholds"]["warmup_steps"] == 3
    assert run_verdict(tmp_path / "run").found == saved["verdict"]["warnings"]
    history = read_history(tmp_path / "run" / "metrics.csv")
    assert [r["epoch"] for r in history] == [1, 2] and {"d_real", "d_fake", "g_grad", "d_grad"} <= set(history[-1])
    assert [r["steps"] for r in history] == [3, 6]


def test_diverse_samples_raise_no_collapse_warning(judge, mnist):
    train, test = mnist
    reference = duplicate_reference(train.spread(500).x.flatten(1))
    healthy = sample_health(test.spread(500).x, judge, reference)
    assert healthy["classes_covered"] == 10 and healthy["duplicate_rate"] < 0.1
    assert epoch_warnings([{"epoch": 5, **healthy}], num_classes=10) == []
    collapsed = sample_health(test.x[:1].expand(500, -1, -1, -1), judge, reference)
    assert collapsed["classes_covered"] == 1 and collapsed["duplicate_rate"] == 1.0
    kinds = [w["kind"] for w in epoch_warnings([{"epoch": 5, **collapsed}], num_classes=10)]
    assert kinds == ["mode_collapse"]


def test_no_judge_cached_measures_duplicates_in_pixels_and_says_how_to_get_one(small_train, tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "empty-cache"))
    model = tiny_gan(small_train)
    with pytest.warns(UserWarning, match="genlab judge train --data mnist5k"):
        train_run(model, small_train, tmp_path / "run", epochs=1)
    (row,) = csv_rows(tmp_path / "run" / "metrics.csv")
    assert row[DIAG_COLUMNS["duplicate_rate"]] and not row.get(DIAG_COLUMNS["classes_covered"])
    assert json.loads((tmp_path / "run" / "diagnostics.json").read_text())["judge"] is False


def test_diagnostics_can_be_switched_off_and_only_observe(small_train, tmp_path, judge, monkeypatch):
    def fresh_judge(*args, **kwargs):                 # a judge built at fit start draws initial weights
        return J.Judge((1, 28, 28), 10), {}

    monkeypatch.setattr(J, "get_judge", fresh_judge)
    weights = {}
    for on in (False, True):
        model = tiny_gan(small_train)
        train_run(model, small_train, tmp_path / f"run-{on}", epochs=2, diagnostics=on)
        weights[on] = torch.cat([p.flatten() for p in model.generator.parameters()])
    assert torch.equal(weights[False], weights[True])           # measuring does not change the training
    assert not (tmp_path / "run-False" / "diagnostics.json").exists()
    with open(tmp_path / "run-False" / "metrics.csv") as f:
        assert "diag/" not in f.readline()
    with open(tmp_path / "run-True" / "metrics.csv") as f:
        assert "diag/duplicate_rate_epoch" in f.readline()


# ----------------------------------------------------------------------------- the rules

def vanishing_history(d_real=0.995, d_fake=0.002):
    return [{"epoch": 1, "g_grad": 4.0, "d_real": 0.7, "d_fake": 0.3},
            {"epoch": 2, "g_grad": 0.5, "d_real": 0.9, "d_fake": 0.1},
            {"epoch": 3, "g_grad": 2e-3, "d_real": d_real, "d_fake": d_fake}]


def test_vanishing_gradient_warning_on_a_synthetic_history():
    found = all_warnings(vanishing_history(), loss="minimax")
    assert [(w["epoch"], w["kind"]) for w in found] == [(3, "vanishing_gradient")]
    assert "nonsaturating" in found[0]["message"]                 # the minimax fix is named
    assert all_warnings(vanishing_history(d_fake=0.3), loss="minimax") == []      # D not near-perfect
    assert all_warnings(vanishing_history(d_real=0.8), loss="nonsaturating") == []
    # raw critic scores are no probabilities: the gradient collapse alone decides
    assert [w["kind"] for w in all_warnings(vanishing_history(d_fake=-40.0), loss="wgan-gp")] == ["vanishing_gradient"]
    healthy = vanishing_history()
    healthy[-1]["g_grad"] = 0.2
    assert all_warnings(healthy, loss="minimax") == []
    tiny = [{"epoch": 1, "g_grad": 1e-6, "d_real": 0.99, "d_fake": 0.01}]     # absolutely tiny from the start
    assert [w["kind"] for w in all_warnings(tiny, loss="nonsaturating")] == ["vanishing_gradient"]


def test_mode_collapse_rule_and_warm_up():
    rows = [{"epoch": 1, "classes_covered": 1, "duplicate_rate": 0.9},
            {"epoch": 2, "classes_covered": 8, "duplicate_rate": 0.1},
            {"epoch": 3, "classes_covered": 4, "duplicate_rate": 0.1},
            {"epoch": 4, "classes_covered": 9, "duplicate_rate": 0.7}]
    found = all_warnings(rows, num_classes=10)
    assert [w["epoch"] for w in found] == [3, 4]                 # epoch 1 is always warm-up
    assert "4 of 10 classes" in found[0]["message"] and "70%" in found[1]["message"]
    for i, row in enumerate(rows):
        row["steps"] = 200 * (i + 1)                              # 200 generator steps an epoch
    assert [w["epoch"] for w in all_warnings(rows, num_classes=10)] == [3, 4]          # 600, 800 > 500
    assert [w["epoch"] for w in all_warnings(rows, num_classes=10, thresholds=Thresholds(warmup_steps=700))] == [4]
    assert [w["epoch"] for w in all_warnings(rows, num_classes=10, thresholds=Thresholds(warmup_steps=0))] == [1, 3, 4]


def test_oscillation_rule():
    assert oscillation([1.0] * 5) is None                         # too few epochs to judge
    trend = [3.0 - 0.1 * i + 0.01 * (-1) ** i for i in range(16)]
    assert oscillation(trend)["oscillating"] is False
    swinging = [1.0 + 0.5 * (-1) ** i for i in range(16)]
    result = oscillation(swinging)
    assert result["oscillating"] is True and result["flips"] == 1.0 and result["r2"] < 0.2
    calm = [1.0 + 0.01 * (-1) ** i for i in range(16)]            # flips, but tiny swings: converged
    assert oscillation(calm)["oscillating"] is False


def test_choose_epochs_prefers_the_strip_epochs_and_the_last():
    assert choose_epochs(range(1, 21)) == [1, 2, 3, 10, 20]
    assert choose_epochs(range(1, 151)) == [1, 2, 3, 10, 100, 150]
    assert choose_epochs(range(1, 5)) == [1, 2, 3, 4]
    assert choose_epochs(range(1, 8)) == [1, 2, 3, 4, 7]
    assert choose_epochs([]) == []


# ----------------------------------------------------------------------------- diagnose, report

@pytest.fixture
def gan_run(judge, trained_runs, tmp_path):
    """A tiny DCGAN trained 3 epochs on 80 digits, its diagnostics measured by the stand-in judge; a
    copy, since diagnose and the report write into it."""
    return trained_runs.copy("dcgan-diagnosed", tmp_path)


def test_diagnose_cli_end_to_end(gan_run, capsys):
    assert main(["diagnose", str(gan_run), "--n", "200", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["verdict"] in VERDICTS and result["epochs"] == 3 and result["model"] == "dcgan"
    assert result["coverage"]["source"] == "sampled now" and result["coverage"]["n"] == 200
    assert {"d_real", "d_fake", "d_grad", "g_grad"} <= set(result["final"])
    assert result["convergence"]["g_loss"] is None              # 3 epochs: too few to judge oscillation
    saved = json.loads((gan_run / "diagnose.json").read_text())
    assert saved["verdict"] == result["verdict"]
    assert (gan_run / "diagnose.png").is_file() and (gan_run / "samples" / "strip.png").is_file()
    with Image.open(gan_run / "samples" / "evolution.gif") as gif:
        assert gif.n_frames == 3
    assert main(["diagnose", str(gan_run), "--n", "100"]) == 0
    out = capsys.readouterr().out
    assert "verdict: " in out and "D(G(z))" in out and "classes covered" in out


def test_diagnose_sees_a_collapsed_generator(judge, small_train, tmp_path):
    model = tiny_gan(small_train)
    model.generator = ConstantGenerator(model.image_shape)
    train_run(model, small_train, tmp_path / "collapsed", epochs=2)      # 6 steps: inside the warm-up, no warning
    # the constant generator is no DCGenerator: diagnose samples through the saved weights, so
    # judge the training-time measurements only (--n 0)
    from genlab.apps.diagnose import diagnose

    result = diagnose(tmp_path / "collapsed", n=0)
    assert result["verdict"] == "mode collapse" and result["coverage"]["duplicate_rate"] == 1.0


def synthetic_run(folder, epochs, loss="nonsaturating", **series):
    """A GAN run folder whose metrics.csv holds the given per-epoch series (no weights: diagnose --n 0)."""
    from genlab.train.diagnostics import ENGINE_FIELDS

    runs.write_config(folder, genlab.create("dcgan", loss=loss, **TINY), {"spec": "mnist5k"}, {"epochs": epochs})
    cols = {key: f"train/{ENGINE_FIELDS[key]}_epoch" for key in series}
    with open(folder / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "step", *cols.values()])
        for e in range(epochs):
            w.writerow([e, 63 * (e + 1) - 1, *(series[k][e] for k in cols)])
    return folder


def test_diagnose_verdicts_on_synthetic_histories(tmp_path):
    from genlab.apps.diagnose import diagnose

    n = 12
    swing_d = [1.0 + 0.5 * (-1) ** e for e in range(n)]
    swing_g = [2.0 - 1.0 * (-1) ** e for e in range(n)]
    falling_g = [5.0 - 0.2 * e for e in range(n)]
    steady = {"d_real": [0.7] * n, "d_fake": [0.3] * n, "g_grad": [5.0] * n}
    both = diagnose(synthetic_run(tmp_path / "both", n, d_loss=swing_d, g_loss=swing_g, **steady), n=0, save=False)
    assert both["verdict"] == "non-convergence" and both["convergence"]["g_loss"]["oscillating"]
    one = diagnose(synthetic_run(tmp_path / "one", n, d_loss=swing_d, g_loss=falling_g, **steady), n=0, save=False)
    assert one["verdict"] == "healthy" and one["convergence"]["d_loss"]["oscillating"]   # D alone may bounce
    starving = {"d_real": [0.7] * (n - 1) + [0.999], "d_fake": [0.3] * (n - 1) + [1e-4],
                "g_grad": [5.0] * (n - 1) + [1e-4]}
    vanishing = diagnose(synthetic_run(tmp_path / "vanish", n, loss="minimax", d_loss=falling_g, g_loss=falling_g,
                                       **starving), n=0, save=False)
    assert vanishing["verdict"] == "vanishing gradients"
    assert [(w["epoch"], w["kind"]) for w in vanishing["warnings"]] == [(12, "vanishing_gradient")]
    assert vanishing["first_g_grad"] == 5.0 and vanishing["final"]["g_grad"] == 1e-4


def test_diagnose_bad_inputs_get_one_line(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist" in err
    ae = genlab.create("ae")
    runs.write_config(tmp_path / "ae", ae, {"spec": "mnist5k"}, {"epochs": 1})
    assert main(["diagnose", str(tmp_path / "ae")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a GAN" in err and "genlab eval" in err
    gan = genlab.create("dcgan", **TINY)
    runs.write_config(tmp_path / "untrained", gan, {"spec": "mnist5k"}, {"epochs": 1})
    assert main(["diagnose", str(tmp_path / "untrained")]) == 2
    assert "no metrics.csv" in capsys.readouterr().err


def test_report_has_the_gan_section(gan_run, monkeypatch):
    from genlab.apps.report import build_report
    from genlab.apps.sections import sections_for
    from genlab.apps.sections.gan import gan_training
    from genlab.models.gan.dcgan import DCGAN, DCGANConfig
    from genlab.registry import _REGISTRY, Entry

    html = build_report(gan_run).read_text()
    assert "GAN training" in html and "Evolution of the fixed-noise samples" in html
    from genlab.apps.diagnose import diagnose

    verdict = diagnose(gan_run, n=0, save=False)["verdict"]          # the report says what diagnose says
    assert f"Verdict: {verdict}" in html
    assert "samples/evolution.gif" in html
    # the animation itself is embedded, byte for byte, not re-encoded as one PNG frame
    gif = base64.b64encode((gan_run / "samples" / "evolution.gif").read_bytes()).decode()
    assert f"data:image/gif;base64,{gif}" in html
    # a GAN registered later gets the section through its class, without being named anywhere
    monkeypatch.setitem(_REGISTRY, "future-gan", Entry("future-gan", type("FutureGAN", (DCGAN,), {}), DCGANConfig, ""))
    assert gan_training in sections_for("future-gan")
    assert gan_training not in sections_for("vae")


# ----------------------------------------------------------------------------- the experiment

def test_experiment_adam_vs_sgd_tiny(judge, tmp_path, capsys):
    args = ["experiment", "adam-vs-sgd", "--epochs", "1", "--n-train", "32", "--width", "8", "--batch-size", "32",
            "--n-eval", "100", "--out", str(tmp_path / "exp")]
    assert main(args + ["--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(result["runs"]) == ["adam", "sgd", "wgan-gp"]
    adam, sgd, wgan = (result["runs"][k] for k in ("adam", "sgd", "wgan-gp"))
    assert adam["optimizer"] == "adam" and sgd["optimizer"] == "sgd" and wgan["loss"] == "wgan-gp"
    assert adam["lr_g"] == sgd["lr_g"] == 2e-4 and wgan["d_steps"] == 5
    for r in result["runs"].values():
        assert r["per_epoch"]["epoch"] == [1] and 1 <= r["per_epoch"]["classes_covered"][0] <= 10   # judged
        assert r["verdict"] in VERDICTS and r["final"]["n"] == 100
    saved = json.loads((tmp_path / "exp" / "comparison.json").read_text())
    assert saved["settings"]["n_train"] == 32 and saved["runs"].keys() == result["runs"].keys()
    md = (tmp_path / "exp" / "comparison.md").read_text()
    assert "| sgd | sgd | 0.0002/0.0002 |" in md
    assert "Coverage over epochs" in (tmp_path / "exp" / "comparison.html").read_text()
    assert main(args) == 2                                        # an existing experiment is not replaced
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite", "--json"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for name, r in result["runs"].items():                         # seeded from the initial weights on
        assert again["runs"][name]["per_epoch"] == r["per_epoch"] and again["runs"][name]["final"] == r["final"]
