"""`genlab eval` of cyclegan and stargan runs: judge-FID, label kept and cycle error per direction;
target-attribute accuracy, content kept and the cycle error (genlab.apps.evaluate's unpaired metrics)."""
import json

import pytest
import torch
from torch import nn

import genlab
from genlab import runs as run_folders
from genlab.apps.evaluate import evaluate
from genlab.cli import main
from genlab.data import load_data
from genlab.metrics import translation as tr
from genlab.train import train
from tests.conftest import MeanJudge

pytestmark = pytest.mark.usefixtures("one_thread")
UNPAIRED = ["cycle", "domain_fid", "label_kept", "attribute_accuracy", "content_kept"]


@pytest.fixture(scope="module")
def unpaired_runs(tmp_path_factory):
    """A tiny cyclegan (digits2mnist) and stargan (attributes:digits), one epoch on 48 images each."""
    import warnings

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("unpaired")
    torch.manual_seed(0)
    with warnings.catch_warnings():   # one epoch of 48 images warns that the run is short
        warnings.simplefilter("ignore")
        d = load_data("digits2mnist", "train", limit=48)
        train(genlab.create("cyclegan", data=d, width=4, blocks=1, d_width=8), d, epochs=1, out=root / "cyclegan",
              progress=False, data_info={"spec": "digits2mnist"}, diagnostics=False)
        a = load_data("attributes:digits", "train", limit=48)
        train(genlab.create("stargan", data=a, g_width=4, g_blocks=1, d_width=4), a, epochs=1, out=root / "stargan",
              progress=False, data_info={"spec": "attributes:digits"}, diagnostics=False)
    torch.set_num_threads(threads)
    return root


@pytest.fixture
def judges(monkeypatch, tmp_path):
    """get_judge answers with a nearest-class-mean judge of the asked data at the asked size (photographs
    have no labels: refused, as the real one does); the list of (spec, shape) asked for."""
    from genlab.metrics import judge as J

    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    asked, made = [], {}

    def get_judge(spec, shape, train_if_missing=True, progress=False, overwrite=False):
        asked.append((spec, tuple(shape)))
        if (spec, tuple(shape)) not in made:
            data = load_data(spec, "train", image_size=tuple(shape[1:]), channels=shape[0])
            if data.y is None:
                raise genlab.DataError(f"{spec} has no labels, so no judge can be trained on it")
            made[spec, tuple(shape)] = MeanJudge(data)
        return made[spec, tuple(shape)], {"data": spec, "test_accuracy": 0.8}

    monkeypatch.setattr(J, "get_judge", get_judge)
    return asked


class LookupClassifier(nn.Module):
    """Reads the attributes of images it has seen (exact pixels) as ±5 logits: a perfect attribute
    classifier of the held-out images and of anything equal to one of them."""

    def __init__(self, data):
        super().__init__()
        self.x, self.attributes = data.x.flatten(1).float(), data.attributes.float()

    def forward(self, x):
        d = torch.cdist(x.flatten(1).float(), self.x)
        assert bool((d.min(1).values < 0.05).all()), "an image the lookup has not seen"   # cdist rounds
        return self.attributes[d.argmin(1)] * 10 - 5


def test_eval_of_a_cyclegan_run_prints_each_direction_and_the_stargan_figures_as_na(unpaired_runs, judges, capsys):
    run = unpaired_runs / "cyclegan"
    assert main(["eval", str(run), "--n", "40", "--metrics", ",".join(UNPAIRED)]) == 0
    out = capsys.readouterr().out
    for label in ("cycle error A → B → A", "cycle error B → A → B", "judge-FID A → B", "judge-FID B as is",
                  "label kept A → B", "label kept B → A"):
        assert label in out, label
    assert out.count("for stargan runs (target attributes)") == 1     # one line for both attribute metrics
    saved = json.loads((run / "eval.json").read_text())
    assert set(saved["not_applicable"]) == {"attribute_accuracy", "content_kept"}
    assert saved["directions"] == {"ab": "digits → mnist (11 images)", "ba": "mnist → digits (29 images)"}
    # each direction judged by its target domain's judge, at the model's size
    assert set(judges) == {("mnist5k", (1, 28, 28)), ("digits", (1, 28, 28))}
    assert saved["domain_judges"]["mnist"]["data"] == "mnist5k"
    m = saved["metrics"]
    assert all(0 <= m[f"label_kept_{k}"] <= 1 and m[f"fid_{k}"] >= 0 and 0 < m[f"cycle_error_{k}"] < 1
               for k in ("ab", "ba"))


