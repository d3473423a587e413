"""Image-to-image runs in `genlab eval`, the report and the leaderboard (genlab.apps.evaluate's seg,
restore, baseline and judged metrics; genlab.apps.sections.paired)."""
import json
import math

import pytest
import torch
import torch.nn.functional as F

import genlab
from genlab.apps import bench
from genlab.apps.evaluate import DECLARED, evaluate, evaluate_run, format_table, metric_name, metric_rows
from genlab.apps.report import build_report
from genlab.apps.sections.paired import d_verdict, game_history, pair_rows
from genlab.data import lab_to_rgb, load_spec
from genlab.metrics import image as im
from genlab.metrics.paired import upsample_baselines
from genlab.runs import create
from genlab.train import train
from genlab.train.diagnostics import Thresholds
from tests.cli_run import run
from tests.conftest import MeanJudge

PAIRED_METRICS = ("seg", "restore", "baseline", "judged")
RUNS = {  # name: (model, data entry of config.json)
    "segment": ("unet", {"spec": "shapes", "task": "segment"}),
    "inpaint": ("unet", {"spec": "mnist5k", "task": "inpaint:center:14"}),
    "superres": ("unet", {"spec": "mnist5k", "task": "superres:2"}),
    "edges": ("pix2pix", {"spec": "mnist5k", "task": "edges"}),
}


