"""`compare`: several runs' metrics side by side, with their sample or reconstruction grids.

Each run is measured on its own data's held-out split, so the page states each run's data spec and
the images actually used (a folder of 300 images holds out 60, not the 1,000 asked for), warns when
the runs used different data (their figures are then not comparable), and marks the best value of
every metric that has a direction (↓ lower / ↑ higher is better).
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import runs
from ..io import read_json
from ..train.names import direction_legend, fmt
from ..viz.grids import grid_image
from ..viz.report import Report
from .evaluate import evaluate_run, metric_name, not_applicable_lines

BEST = "★"


def _data_of(run: Path, result: dict) -> str:
    """The run's data as a person would type it, with the image size when the run resized it."""
    info = runs.read_config(run).get("data") or {}
    spec = info.get("spec") or result.get("data") or "unknown data"
    size = info.get("image_size")
    text = f"{spec} at {size}×{size}" if size else str(spec)
    return f"{text} --task {info['task']}" if info.get("task") else text


def _best(values: dict[str, float], key: str) -> set[str]:
    """The runs holding the best value of ``key`` (ties share it); none for a metric without a direction
    or with fewer than two values."""
    name = metric_name(key)
    if not name.direction or len(values) < 2:
        return set()
    top = min(values.values()) if name.direction == "lower" else max(values.values())
    return {run for run, v in values.items() if v == top}


def data_warning(data: dict[str, str]) -> str | None:
    """One line when the runs used different data, naming each run's."""
    if len(set(data.values())) <= 1:
        return None
    parts = [f"{run} was trained on {spec}" if i == 0 else f"{run} on {spec}" for i, (run, spec) in
             enumerate(data.items())]
    return f"warning: {', '.join(parts)}: figures are not comparable"


@torch.no_grad()
def compare(run_dirs: list, out: Path, n: int = 1000, log=None) -> dict:
    """One HTML page (``out``) and a text table: the runs' metrics with directions and the best value
    marked, each run's data and held-out image and sample counts, and their pictures side by side.
    Returns ``{"runs": [...], "best": {key: [runs]}, "warning": str | None, "text": str, "html": Path}``."""
    results, grids = {}, []
    for run in map(Path, run_dirs):
        saved = read_json(run / "eval.json") if (run / "eval.json").is_file() else {}
        reuse = saved.get("n_requested", saved.get("n")) == n and "metrics" in saved
        results[str(run)] = saved if reuse else evaluate_run(run, n=n, log=log)
        grids.append((str(run), *run_picture(runs.load(run))))
    data = {name: _data_of(Path(name), r) for name, r in results.items()}
    keys = list(dict.fromkeys(k for r in results.values() for k in r["metrics"]))
    warning = data_warning(data)
    # a best value across different data would rank figures that do not measure the same thing
    best = {k: [] if warning else sorted(_best({name: r["metrics"][k] for name, r in results.items()
                                                if k in r["metrics"]}, k))
            for k in keys}

    def cell(name, key):
        r = results[name]
        if key not in r["metrics"]:
            return "n/a"
        return fmt(r["metrics"][key]) + (f" {BEST}" if name in best[key] else "")

    used = [{"run": name, "data": data[name], "held-out images": r["n"],
             "samples": r.get("n_samples", r["n"] if any(k in r["metrics"] for k in ("fid", "kid")) else 0)}
            for name, r in results.items()]
    table = [{"metric": metric_name(k).title, **{name: cell(name, k) for name in results}} for k in keys]

    report = Report("genlab comparison", " · ".join(results))
    report.section("Data", "Each run is measured on its own data's held-out images; the counts are those used.")
    report.table(used)
    if warning:
        report.text(warning)
    marks = (f"no {BEST}: the runs used different data" if warning
             else f"{BEST} marks the best value of each metric")
    report.section("Metrics", f"{direction_legend()}; {marks}; n/a = the model cannot serve the metric.")
    report.table(table)
    for name, r in results.items():
        for titles, why in not_applicable_lines(r.get("not_applicable", {})):
            report.text(f"{name}: {titles}: n/a: {why}")
    report.section("Images", "Samples where a model can sample, otherwise its reconstructions of held-out images.")
    report.gallery([(image, f"{name}: {what}") for name, what, image in grids if image is not None])
    for name, what, image in grids:
        if image is None:
            report.text(f"{name}: {what}")
    html = report.write(out)

    width = max(len(row["metric"]) for row in table) if table else 6
    cols = {name: max(len(name), 10) for name in results}
    lines = [f"{u['run']}: {u['data']}, {u['held-out images']} held-out images"
             + (f", {u['samples']} samples" if u["samples"] else "") for u in used]
    if warning:
        lines.append(warning)
    lines.append(f"{'metric':{width}s}  " + "  ".join(f"{name:>{cols[name]}s}" for name in results))
    lines += [f"{row['metric']:{width}s}  " + "  ".join(f"{row[name]:>{cols[name]}s}" for name in results)
              for row in table]
    for name, r in results.items():
        lines += [f"{name}: n/a: {titles}: {why}" for titles, why in not_applicable_lines(r.get("not_applicable", {}))]
    lines.append(f"({direction_legend()}; " + (f"no {BEST}: different data)" if warning else f"{BEST} best)"))
    lines.append(f"wrote {html}")
    return {"runs": used, "best": best, "warning": warning, "text": "\n".join(lines), "html": html}


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