def test_an_identity_translator_scores_its_inputs_by_hand(unpaired_runs, judges, monkeypatch):
    model = run_folders.load(unpaired_runs / "cyclegan")
    monkeypatch.setattr(model, "translate", lambda x, y=None: x.clone())
    train_data, test = load_data("digits2mnist", "train", limit=48), load_data("digits2mnist", "test")
    result = evaluate(model, train_data, test, "digits2mnist", ["cycle", "domain_fid", "label_kept"], n=60)
    m = result["metrics"]
    assert m["cycle_error_ab"] == 0 and m["cycle_error_ba"] == 0
    # the translations are the inputs: their FID is the reference's, exactly
    assert m["fid_ab"] == m["input_fid_ab"] and m["fid_ba"] == m["input_fid_ba"] > 0
    real = test.spread(60)
    digits = real.domain == 0
    mnist_judge = MeanJudge(load_data("mnist5k", "train"))
    read = mnist_judge.embed(real.x[digits])[1].argmax(1)
    by_hand = sum(int(r) == int(y) for r, y in zip(read, real.y[digits])) / int(digits.sum())
    assert m["label_kept_ab"] == pytest.approx(by_hand)
    # and the reference reading of the untranslated inputs is the same reading
    assert m["input_label_kept_ab"] == m["label_kept_ab"] and m["input_label_kept_ba"] == m["label_kept_ba"]


def test_stargan_figures_count_reached_and_kept_attributes(unpaired_runs, judges, monkeypatch):
    model = run_folders.load(unpaired_runs / "stargan")
    train_data, test = load_data("attributes:digits", "train", limit=48), load_data("attributes:digits", "test")
    real = test.spread(30)
    monkeypatch.setattr(tr, "get_attribute_classifier",
                        lambda spec, shape, **kw: (LookupClassifier(real), {"data": spec, "test_accuracy": {}}))
    wanted = ["cycle", "attribute_accuracy", "content_kept"]

    # a generator that changes nothing reaches no requested attribute and keeps every other one
    monkeypatch.setattr(model, "translate", lambda x, y=None: x.clone())
    m = evaluate(model, train_data, test, "attributes:digits", wanted, n=30)["metrics"]
    assert m["attribute_accuracy"] == 0 and m["attributes_kept"] == 1 and m["attribute_accuracy_real"] == 1
    assert m["cycle_error"] == 0
    digit_judge = MeanJudge(load_data("attributes:digits", "train"))   # the classes, learnt on the attribute data
    read = digit_judge.embed(real.x)[1].argmax(1)
    by_hand = float((read == real.y).double().mean())
    # every image is translated 4 times (2 other strokes, 1 other tilt, 1 other polarity): the same share
    assert m["content_kept"] == pytest.approx(by_hand) and m["content_kept_inputs"] == pytest.approx(by_hand)

    # one that answers each target with a held-out image holding exactly those attributes reaches it
    def swap(x, y=None):
        y = torch.as_tensor(y).float().cpu()
        hit = (y[:, None] == real.attributes[None]).all(2).float().argmax(1)
        found = (y[:, None] == real.attributes[None]).all(2).any(1)
        return torch.where(found[:, None, None, None], real.x[hit], x.cpu())

    monkeypatch.setattr(model, "translate", swap)
    result = evaluate(model, train_data, test, "attributes:digits", wanted, n=30)
    _, targets, _ = tr.changed_targets(real.attributes, [[0, 1, 2], [3, 4], [5, 6]])
    present = (targets[:, None] == real.attributes[None]).all(2).any(1)
    assert result["metrics"]["attribute_accuracy"] == pytest.approx(float(present.double().mean()))
    assert result["metrics"]["attributes_kept"] == 1      # a target no image holds gets its input back
    assert 0.5 < float(present.double().mean()) < 1       # both kinds of rows occur
    assert set(result["attribute_accuracy"]) == set(model.config.attributes)


