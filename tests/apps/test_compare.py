"""`genlab compare`: each run's data and real counts, a warning for different data, directions and the
best value marked. The runs' eval.json are written here, so nothing is evaluated (compare reuses them)."""
import json

import pytest

from genlab.apps.compare import data_warning
from genlab.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


def with_eval(run, data_spec, n, metrics, requested=1000):
    config = json.loads((run / "config.json").read_text())
    config["data"] = {"spec": data_spec}
    (run / "config.json").write_text(json.dumps(config))
    (run / "eval.json").write_text(json.dumps({
        "model": config["model"], "data": data_spec, "n": n, "n_requested": requested, "n_samples": n,
        "seed": 0, "metrics": metrics, "not_applicable": {"nll": "needs a likelihood"}, "seconds": 1.0}))
    return run


def pair(trained_runs, tmp_path, spec_a: str, n_a: int) -> tuple:
    a = with_eval(trained_runs.copy("dcgan", tmp_path / "a"), spec_a, n_a,
                  {"fid": 30.0, "duplicate_rate": 0.1, "is": 2.0, "density": 0.9})
    b = with_eval(trained_runs.copy("dcgan", tmp_path / "b"), "mnist5k", 1000,
                  {"fid": 50.0, "duplicate_rate": 0.05, "is": 3.0, "density": 1.1})
    return a, b


@pytest.fixture
def two_runs(trained_runs, tmp_path):
    return pair(trained_runs, tmp_path, "folder:/data/shapes", 60)


@pytest.fixture
def same_data_runs(trained_runs, tmp_path):
    return pair(trained_runs, tmp_path, "mnist5k", 1000)


def row(text, label):
    return next(line for line in text.splitlines() if line.startswith(label))


def test_compare_states_data_and_counts_and_warns_without_ranking(two_runs, tmp_path, capsys):
    a, b = two_runs
    out = tmp_path / "cmp.html"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"{a}: folder:/data/shapes, 60 held-out images, 60 samples" in text      # not "1000 per run"
    assert f"{b}: mnist5k, 1000 held-out images, 1000 samples" in text
    warning = f"warning: {a} was trained on folder:/data/shapes, {b} on mnist5k: figures are not comparable"
    assert warning in text
    fid = row(text, "FID ↓")
    assert fid.split()[2:] == ["30", "50"]                       # different data: no best value
    assert "↓ lower is better, ↑ higher is better; no ★: different data" in text
    html = out.read_text()
    assert warning in html and "★ marks" not in html and "lower is better" in html and "60" in html


def test_same_data_marks_the_best_value_by_direction(same_data_runs, tmp_path, capsys):
    a, b = same_data_runs
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "c.html")]) == 0
    text = capsys.readouterr().out
    assert "not comparable" not in text
    fid, dup, score, density = (row(text, label) for label in ("FID ↓", "near-duplicates ↓", "Inception score ↑",
                                                                "density"))
    assert fid.split()[2:] == ["30", "★", "50"]                  # lower is better: the first run
    assert dup.split()[2:] == ["0.1", "0.05", "★"]
    assert score.split()[3:] == ["2", "3", "★"]                  # higher is better: the second run
    assert "★" not in density                                    # no direction, no best
    assert "★" in (tmp_path / "c.html").read_text()


def test_a_tie_shares_the_best_mark(trained_runs, tmp_path, capsys):
    a = with_eval(trained_runs.copy("dcgan", tmp_path / "a"), "mnist5k", 1000, {"fid": 30.0})
    b = with_eval(trained_runs.copy("dcgan", tmp_path / "b"), "mnist5k", 1000, {"fid": 30.0})
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "c.html")]) == 0
    text = capsys.readouterr().out
    assert "not comparable" not in text
    assert row(text, "FID ↓").count("★") == 2
    assert data_warning({"x": "mnist5k", "y": "mnist5k"}) is None
