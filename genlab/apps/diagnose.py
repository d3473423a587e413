"""`genlab diagnose RUN`: is a GAN run healthy, collapsed, starved of gradient, or not converging?

Reads the run's metrics.csv (the engine's per-epoch losses, D(x), D(G(z)) and gradient norms, and
the ``diag/*`` coverage and near-duplicate columns of :class:`genlab.train.diagnostics.GANDiagnostics`),
samples the model now when a judge for its data is cached, and decides one verdict:

mode collapse        the final samples cover fewer than half of the classes (a class counts with
                     ≥ 1% of the samples), or more than half of them have a near-duplicate
vanishing gradients  at the last epoch the generator's gradient norm has collapsed (below 1e-3 of
                     epoch 1's, or below 1e-5) while D is near-perfect: D(x) > 0.95, D(G(z)) < 0.05
                     (for the probability losses; the other losses' scores are not probabilities)
non-convergence      over the last half of training (at least 6 epochs), the D and the G loss both
                     oscillate without trend: for each, a least-squares line explains less than 20%
                     of its variance (R² < 0.2), its epoch-to-epoch changes flip sign at least half
                     of the time, and its swings are large (standard deviation above 10% of its mean
                     magnitude). Both, because the game is what fails to settle: D's loss alone
                     bounces at equilibrium (a healthy Adam DCGAN's went 0.41, 0.22, 0.32, 0.21,
                     0.39, 0.39 while G's fell steadily and its samples covered all ten classes)
too few epochs to judge
                     none of these, and the run is shorter than non-convergence needs (12 epochs)
healthy              none of these, judged over enough epochs

in that order of precedence (``problems`` lists every one that holds). The verdict and every warning
come from :func:`genlab.train.diagnostics.judge_history` with the run's
:class:`~genlab.train.diagnostics.Thresholds`, as at the end of `genlab train` and in the report.
Writes diagnose.json, diagnose.png (the curves), samples/evolution.gif (the fixed-noise grid epoch
by epoch) and samples/strip.png into the run.
"""
from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path

import torch
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from .. import runs
from ..errors import CapabilityError, GenlabError, RunFolderError
from ..metrics.sample import duplicate_reference
from ..viz.plots import new_figure
from ..models.gan.game import PROBABILITY_LOSSES
from ..train.diagnostics import (VERDICTS, Thresholds, fixed_samples, judge_history, oscillation, read_history,
                                 run_num_classes, run_thresholds, sample_health)
from ..train.names import fmt

__all__ = ["diagnose", "format_summary", "oscillation", "diagnostics_figure", "choose_epochs", "epoch_strip",
           "evolution_gif", "require_gan_run", "VERDICTS"]

STRIP_EPOCHS = (1, 2, 3, 10, 100)    # epochs the strip shows where they exist: early change, then the long run
MIN_OSCILLATION_EPOCHS = Thresholds().oscillation_epochs


def require_gan_run(run_dir: str | Path) -> dict:
    """The run's config.json, refusing folders that do not exist and runs of models that are no GAN."""
    from ..models.gan import GAN
    from ..registry import get

    info = runs.read_config(run_dir)
    entry = get(info["model"])
    if not issubclass(entry.model_class, GAN):
        raise CapabilityError(f"{run_dir} is a {info['model']!r} run, not a GAN: `genlab diagnose` reads the "
                              "discriminator/generator game (gan, dcgan, cgan, ...); use `genlab eval "
                              f"{run_dir}` for other models")
    return info


# --------------------------------------------------------------------------- diagnose

@torch.no_grad()
def _measure_now(run_dir: Path, info: dict, n: int, seed: int, thresholds: Thresholds, log) -> tuple[dict | None, str]:
    """Coverage and near-duplicates of ``n`` samples drawn now, or (None, why not)."""
    from ..data import load_spec
    from ..metrics.judge import get_judge

    spec = info.get("data") or {}
    shape = tuple(info["config"].get("image_shape") or ())
    note = ""
    try:
        judge, _ = get_judge(spec.get("spec") or "", shape, train_if_missing=False)
    except GenlabError as exc:
        judge, note = None, (f"class coverage needs a judge: `genlab judge train --data {spec.get('spec') or 'SPEC'}` "
                             f"({exc})")
    try:
        real = load_spec(spec, "train")
    except (GenlabError, KeyError) as exc:
        return None, f"the run's data could not be loaded, so nothing was sampled now: {exc}"
    if log:
        log(f"diagnose: sampling {n} images from {run_dir}")
    model = runs.load(run_dir)
    images = fixed_samples(model, n, seed).cpu()
    real_x = real.spread(len(images)).x
    health = sample_health(images, judge, duplicate_reference(real_x.flatten(1)), thresholds)
    health.update(n=len(images), seed=seed, judge=judge is not None,
                  num_classes=judge.num_classes if judge is not None else None)
    return health, note


