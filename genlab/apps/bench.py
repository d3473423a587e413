"""The standing scoreboard: each model trained for the same wall-clock budget on mnist5k, evaluated."""
from __future__ import annotations

import json
from pathlib import Path

from .. import runs
from ..data import load_spec
from ..io import atomic_write_bytes, write_json
from ..registry import get, names
from ..train import train
from ..train.names import direction_legend, fmt
from .evaluate import evaluate, metric_name

COLUMNS = ("fid", "kid", "is", "precision", "recall", "coverage", "classes_found", "neg_elbo", "iwae_nll", "nll",
           "bits_per_dim", "mse", "psnr", "ssim", "probe_codes",
           # image-to-image runs: the task's scores, then its trivial baseline's, then the judge's view
           "pixel_accuracy", "mean_iou", "dice", "hole_psnr", "bicubic_psnr", "bicubic_ssim", "nearest_psnr",
           "meanfill_hole_psnr", "grey_psnr", "input_psnr", "input_ssim", "judged_as_source", "output_fid")


def bench(models: list[str] | None = None, budget_seconds: float = 60.0, out: str | Path = "bench",
          n: int = 1000, seed: int = 0, progress: bool = False) -> list[dict]:
    models = models or names()
    for name in models:
        get(name)  # fail on a misspelled model before spending the budget on the others
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in models:
        # an image-to-image model trains on mnist5k made into pairs by the task it declares
        task = getattr(get(name).model_class, "bench_task", None)
        info = {"spec": "mnist5k", **({"task": task} if task else {})}
        data, test = load_spec(info, "train"), load_spec(info, "test")
        model = runs.create(name, data=data, seed=seed)
        result = train(model, data, epochs=10_000, max_seconds=budget_seconds, seed=seed, progress=progress,
                       out=out / "runs" / name, overwrite=True, val_data=test, data_info=info)
        scores = evaluate(model, data, test, "mnist5k", n=n, seed=seed)
        rows.append({"model": name, **({"task": task} if task else {}), "seconds": round(result.seconds, 1),
                     "images_per_s": round(result.images_per_second, 1), **scores["metrics"],
                     "not_applicable": sorted(scores["not_applicable"])})
        write_json(out / "leaderboard.json", rows)  # after each model, so a stopped bench keeps its rows
        atomic_write_bytes(out / "leaderboard.md", markdown(rows, budget_seconds).encode())
    return rows


def markdown(rows: list[dict], budget_seconds: float) -> str:
    """The leaderboard: metrics by display name with their direction, the best value of each marked ★."""
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    head = ["model", "seconds", "images/s", *(metric_name(c).title for c in cols)]
    # a best value is one among rows of the same task: a PSNR of denoising and one of 2× super-resolution
    # measure different things
    best = {}
    for c in cols:
        direction = metric_name(c).direction
        for task in {r.get("task") for r in rows}:
            values = [r[c] for r in rows if c in r and r.get("task") == task]
            if direction and len(values) > 1:
                best[c, task] = min(values) if direction == "lower" else max(values)
    lines = [f"# genlab leaderboard: mnist5k, {budget_seconds:g} s of training per model", "",
             f"{direction_legend()}; ★ marks the best value of each metric among models of the same task.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        task = r.get("task")
        model = f"{r['model']} (--task {task})" if task else r["model"]
        cells = [model, f"{r['seconds']:.0f}", f"{r['images_per_s']:.0f}"]
        cells += [(fmt(r[c]) + (" ★" if r[c] == best.get((c, task)) else "")) if c in r else "–" for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def print_json(rows: list[dict]) -> str:
    return "\n".join(json.dumps(r) for r in rows)
