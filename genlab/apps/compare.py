"""`compare`: several runs' metrics side by side, with their sample or reconstruction grids."""
from __future__ import annotations

from pathlib import Path

import torch

from .. import runs
from ..io import read_json
from ..viz.grids import grid_image
from ..viz.report import Report
from .evaluate import LABELS, evaluate_run


@torch.no_grad()
def compare(run_dirs: list, out: Path, n: int = 1000) -> Path:
    """One HTML page: the runs' metrics in one table and their pictures side by side."""
    results, grids = [], []
    for run in map(Path, run_dirs):
        saved = read_json(run / "eval.json") if (run / "eval.json").is_file() else {}
        result = saved if saved.get("n") == n else evaluate_run(run, n=n)
        results.append((run.name, result))
        grids.append((run.name, *run_picture(runs.load(run))))
    keys = list(dict.fromkeys(k for _, r in results for k in r["metrics"]))
    report = Report("genlab comparison", " · ".join(name for name, _ in results))
    report.section("Metrics", f"{n} held-out images per run; n/a = the model cannot serve the metric.")
    report.table([{"metric": LABELS.get(k, (k, ""))[0],
                   **{name: (f"{r['metrics'][k]:.4g}" if k in r["metrics"] else "n/a") for name, r in results}}
                  for k in keys])
    report.section("Images", "Samples where a model can sample, otherwise its reconstructions of held-out images.")
    report.gallery([(image, f"{name}: {what}") for name, what, image in grids if image is not None])
    for name, what, image in grids:
        if image is None:
            report.text(f"{name}: {what}")
    return report.write(out)


def run_picture(model) -> tuple[str, object]:
    """(what it shows, picture): 36 samples, else 18 held-out images over their reconstructions."""
    torch.manual_seed(0)
    caps = model.capabilities()
    if "sample" in caps:
        return "samples", grid_image(model.sample(36).clamp(0, 1).cpu(), nrow=6)
    if "reconstruct" in caps:
        from .report import test_data

        x = test_data(model.run_info).spread(18).x
        cols = min(6, len(x))
        x = x[:len(x) // cols * cols].to(model.device)
        recon = model.reconstruct(x).clamp(0, 1)
        # each row of originals directly above its row of reconstructions
        rows = torch.stack([x.unflatten(0, (-1, cols)), recon.unflatten(0, (-1, cols))], 1).flatten(0, 2)
        return ("held-out images (odd rows) above their reconstructions (even rows)",
                grid_image(rows.cpu(), nrow=cols))
    return f"no pictures: the model can neither sample nor reconstruct (it can: {', '.join(caps) or 'nothing'})", None