@pytest.fixture(scope="module")
def judge_shapes(mnist, tmp_path_factory):
    """get_judge answers with a nearest-class-mean judge for mnist5k and records the image shapes
    it was asked for; the judge cache is a temporary folder (a real cached judge is not touched)."""
    from genlab.metrics import judge as J

    asked = []
    judge = MeanJudge(mnist[0])

    def get_judge(spec, shape, train_if_missing=True, progress=False, overwrite=False):
        asked.append((spec, tuple(shape)))
        if spec != "mnist5k":
            raise genlab.GenlabError(f"no judge for {spec}")
        return judge, {"test_accuracy": 0.8}

    mp = pytest.MonkeyPatch()
    mp.setenv("GENLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    mp.setattr(J, "get_judge", get_judge)
    yield asked
    mp.undo()


@pytest.fixture(scope="module")
def runs(judge_shapes, tmp_path_factory):
    """One epoch of each tiny run on 64 training pairs (width 4)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("paired")
    for key, (name, info) in RUNS.items():
        data, val = load_spec(info, "train", limit=64), load_spec(info, "test", limit=32)
        extra = {"d_width": 4} if name == "pix2pix" else {}
        model = create(name, data=data, seed=0, width=4, **extra)
        train(model, data, epochs=1, out=root / key, val_data=val, data_info=info, progress=False)
    yield root
    torch.set_num_threads(threads)


def oracle(model, monkeypatch, inputs, outputs):
    """``model`` now translates ``inputs`` (all the held-out pairs, in order) to ``outputs``."""
    def translate(x, y=None):
        assert torch.equal(x.cpu(), inputs)
        return outputs.to(x.device)

    monkeypatch.setattr(model, "translate", translate)
    return model


# ------------------------------------------------------------------ the figures on constructed outputs

def test_perfect_segmentation_scores_one_and_background_only_scores_its_share(monkeypatch):
    pairs = load_spec({"spec": "shapes", "task": "segment"}, "test", limit=16)
    model = create("unet", data=pairs, width=4)
    k = model.config.out_channels
    perfect = F.one_hot(pairs.target, k).permute(0, 3, 1, 2).float()
    m = evaluate(oracle(model, monkeypatch, pairs.x, perfect), pairs, pairs, "shapes", ["seg"], n=16)["metrics"]
    assert m == {"pixel_accuracy": 1.0, "mean_iou": 1.0, "dice": 1.0}

    background = torch.zeros_like(perfect)
    background[:, 0] = 1
    result = evaluate(oracle(model, monkeypatch, pairs.x, background), pairs, pairs, "shapes", ["seg"], n=16)
    share = float((pairs.target == 0).double().mean())
    present = len(pairs.target.unique())      # the shape classes score IoU 0, the background its share
    assert result["metrics"]["pixel_accuracy"] == pytest.approx(share)
    assert result["metrics"]["mean_iou"] == pytest.approx(share / present)
    assert result["per_class_iou"]["background"] == pytest.approx(share)
    assert result["per_class_iou"]["circle"] == 0.0


def test_hole_psnr_scores_the_hole_only_and_mean_fill_is_the_baseline(monkeypatch):
    info = {"spec": "mnist5k", "task": "inpaint:center:14"}
    train_pairs, pairs = load_spec(info, "train", limit=64), load_spec(info, "test", limit=16)
    model = create("unet", data=train_pairs, width=4)
    y, hole = pairs.target, pairs.mask[:, None].float()

    exact = evaluate(oracle(model, monkeypatch, pairs.x, y), train_pairs, pairs, "mnist5k", ["restore"], n=16)
    assert exact["metrics"]["psnr"] == math.inf and exact["metrics"]["hole_psnr"] == math.inf
    assert exact["metrics"]["ssim"] == pytest.approx(1.0, abs=1e-4)

    grey = y * (1 - hole) + 0.5 * hole            # right outside the hole, mid-grey inside it
    m = evaluate(oracle(model, monkeypatch, pairs.x, grey), train_pairs, pairs, "mnist5k", ["restore"], n=16)["metrics"]
    in_hole = ((y - 0.5) ** 2 * hole).flatten(1).sum(1) / hole.flatten(1).sum(1)
    everywhere = ((y - 0.5) ** 2 * hole).flatten(1).mean(1)
    assert m["hole_psnr"] == pytest.approx(float((10 * torch.log10(1 / in_hole)).mean()), rel=1e-5)
    assert m["psnr"] == pytest.approx(float((10 * torch.log10(1 / everywhere)).mean()), rel=1e-4)
    assert m["psnr"] > m["hole_psnr"] + 5    # the known pixels flatter the full-image figure

    mean = train_pairs.target.mean()
    filled = y * (1 - hole) + mean * hole
    both = evaluate(oracle(model, monkeypatch, pairs.x, filled), train_pairs, pairs, "mnist5k", ["restore", "baseline"],
                    n=16)["metrics"]
    assert both["meanfill_hole_psnr"] == pytest.approx(both["hole_psnr"], rel=1e-5)


def test_colorization_is_scored_in_rgb_against_grey(monkeypatch):
    pairs = load_spec({"spec": "photos", "task": "colorize"}, "test", limit=8)
    model = create("unet", data=pairs, width=4)
    L, ab = pairs.x, pairs.target
    rgb, grey_rgb = lab_to_rgb(L, ab), lab_to_rgb(L, torch.full_like(ab, 0.5))
    grey = evaluate(oracle(model, monkeypatch, L, torch.full_like(ab, 0.5)), pairs, pairs, "photos",
                    ["restore", "baseline"], n=8)["metrics"]
    assert grey["grey_psnr"] == pytest.approx(im.psnr(grey_rgb, rgb), rel=1e-6)
    assert grey["psnr"] == pytest.approx(grey["grey_psnr"], rel=1e-6)   # the model that outputs grey IS the baseline
    exact = evaluate(oracle(model, monkeypatch, L, ab), pairs, pairs, "photos", ["restore"], n=8)["metrics"]
    assert exact["psnr"] > grey["psnr"] + 10 and exact["ssim"] > 0.99


def test_input_baseline_and_judged_needs_labels(monkeypatch):
    pairs = load_spec({"spec": "mnist5k", "task": "denoise:gaussian:0.3"}, "test", limit=16)
    model = create("unet", data=pairs, width=4)
    result = evaluate(model, pairs, pairs, "mnist5k", ["baseline"], n=16)
    assert result["metrics"]["input_psnr"] == pytest.approx(im.psnr(pairs.x, pairs.target))
    assert result["metrics"]["input_ssim"] == pytest.approx(im.ssim(pairs.x, pairs.target))
    unlabelled = load_spec({"spec": "mnist5k", "task": "denoise:gaussian:0.3"}, "test", limit=16)
    unlabelled.y = None
    why = evaluate(model, unlabelled, pairs, "mnist5k", ["judged"], n=16)["not_applicable"]["judged"]
    assert why.startswith("needs labelled data") and "photographs without labels" in why


# ------------------------------------------------------------------ trained runs

def test_eval_of_trained_runs_gives_the_task_figures(runs, judge_shapes):
    seg = evaluate_run(runs / "segment", n=32)
    m = seg["metrics"]
    assert set(m) == {"pixel_accuracy", "mean_iou", "dice"} and seg["task"] == "segment"
    assert all(0 <= m[k] <= 1 for k in m)
    assert set(seg["per_class_iou"]) == {"background", "circle", "square", "triangle"}
    why = seg["not_applicable"]
    assert "cannot sample" in why["fid"] and "genlab translate" in why["fid"]   # the family's hint
    assert "cannot reconstruct" in why["psnr"] and "cannot encode" in why["probe"]
    assert "outputs segmentation masks" in why["restore"] and set(PAIRED_METRICS) - {"seg"} <= set(why)

    inpaint = evaluate_run(runs / "inpaint", n=32)
    m = inpaint["metrics"]
    assert {"psnr", "ssim", "mse", "hole_psnr", "meanfill_hole_psnr", "judged_as_source", "output_fid"} <= set(m)
    assert m["hole_psnr"] < m["psnr"]           # the known pixels are copied from the input
    assert 0 <= m["judged_as_source"] <= 1 and m["output_fid"] >= 0
    assert "psnr" not in inpaint["not_applicable"]   # measured from the translations

    sr = evaluate_run(runs / "superres", n=32)
    test = load_spec(RUNS["superres"][1], "test").spread(32)
    up = upsample_baselines(test.x, 2)
    assert sr["metrics"]["bicubic_psnr"] == pytest.approx(im.psnr(up["bicubic"], test.target))
    assert sr["metrics"]["nearest_psnr"] == pytest.approx(im.psnr(up["nearest"], test.target))
    bicubic, nearest = sr["metrics"]["bicubic_psnr"], sr["metrics"]["nearest_psnr"]
    assert math.isfinite(bicubic) and bicubic > nearest

    edges = evaluate_run(runs / "edges", n=32)
    assert "no trivial estimate" in edges["not_applicable"]["baseline"] and "judged_as_source" in edges["metrics"]
    # the judge looked at target-shaped images: 1×28×28, not the 2-channel inpainting or 14×14 superres inputs
    assert set(judge_shapes) == {("mnist5k", (1, 28, 28))}


def test_pix2pix_eval_is_reproducible_under_its_seed(runs):
    model = genlab.load(runs / "edges")
    pairs = load_spec(RUNS["edges"][1], "test", limit=32)
    once, again = (evaluate(model, pairs, pairs, "mnist5k", ["restore"], n=32, seed=3)["metrics"] for _ in range(2))
    other = evaluate(model, pairs, pairs, "mnist5k", ["restore"], n=32, seed=4)["metrics"]
    assert once == again and once["psnr"] != other["psnr"]    # dropout stays on: the seed decides


def test_report_shows_pairs_scores_and_the_adversarial_game(runs):
    seg = build_report(runs / "segment").read_text()
    model, pairs = genlab.load(runs / "segment"), load_spec(RUNS["segment"][1], "test", limit=12)
    rows, labels = pair_rows(model.eval(), pairs)
    assert labels == ["input", "output", "target", "output over input"]
    assert all(r.shape == (12, 3, 32, 32) for r in rows) and torch.equal(rows[0], pairs.x)
    section = seg.split('image-to-image">Image-to-image</h2>', 1)[1].split("<h2", 1)[0]
    assert section.count("data:image/png;base64,") == 1 and "mean IoU ↑" in section and "triangle" in section
    assert "Adversarial training" not in seg

    inpaint = build_report(runs / "inpaint").read_text()
    section = inpaint.split('image-to-image">Image-to-image</h2>', 1)[1].split("<h2", 1)[0]
    assert "hole PSNR ↑" in section and "mean-fill hole PSNR" in section and "should beat" in section

    edges = build_report(runs / "edges").read_text()
    game = edges.split('adversarial-training">Adversarial training</h2>', 1)[1].split("<h2", 1)[0]
    assert game.count("data:image/png;base64,") == 1 and "D did not win" in game   # one epoch at D ≈ 0.5
    assert "no trivial estimate" in edges


def test_cli_eval_prints_the_paired_rows(runs, capsys):
    code, out, _ = run(capsys, "eval", runs / "inpaint", "--n", "32")
    assert code == 0 and "task inpaint:center:14" in out and "32 held-out pairs" in out
    assert "hole PSNR ↑" in out and "mean-fill hole PSNR" in out and "judged as the source's class ↑" in out
    code, out, _ = run(capsys, "eval", runs / "segment", "--n", "32", "--metrics", "seg,fid")
    assert code == 0 and "mean IoU ↑" in out and "IoU per class: background" in out and "cannot sample" in out
    saved = json.loads((runs / "segment" / "eval.json").read_text())
    assert set(saved["metrics"]) == {"pixel_accuracy", "mean_iou", "dice"}


# ------------------------------------------------------------------ the verdict, the names, the leaderboard

def test_d_won_uses_the_gan_diagnostics_levels_over_the_last_epochs():
    won = [{"epoch": e, "d_real": 0.99, "d_fake": 0.01} for e in range(1, 6)]
    assert d_verdict(won, "nonsaturating", Thresholds())[0] is True
    assert "vanishing" in d_verdict(won, "nonsaturating", Thresholds())[1]
    assert d_verdict(won, "nonsaturating", Thresholds(d_real_high=0.995))[0] is False   # its thresholds, not ours
    recovered = won[:-1] + [{"epoch": 5, "d_real": 0.99, "d_fake": 0.2}]
    assert d_verdict(recovered, "nonsaturating", Thresholds())[0] is False
    early = [{"epoch": 1, "d_real": 0.5, "d_fake": 0.5}] + won[:3]   # only the last epochs decide
    assert d_verdict(early, "nonsaturating", Thresholds())[0] is True
    assert d_verdict(won, "lsgan", Thresholds())[0] is None and d_verdict([], "nonsaturating", Thresholds())[0] is None


def test_game_history_reads_the_pix2pix_columns(runs):
    (row,) = game_history(runs / "edges" / "metrics.csv")
    assert row["epoch"] == 1 and {"epoch", "d_real", "d_fake", "recon", "adv"} <= set(row)
    assert 0 < row["d_real"] < 1 and row["recon"] > 0


def test_every_paired_key_has_a_name_and_a_leaderboard_column():
    keys = [k for name in PAIRED_METRICS for k in DECLARED[name].labels]
    assert len(keys) == len(set(keys))
    for key in ("psnr", "ssim", "mse"):      # shared with the reconstruction metrics: one name wherever found
        assert metric_name(key) == DECLARED["restore"].labels[key]
    for key in keys:
        name = metric_name(key)   # a direction for the model's figures; the baselines are marked as such
        assert key in bench.COLUMNS and (name.direction or name.note.startswith("baseline: ")), key
    assert metric_name("mean_iou").direction == "higher" and metric_name("output_fid").direction == "lower"
    result = {"metrics": {"mean_iou": 0.5, "bicubic_psnr": 20.0}, "not_applicable": {}, "n": 2, "model": "unet",
              "data": "shapes", "seconds": 0.1}
    assert [r["metric"] for r in metric_rows(result)] == ["mean IoU ↑", "bicubic PSNR"]
    worse = {"model": "a", "seconds": 1, "images_per_s": 1, "mean_iou": 0.5, "bicubic_psnr": 20.0}
    better = {**worse, "model": "b", "mean_iou": 0.6, "bicubic_psnr": 21.0}
    table = bench.markdown([worse, better], 1)
    assert "| mean IoU ↑ | bicubic PSNR |" in table
    assert "| b | 1 | 1 | 0.6 ★ | 21 |" in table     # a baseline has no direction: no best to mark
    # stars compare models of one task only: a denoiser's PSNR is no rival to a super-resolver's
    den = {"model": "unet", "task": "denoise:gaussian:0.5", "seconds": 1, "images_per_s": 1, "psnr": 25.0}
    sr = {**den, "model": "srresnet", "task": "superres:2", "psnr": 30.0}
    sr2 = {**sr, "model": "srgan", "psnr": 28.0}
    table = bench.markdown([den, sr, sr2], 1)
    assert "| unet (--task denoise:gaussian:0.5) | 1 | 1 | 25 |" in table      # alone in its task: no ★
    assert "| srresnet (--task superres:2) | 1 | 1 | 30 ★ |" in table
    assert "| srgan (--task superres:2) | 1 | 1 | 28 |" in table
    assert "mean IoU ↑" in format_table(result)


def test_overlay_blends_class_colours_over_the_foreground_only():
    from genlab.apps.sections.paired import score_names
    from genlab.data.tasks import overlay
    from genlab.data.tasks import PALETTE

    image = torch.full((1, 1, 2, 2), 0.2)                 # grey images are drawn in RGB
    mask = torch.tensor([[[0, 1], [2, 0]]])
    out = overlay(image, mask, alpha=0.5)
    assert out.shape == (1, 3, 2, 2) and torch.allclose(out[0, :, 0, 0], torch.full((3,), 0.2))
    assert torch.allclose(out[0, :, 0, 1], 0.1 + 0.5 * PALETTE[1])
    assert torch.allclose(out[0, :, 1, 0], 0.1 + 0.5 * PALETTE[2])
    inpaint = load_spec({"spec": "mnist5k", "task": "inpaint:center:14"}, "test", limit=4)
    assert score_names(create("context-encoder", data=inpaint, width=4)) == ("D(y)", "D(G(x))")
    assert score_names(create("pix2pix", data=inpaint, width=4)) == ("D(x, y)", "D(x, G(x))")