def test_eval_of_a_stargan_run_prints_its_figures(unpaired_runs, judges, monkeypatch, capsys):
    from genlab.metrics.judge import Judge

    def untrained(spec, shape, **kw):
        torch.manual_seed(0)
        return Judge(tuple(shape), 7, width=3, feature_dim=8), {"data": spec, "test_accuracy": {"plain/inverted": 0.5}}

    monkeypatch.setattr(tr, "get_attribute_classifier", untrained)
    assert main(["eval", str(unpaired_runs / "stargan"), "--n", "30", "--metrics", ",".join(UNPAIRED)]) == 0
    out = capsys.readouterr().out
    for label in ("cycle error ↓", "target attribute reached ↑", "other attributes kept ↑", "content kept ↑",
                  "content of inputs"):
        assert label in out, label
    assert out.count("for cyclegan runs (two domains)") == 1
    assert ("attributes:digits", (1, 8, 8)) in judges   # the digit judge of the attribute data, at the model's size


def test_photographs_and_other_models_get_one_line_reasons(judges):
    d = load_data("grey2colour", "train", limit=16)
    model = genlab.create("cyclegan", data=d, width=4, blocks=1, d_width=8)
    result = evaluate(model, d, load_data("grey2colour", "test", limit=8), "grey2colour", UNPAIRED, n=8)
    assert set(result["metrics"]) == {"cycle_error_ab", "cycle_error_ba"}
    why = result["not_applicable"]
    assert "photographs" in why["domain_fid"] and why["domain_fid"] == why["label_kept"] and judges == []
    assert len(why["domain_fid"].splitlines()) == 1

    mnist = load_data("mnist5k", "test", limit=16)
    ae = evaluate(genlab.create("conv-ae", data=mnist), mnist, mnist, "mnist5k", UNPAIRED, n=8)
    assert ae["metrics"] == {} and len(set(ae["not_applicable"].values())) == 1
    assert "cannot translate" in ae["not_applicable"]["cycle"]


# ------------------------------------------------------------------ benchmarks/unpaired.py

@pytest.fixture(scope="module")
def bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "unpaired.py"
    spec = importlib.util.spec_from_file_location("bench_unpaired", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_evaluates_given_runs_and_appends_its_lines(bench, unpaired_runs, judges, monkeypatch,
                                                                   tmp_path, capsys):
    from genlab.metrics.judge import Judge

    monkeypatch.setattr(tr, "get_attribute_classifier", lambda spec, shape, **kw: (
        Judge(tuple(shape), 7, width=3, feature_dim=8), {"data": spec, "test_accuracy": {}}))
    out = tmp_path / "unpaired.jsonl"
    bench.main(["--run", str(unpaired_runs / "cyclegan"), "--run", str(unpaired_runs / "stargan"), "--n", "30",
                "--threads", "1", "--out", str(out)])
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["model"] for row in lines] == ["cyclegan", "stargan"]
    cg, sg = lines
    assert set(cg["acceptance"]) == {"label_kept_ab >= 0.80", "label_kept_ba >= 0.80", "fid_ab < input_fid_ab",
                                     "fid_ba < input_fid_ba"}
    assert cg["acceptance"]["label_kept_ab >= 0.80"] == (cg["label_kept_ab"] >= 0.8)
    assert cg["fid_ratio_ab"] == pytest.approx(cg["fid_ab"] / cg["input_fid_ab"], rel=1e-2)
    assert set(sg["acceptance"]) == {"attribute_accuracy >= 0.90", "content_kept >= 0.90"}
    assert set(sg["per_attribute"]) == set(genlab.load_data("attributes:digits", "test", limit=2).meta["attributes"])
    assert capsys.readouterr().out.count('"bench": "unpaired"') == 2


def test_colour_drift_of_the_identity_ablation(bench, tmp_path, monkeypatch):
    test = load_data("grey2colour", "test", limit=16)
    model = genlab.create("cyclegan", data=test, width=4, blocks=1, d_width=8)
    monkeypatch.setattr(model, "translate", lambda x, y=None: x.clone())
    still = bench.drift_figures(model, test)
    assert still["grey_to_colour_colour_drift"] == 0 and still["colour_to_grey_luma_drift"] == 0
    # colour → grey by the data's own luma: the brightness stays, the colour moves
    from genlab.metrics.translation import luma

    monkeypatch.setattr(model, "translate", lambda x, y=None: luma(x).expand(-1, 3, -1, -1).clone())
    grey = bench.drift_figures(model, test)
    assert grey["colour_to_grey_luma_drift"] < 1e-4 < grey["colour_to_grey_colour_drift"]

    rows = bench.identity_ablation(tmp_path, epochs=1, limit=16, width=4, blocks=1, d_width=8)
    assert [r["identity_weight"] for r in rows] == [0.5, 0.0]
    assert all(r["grey_to_colour_colour_drift"] >= 0 and "colour_to_grey_luma_drift" in r for r in rows)
