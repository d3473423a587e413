"""Report sections of image-to-image models (ŷ = G(x), trained on (input x, target y) pairs).

* "Image-to-image": held-out inputs x, outputs G(x) and targets y side by side (segmentation also
  the predicted mask laid over the image), then the task's scores next to its trivial baseline's,
  computed by the metrics of ``genlab eval`` (PSNR = 10·log10(1 / MSE), SSIM, hole PSNR; pixel
  accuracy, mean IoU = mean_c TP_c / (TP_c + FP_c + FN_c), Dice).
* "Adversarial training" (pix2pix, the context encoder, any model with a discriminator): the
  conditional game min_G max_D E[log D(x, y)] + E[log(1 − D(x, G(x)))] + λ·ℓ_rec per epoch, from
  metrics.csv: D(x, y), D(x, G(x)), G's reconstruction and adversarial terms, and whether D won.
  When D(x, y) → 1 and D(x, G(x)) → 0 the adversarial gradient of log(1 − D) vanishes (Arjovsky &
  Bottou 2017) and G learns from the reconstruction term alone; the levels are those of the GAN
  diagnostics (:class:`genlab.train.diagnostics.Thresholds`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ... import runs
from ...errors import GenlabError
from ...models.paired import ImageToImage
from ..needs import Need
from . import per_class, section

SHOWN = 12            # held-out pairs drawn (spread over the classes when labelled)
SCORED = 500          # held-out pairs the section's scores are computed on at most ...
SCORED_PIXELS = 500 * 32 * 32   # ... and at most about this many output pixels (a few seconds on a CPU)
LAST_EPOCHS = 3       # "D won" is judged over this many final epochs, so one lucky epoch does not decide
SECTION_METRICS = ["seg", "restore", "baseline"]   # the judge is left to `genlab eval` (it may need training)

ADVERSARIAL = Need("a discriminator", lambda model, data: getattr(model, "discriminator", None) is not None,
                   "needs a discriminator (gan_loss=none trains the reconstruction term alone)")


def pair_rows(model, shown, seed: int = 0) -> tuple[list, list[str]]:
    """(rows, labels): input | output | target pictures of ``shown`` pairs, plus for segmentation
    the predicted mask over the image; the output drawn under ``seed`` (pix2pix's dropout)."""
    from ...data.tasks import overlay, picture, same_channels

    task = model.task
    x = shown.x.to(model.device)
    torch.manual_seed(seed)
    out = model.translate(x).cpu()
    x = x.cpu()
    rows = [picture(task, x).clamp(0, 1), picture(task, x, out), picture(task, x, shown.target)]
    labels = ["input", "output", "target"]
    if model.segments:
        rows.append(overlay(x, out))
        labels.append("output over input")
    return same_channels(*rows), labels


def _train_data(model, run_dir):
    """The run's paired training split (for the mean-fill baseline), or None with the reason."""
    from ...data import load_spec

    info = (getattr(model, "run_info", None) or {}).get("data") or runs.read_config(run_dir).get("data") or {}
    if "spec" not in info:
        return None, "the run's config.json does not say which data it used"
    try:
        return load_spec(info, "train"), ""
    except GenlabError as exc:
        return None, str(exc)


@section("Image-to-image", needs=("translate", "data"), classes=(ImageToImage,))
@torch.no_grad()
def image_to_image(report, model, data, run_dir) -> None:
    from ...train.names import fmt
    from ...viz.grids import labelled_rows
    from ..evaluate import DECLARED, evaluate, metric_name

    if data.target is None:
        return   # held-out images without targets: nothing to compare the outputs with
    task = model.config.task or "paired"
    shown = per_class(data, SHOWN)
    rows, labels = pair_rows(model, shown)
    how = {"segment": " The masks are drawn in class colours (background black).",
           "colorize": " Outputs and targets are shown in RGB from the input's L and the ab channels.",
           "inpaint": " The hole is shown in grey in the input."}.get(task.split(":")[0], "")
    if task.startswith("superres"):
        how = " The low-resolution input is enlarged by repeating pixels."
    report.section("Image-to-image", f"{len(shown)} held-out pairs of task {task}, each column one pair: the "
                   f"model's input, its output and the target.{how}")
    report.image(labelled_rows(rows, labels, min_cell=40))

    # only the mean-fill baseline (inpainting) reads the training split; the other scores need none
    inpaints = model.task is not None and model.task.name == "inpaint"
    train, problem = _train_data(model, run_dir) if inpaints else (data, "")
    wanted = SECTION_METRICS if train is not None else ["seg", "restore"]
    spec = ((getattr(model, "run_info", None) or {}).get("data") or {}).get("spec", "")
    h, w = data.target.shape[-2:]
    n = max(2, min(SCORED, len(data), max(16, SCORED_PIXELS // (h * w))))
    result = evaluate(model, train if train is not None else data, data, spec, wanted, n=n)
    scores, baseline = [], []
    for key, value in result["metrics"].items():
        name = metric_name(key)
        row = {"figure": name.title, "value": fmt(value), "note": name.note}
        (baseline if key in DECLARED["baseline"].labels else scores).append(row)
    if not scores:
        return
    whose = ": the model's, then the trivial estimate's, which the model should beat." if baseline else "."
    report.text(f"Scores on {result['n']} held-out pairs{whose} `genlab eval RUN` adds the judge's view of the "
                "outputs and saves them.")
    report.table(scores + baseline)
    if not model.segments and "baseline" in result["not_applicable"]:
        report.text(f"No baseline: {result['not_applicable']['baseline']}.")
    elif train is None and not model.segments:
        report.text(f"No baseline: the training data could not be loaded ({problem}).")
    if iou := result.get("per_class_iou"):
        report.table([{"class": c, "IoU": fmt(v, ".3f")} for c, v in iou.items()])


# G's own loss terms in metrics.csv, besides the engine's D(x)/D(G(x)) columns that read_history knows
GAME_TERMS = {"recon": "train/generator_recon_epoch", "adv": "train/generator_adv_epoch"}


def game_history(metrics_csv) -> list[dict]:
    """Per-epoch ``{"epoch" (1-based), "d_real", "d_fake", "recon", "adv", …}`` from a run's metrics.csv
    (a key is absent in an epoch that did not log it)."""
    from ...train.diagnostics import read_history

    return read_history(metrics_csv, GAME_TERMS)


def score_names(model) -> tuple[str, str]:
    """How D's two scores are written: on pairs (pix2pix) or on the output alone (context encoder)."""
    return ("D(x, y)", "D(x, G(x))") if getattr(model.config, "d_condition", True) else ("D(y)", "D(G(x))")


def d_verdict(history: list[dict], loss: str, thresholds,
              names: tuple[str, str] = ("D(x, y)", "D(x, G(x))")) -> tuple[bool | None, str]:
    """(won, one line): whether D won over the last epochs, D(x, y) > d_real_high and
    D(x, G(x)) < d_fake_low in each (None when the scores are not probabilities or not logged)."""
    from ...models.gan.game import PROBABILITY_LOSSES

    real, fake = names

    rows = [r for r in history if "d_real" in r and "d_fake" in r]
    if not rows:
        return None, "D's scores were not logged, so whether D won cannot be told."
    if loss not in PROBABILITY_LOSSES:
        return None, (f"With the {loss} loss D's outputs are raw scores, not probabilities, so the "
                      f"{real} → 1, {fake} → 0 rule of the vanishing gradient does not apply.")
    t = thresholds
    last = rows[-LAST_EPOCHS:]
    span = f"the last {len(last)} epochs" if len(last) > 1 else "the only epoch"
    end = f"{real} = {last[-1]['d_real']:.3f}, {fake} = {last[-1]['d_fake']:.3g} at epoch {last[-1]['epoch']}"
    if all(r["d_real"] > t.d_real_high and r["d_fake"] < t.d_fake_low for r in last):
        return True, (f"D won: over {span} {real} stayed above {t.d_real_high:g} and {fake} below "
                      f"{t.d_fake_low:g} ({end}), so the generator's adversarial gradient is vanishing (a "
                      "near-perfect D gives G little to learn from) and G learns mostly from the reconstruction "
                      "term; weaken D (lr_d, a smaller patch or d_width).")
    return False, (f"D did not win: over {span} {real} did not stay above {t.d_real_high:g} with {fake} "
                   f"below {t.d_fake_low:g} ({end}), so G kept an adversarial gradient.")


def game_figure(history: list[dict], loss: str, thresholds, names: tuple[str, str] = ("D(x, y)", "D(x, G(x))")):
    """Three panels against the epoch: D(x, y) and D(x, G(x)) (with the vanishing-gradient levels),
    G's reconstruction term and G's adversarial term."""
    from matplotlib.ticker import MaxNLocator

    from ...models.gan.game import PROBABILITY_LOSSES
    from ...viz.plots import new_figure

    fig = new_figure(11.0, 3.2)
    axes = fig.subplots(1, 3)
    panels = [("D's scores", [("d_real", f"{names[0]}: real"), ("d_fake", f"{names[1]}: generated")]),
              ("G: reconstruction term", [("recon", "ℓ_rec")]), ("G: adversarial term", [("adv", "L_adv")])]
    for ax, (title, series) in zip(axes, panels):
        for key, label in series:
            pts = [(r["epoch"], r[key]) for r in history if key in r]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, marker="o" if len(pts) <= 30 else None, markersize=3, label=label)
        if title.startswith("D") and loss in PROBABILITY_LOSSES:
            for level in (thresholds.d_real_high, thresholds.d_fake_low):
                ax.axhline(level, color="0.5", linestyle="--", linewidth=0.8)
            ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return fig


@section("Adversarial training", needs=(ADVERSARIAL,), classes=(ImageToImage,))
def adversarial_training(report, model, data, run_dir) -> None:
    from ...train.diagnostics import run_thresholds

    metrics = Path(run_dir) / runs.METRICS
    history = game_history(metrics) if metrics.is_file() else []
    if not history:
        return
    loss = getattr(model.config, "gan_loss", "nonsaturating")
    thresholds = run_thresholds(run_dir)
    names = score_names(model)
    on = ("real pairs (input x, target y) and on generated pairs (x, G(x))" if names[0] == "D(x, y)"
          else "real images y and on the outputs G(x), judged without their input")
    report.section("Adversarial training", f"The game epoch by epoch (loss {loss}): D's mean score "
                   f"{names[0]} and {names[1]} on {on}, and the two "
                   "terms of G's loss, the reconstruction term (weighted by recon_weight in G's loss) and the "
                   "adversarial one. Dashed lines: the levels at which the GAN diagnostics call D "
                   "near-perfect.")
    report.image(game_figure(history, loss, thresholds, names))
    report.text(d_verdict(history, loss, thresholds, names)[1])