def diagnose(run_dir: str | Path, n: int = 1000, seed: int = 0, save: bool = True,
             thresholds: Thresholds | None = None, log=None) -> dict:
    """Diagnose a GAN run folder; see the module docstring for the verdicts. With ``save`` writes
    diagnose.json, diagnose.png, samples/evolution.gif and samples/strip.png into the run.
    ``thresholds``: default, those the run was trained under."""
    from ..io import read_json, write_json
    from ..viz.plots import figure_to_png

    run_dir = Path(run_dir)
    info = require_gan_run(run_dir)
    metrics = run_dir / runs.METRICS
    if not metrics.is_file():
        raise RunFolderError(f"{run_dir} has no {runs.METRICS}: its training never finished an epoch; train it "
                             f"with `genlab train {info['model']} --out {run_dir} --overwrite`")
    history = read_history(metrics)
    if not history:
        raise RunFolderError(f"{metrics} holds no per-epoch GAN metrics (train/discriminator_*_epoch); "
                             "was it written by `genlab train`?")
    loss = str(info["config"].get("loss", ""))
    thresholds = thresholds or run_thresholds(run_dir)
    now, note = _measure_now(run_dir, info, n, seed, thresholds, log) if n > 0 else (None, "")
    num_classes = (now or {}).get("num_classes") or run_num_classes(run_dir, info)
    last = history[-1]
    measured_now = {k: now[k] for k in ("classes_covered", "class_entropy", "class_kl_uniform", "duplicate_rate",
                                        "classes_found") if k in now} if now else None
    verdict = judge_history(history, loss, num_classes, thresholds, final=measured_now)
    warnings, convergence, problems = verdict.found, verdict.convergence, verdict.problems

    coverage = None
    if now:
        coverage = {"source": "sampled now", **{k: v for k, v in now.items()}}
    elif "duplicate_rate" in last or "classes_covered" in last:
        coverage = {"source": f"epoch {last['epoch']} (during training)",
                    **{k: last[k] for k in ("classes_covered", "classes_found", "class_entropy", "class_kl_uniform",
                                            "duplicate_rate") if k in last}, "num_classes": num_classes}
    final = {k: last[k] for k in ("epoch", "d_loss", "g_loss", "d_real", "d_fake", "d_grad", "g_grad", "wasserstein",
                                  "gp") if k in last}
    recorded = read_json(run_dir / "diagnostics.json") if (run_dir / "diagnostics.json").is_file() else None
    result = {
        "run": str(run_dir), "model": info["model"], "loss": loss, "epochs": int(last["epoch"]),
        "scores": "probabilities" if loss in PROBABILITY_LOSSES else "raw critic scores",
        "final": final, "coverage": coverage, "coverage_note": note,
        "first_g_grad": next((r["g_grad"] for r in history if "g_grad" in r), None),
        "warnings": warnings, "convergence": convergence, "problems": problems, "verdict": verdict.name,
        "verdict_line": verdict.line(),
        "diagnostics_during_training": recorded is not None,
        "thresholds": dataclasses.asdict(thresholds), "files": {},
    }
    if save:
        figure_to_png(diagnostics_figure(history, warnings, f"{run_dir.name}: {info['model']}, loss {loss}",
                                         num_classes, thresholds), run_dir / "diagnose.png")
        result["files"]["plot"] = "diagnose.png"
        gif, strip = evolution_gif(run_dir), epoch_strip(run_dir)
        if gif:
            result["files"]["gif"] = str(gif.relative_to(run_dir))
        if strip:
            result["files"]["strip"] = str(strip.relative_to(run_dir))
        result["files"]["json"] = "diagnose.json"
        write_json(run_dir / "diagnose.json", result)
    return result


def _fmt(v, spec: str = ".3g") -> str:
    return fmt(v, spec)


