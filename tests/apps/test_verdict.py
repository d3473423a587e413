"""One verdict: the training callback's rules, `genlab diagnose` and the report's GAN section all come
from `judge_history`, so a run's warnings and its verdict can never contradict each other."""
import csv

import pytest

import genlab
from genlab import runs
from genlab.apps.diagnose import diagnose, format_summary
from genlab.apps.sections.gan import gan_training
from genlab.train.diagnostics import (DIAG_COLUMNS, ENGINE_FIELDS, VERDICTS, Thresholds, judge_history,
                                      read_history, run_verdict)

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}

pytestmark = pytest.mark.usefixtures("one_thread")


def gan_run(folder, epochs, steps_per_epoch=63, model="cgan", **series):
    """A GAN run folder whose metrics.csv holds the given per-epoch series, engine (d_real, g_grad, ...)
    and diagnostics (duplicate_rate, classes_covered) alike."""
    extra = {"embed_dim": 4} if model == "cgan" else {}
    runs.write_config(folder, genlab.create(model, **TINY, **extra), {"spec": "mnist5k"}, {"epochs": epochs})
    cols = {key: (DIAG_COLUMNS[key] if key in DIAG_COLUMNS else f"train/{ENGINE_FIELDS[key]}_epoch")
            for key in series}
    with open(folder / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "step", *cols.values()])
        for e in range(epochs):
            w.writerow([e, steps_per_epoch * (e + 1) - 1, *(series[k][e] for k in cols)])
    return folder


class Recorder:
    """Stands in for the report writer: keeps the text a section writes."""

    def __init__(self):
        self.texts, self.rows = [], []

    def section(self, title, text=""):
        self.texts += [title, text]

    def text(self, text):
        self.texts.append(text)

    def table(self, rows):
        self.rows += rows
        self.texts += [str(r) for r in rows]

    def image(self, *args, **kwargs):
        pass

    def animation(self, *args, **kwargs):
        pass

    @property
    def all(self):
        return "\n".join(self.texts)


def collapsed_cgan(tmp_path):
    """The issue's cgan: 5 epochs (315 generator steps, inside the 500-step warm-up), near-duplicates 99.5%."""
    n = 5
    return gan_run(tmp_path / "cgan", n, duplicate_rate=[0.2, 0.6, 0.9, 0.99, 0.995], classes_covered=[10] * n,
                   d_loss=[1.2, 1.1, 1.0, 0.9, 0.8], g_loss=[2.0] * n, d_real=[0.7] * n, d_fake=[0.3] * n,
                   g_grad=[5.0] * n, d_grad=[3.0] * n)


def test_near_duplicates_above_the_threshold_warn_and_decide_everywhere(tmp_path, capsys):
    run = collapsed_cgan(tmp_path)
    history = read_history(run / "metrics.csv")
    verdict = judge_history(history, "nonsaturating", 10)
    assert verdict.name == "mode collapse" and verdict.warnings
    assert verdict.found[-1]["epoch"] == 5 and "near-duplicates" in verdict.warnings[-1]
    assert "99.5% of the samples are near-duplicates" in verdict.warnings[-1]      # names the figure
    assert "315 generator steps" in verdict.warnings[-1]                          # and why it may be early
    # the end of `genlab train`
    assert run_verdict(run).name == "mode collapse" and run_verdict(run).warnings == verdict.warnings
    # `genlab diagnose`: never "warnings: none" beside "verdict: mode collapse"
    result = diagnose(run, n=0, save=False)
    text = format_summary(result)
    assert result["verdict"] == "mode collapse" and result["warnings"] == verdict.found
    assert "warnings: none" not in text and "warnings (1):" in text
    assert text.splitlines()[-1] == ("verdict: mode collapse (epoch 5: 99.5% of the samples are near-duplicates "
                                     "of another sample)")
    # the report's GAN section
    report = Recorder()
    gan_training(report, genlab.create("cgan", **TINY, embed_dim=4), None, run)
    assert "Verdict: mode collapse" in report.all and "No warnings" not in report.all
    assert [r["epoch"] for r in report.rows] == [5] and report.rows[0]["kind"] == "mode collapse"


def test_a_short_run_is_too_few_epochs_to_judge_never_healthy(tmp_path):
    n = 3
    run = gan_run(tmp_path / "short", n, model="dcgan", duplicate_rate=[0.05] * n, d_loss=[1.0, 0.9, 0.8],
                  g_loss=[2.0, 1.9, 1.8], d_real=[0.7] * n, d_fake=[0.3] * n, g_grad=[5.0] * n)
    verdict = run_verdict(run)
    assert verdict.name == "too few epochs to judge" and verdict.warnings == []
    assert "3 epoch(s); non-convergence needs 12" in verdict.line()
    result = diagnose(run, n=0, save=False)
    assert result["verdict"] == "too few epochs to judge"
    text = format_summary(result)
    assert "healthy" not in text and "not judged: needs 12 epochs" in text
    report = Recorder()
    gan_training(report, genlab.create("dcgan", **TINY), None, run)
    assert "Verdict: too few epochs to judge" in report.all and "healthy" not in report.all


def test_healthy_needs_enough_epochs_and_earlier_warnings_are_named(tmp_path):
    n = 12
    dup = [0.05] * n
    dup[7] = 0.8                                  # one bad epoch, past the warm-up, that did not persist
    history = [{"epoch": e + 1, "steps": 100 * (e + 1), "duplicate_rate": dup[e], "d_loss": 1.0 - 0.01 * e,
                "g_loss": 2.0 - 0.05 * e} for e in range(n)]
    verdict = judge_history(history)
    assert verdict.name == "healthy" and [w["epoch"] for w in verdict.found] == [8]
    assert "warnings at epoch(s) 8 did not persist" in verdict.line()
    assert judge_history(history[:11]).name == "too few epochs to judge"
    # while training, the warm-up holds at the newest epoch and nothing is called healthy yet
    early = [{"epoch": 1, "steps": 60, "duplicate_rate": 0.99}]
    assert judge_history(early, finished=False).found == []
    assert judge_history(early).name == "mode collapse"


def test_non_convergence_is_a_warning_too_and_thresholds_are_the_runs(tmp_path):
    n = 12
    history = [{"epoch": e + 1, "d_loss": 1.0 + 0.5 * (-1) ** e, "g_loss": 2.0 - (-1) ** e} for e in range(n)]
    verdict = judge_history(history)
    assert verdict.name == "non-convergence" and verdict.found[-1]["kind"] == "non_convergence"
    assert "epochs 7–12" in verdict.warnings[-1]
    loose = Thresholds(oscillation_swing=10.0)    # one set of thresholds decides: raise the bar, no verdict
    assert judge_history(history, thresholds=loose).name == "healthy"
    assert set(VERDICTS) >= {verdict.name, "too few epochs to judge"}


def test_run_verdict_is_none_without_diagnostics(tmp_path):
    ae = genlab.create("ae")
    runs.write_config(tmp_path / "ae", ae, {"spec": "mnist5k"}, {"epochs": 1})
    assert run_verdict(tmp_path / "ae") is None
    plain = gan_run(tmp_path / "plain", 2, model="dcgan", d_loss=[1.0, 0.9], g_grad=[5.0, 4.0])
    assert run_verdict(plain) is None                        # trained with --no-diagnostics
    assert run_verdict(tmp_path / "missing") is None
