"""`compare`: several runs' metrics side by side, with their sample or reconstruction grids."""
from __future__ import annotations

from pathlib import Path

import torch

from ..io import read_json
from ..train import runs
from ..viz.grids import grid_image
from ..viz.report import Report
from .evaluate import LABELS, evaluate_run


@torch.no_grad()
def compare(run_dirs: list, out: Path, n: int = 1000) -> Path:
    results, grids = [], []
    for run in map(Path, run_dirs):
        saved = read_json(run / "eval.json") if (run / "eval.json").is_file() else {}
        result = saved if saved.get("n") == n else evaluate_run(run, n=n)
        results.append((run.name, result))
        model = runs.load(run)
        torch.manual_seed(0)
        if "sample" in model.capabilities():
            grids.append((run.name, "samples", grid_image(model.sample(36).clamp(0, 1), nrow=6)))
        else:
            from .report import test_data

            x = test_data(model.run_info).spread(18).x
            grids.append((run.name, "originals / reconstructions",
                          grid_image(torch.cat([x, model.reconstruct(x)]), nrow=6)))
    keys = list(dict.fromkeys(k for _, r in results for k in r["metrics"]))
    report = Report("genlab comparison", " · ".join(name for name, _ in results))
    report.section("Metrics", f"{n} held-out images per run; n/a = the model cannot serve the metric.")
    report.table([{"metric": LABELS.get(k, (k, ""))[0],
                   **{name: (f"{r['metrics'][k]:.4g}" if k in r["metrics"] else "n/a") for name, r in results}}
                  for k in keys])
    report.section("Images")
    for name, what, image in grids:
        report.image(image, caption=f"{name}: {what}")
    return report.write(out)