def format_summary(result: dict) -> str:
    """The human summary printed by `genlab diagnose`."""
    f, lines = result["final"], []
    lines.append(f"{result['run']}: {result['model']}, loss {result['loss']}, {result['epochs']} epoch(s)")
    d_kind = "" if result["scores"] == "probabilities" else " (raw critic scores)"
    extra = f"  W estimate {_fmt(f.get('wasserstein'))}" if "wasserstein" in f else ""
    lines.append(f"  final epoch: D(x) {_fmt(f.get('d_real'))}  D(G(z)) {_fmt(f.get('d_fake'))}{d_kind}{extra}  "
                 f"loss D {_fmt(f.get('d_loss'))} G {_fmt(f.get('g_loss'))}")
    first = result.get("first_g_grad")
    lines.append(f"  gradient norms: D {_fmt(f.get('d_grad'))}  G {_fmt(f.get('g_grad'))}"
                 + (f" (epoch 1: {first:.3g})" if first is not None else ""))
    c = result.get("coverage")
    if c:
        parts = []
        if c.get("classes_covered") is not None:
            parts.append(f"{c['classes_covered']:.0f}/{c.get('num_classes') or '?'} classes covered"
                         + (f", class entropy {_fmt(c['class_entropy'])} nats" if c.get("class_entropy") is not None
                            else "")
                         + (f", KL to uniform {_fmt(c['class_kl_uniform'])}" if c.get("class_kl_uniform") is not None
                            else ""))
        if c.get("duplicate_rate") is not None:
            parts.append(f"near-duplicates {fmt(c['duplicate_rate'], '.1%')}")
        where = c["source"] + (f", {c['n']} samples" if "n" in c else "")
        lines.append(f"  coverage ({where}): " + "; ".join(parts))
    if result.get("coverage_note"):
        lines.append(f"  note: {result['coverage_note']}")
    if result["warnings"]:
        lines.append(f"  warnings ({len(result['warnings'])}):")
        lines += [f"    - {w['message']}" for w in result["warnings"][:20]]
        if len(result["warnings"]) > 20:
            lines.append(f"    … and {len(result['warnings']) - 20} more (diagnose.json)")
    else:
        lines.append("  warnings: none")
    conv = [f"{k.replace('_loss', '')} loss R² {c['r2']:.2f}, sign flips {c['flips']:.0%}, swing {c['swing']:.0%}"
            + (" (oscillating)" if c["oscillating"] else "")
            for k, c in result["convergence"].items() if c]
    too_few = f"not judged: needs {2 * result['thresholds']['oscillation_epochs']} epochs"
    lines.append("  convergence (last half of training): " + ("; ".join(conv) if conv else too_few))
    lines.append(result["verdict_line"])
    if result.get("files"):
        lines.append("wrote: " + ", ".join(str(Path(result["run"]) / p) for p in result["files"].values()))
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures

def diagnostics_figure(history: list[dict], warnings: list[dict] | None = None, title: str = "",
                       num_classes: int | None = None, thresholds: Thresholds = Thresholds()) -> Figure:
    """Six panels against the epoch: D and G losses, D(x) and D(G(z)), gradient norms (log),
    classes covered, near-duplicate rate and the class histogram's KL to uniform; the epochs of
    warnings are marked by dotted red lines."""
    fig = new_figure(12.0, 6.4)
    axes = fig.subplots(2, 3).ravel()
    epochs = [r["epoch"] for r in history]
    panels = [
        ("losses", [("d_loss", "D loss"), ("g_loss", "G loss")], None),
        ("D(x) and D(G(z))", [("d_real", "D(x)"), ("d_fake", "D(G(z))"), ("wasserstein", "W estimate")], None),
        ("gradient norms", [("d_grad", "‖∇D‖"), ("g_grad", "‖∇G‖")], "log"),
        ("classes covered (≥ 1% of samples)", [("classes_covered", "classes")], num_classes),
        ("near-duplicate rate", [("duplicate_rate", "share of samples")], thresholds.max_duplicate_rate),
        ("class histogram: KL to uniform", [("class_kl_uniform", "nats")], None),
    ]
    for ax, (name, series, extra) in zip(axes, panels):
        drawn = False
        for key, label in series:
            pts = [(e, r[key]) for e, r in zip(epochs, history) if r.get(key) is not None]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, marker="o" if len(pts) <= 30 else None, markersize=3, label=label)
                drawn = True
        if not drawn:
            ax.text(0.5, 0.5, "not measured\n(no judge cached, or trained\nwith --no-diagnostics)", ha="center",
                    va="center", transform=ax.transAxes, color="0.4")
        elif extra == "log" and all(r.get(k, 1) > 0 for r in history for k, _ in series if r.get(k) is not None):
            ax.set_yscale("log")
        elif name.startswith("classes") and extra:
            ax.axhline(extra * thresholds.min_class_share, color="0.5", linestyle="--", linewidth=0.8,
                       label="warning level")
            ax.set_ylim(0, extra + 0.5)
        elif name.startswith("near-duplicate"):
            ax.axhline(extra, color="0.5", linestyle="--", linewidth=0.8, label="warning level")
            ax.set_ylim(-0.02, 1.02)
        for w in warnings or []:
            ax.axvline(w["epoch"], color="#cc3311", linestyle=":", linewidth=1, alpha=0.7)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        if len(epochs) <= 12:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title + ("  (dotted red: warnings)" if warnings else ""))
    return fig


def _previews(run_dir: Path) -> dict[int, Path]:
    out = {}
    for p in (Path(run_dir) / "samples").glob("epoch_*.png"):
        try:
            out[int(p.stem.split("_", 1)[1])] = p
        except ValueError:
            continue
    return dict(sorted(out.items()))


def choose_epochs(available, wanted=STRIP_EPOCHS, count: int = 5) -> list[int]:
    """Epochs 1, 2, 3, 10, 100 (:data:`STRIP_EPOCHS`) where they exist, the last epoch, and evenly spaced
    epochs until ``count`` are chosen."""
    avail = sorted(set(int(e) for e in available))
    if not avail:
        return []
    chosen = [e for e in wanted if e in avail]
    if avail[-1] not in chosen:
        chosen.append(avail[-1])
    k = min(count, len(avail))
    for i in range(k):
        if len(chosen) >= k:
            break
        e = avail[round(i * (len(avail) - 1) / max(1, k - 1))]
        if e not in chosen:
            chosen.append(e)
    return sorted(chosen)


def _fit_width(im: Image.Image, width: int) -> Image.Image:
    if im.width <= width:
        return im
    factor = math.ceil(im.width / width)
    return im.resize((im.width // factor, im.height // factor),
                     Image.Resampling.NEAREST if im.width % factor == 0 else Image.Resampling.LANCZOS)


def _captioned(im: Image.Image, caption: str, mode: str) -> Image.Image:
    from ..viz.grids import load_font

    font = load_font(14)
    band = 22
    out = Image.new(mode, (im.width, im.height + band), "white")
    out.paste(im.convert(mode), (0, band))
    ImageDraw.Draw(out).text((4, 3), caption, fill="black", font=font)
    return out


def epoch_strip(run_dir: str | Path, epochs: list[int] | None = None, width: int = 256, save: bool = True):
    """The fixed-noise preview grids of chosen epochs side by side (how the samples of one fixed
    noise change over training); writes samples/strip.png and returns its path (or the image with
    ``save=False``); None without previews."""
    previews = _previews(Path(run_dir))
    chosen = [e for e in (epochs or choose_epochs(previews)) if e in previews]
    if not chosen:
        return None
    tiles = []
    for e in chosen:
        with Image.open(previews[e]) as im:
            tiles.append(_captioned(_fit_width(im.convert("RGB"), width), f"epoch {e}", "RGB"))
    gap = 8
    width = sum(t.width for t in tiles) + gap * (len(tiles) - 1)
    out = Image.new("RGB", (width, max(t.height for t in tiles)), "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + gap
    if not save:
        return out
    from ..viz.grids import save_image

    return save_image(out, Path(run_dir) / "samples" / "strip.png")


def evolution_gif(run_dir: str | Path, max_frames: int = 120, frame_ms: int = 300) -> Path | None:
    """samples/evolution.gif: every epoch's fixed-noise preview grid (at most ``max_frames``,
    evenly chosen, always the last), captioned with its epoch; the last frame is held longer."""
    from ..io import atomic_write_bytes

    previews = _previews(Path(run_dir))
    if not previews:
        return None
    epochs = list(previews)
    if len(epochs) > max_frames:
        picks = sorted({round(i * (len(epochs) - 1) / (max_frames - 1)) for i in range(max_frames)})
        epochs = [epochs[i] for i in picks]
    frames = []
    for e in epochs:
        with Image.open(previews[e]) as im:
            mode = "L" if im.mode in ("L", "1", "LA") else "RGB"
            frames.append(_captioned(im, f"epoch {e}", mode))
    size = frames[-1].size
    frames = [f if f.size == size else f.resize(size) for f in frames]
    buf = io.BytesIO()
    durations = [frame_ms] * (len(frames) - 1) + [max(frame_ms, 1500)]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return atomic_write_bytes(Path(run_dir) / "samples" / "evolution.gif", buf.getvalue())
