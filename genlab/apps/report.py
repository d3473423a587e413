"""The run report: one self-contained HTML page built from a run folder."""
from __future__ import annotations

from pathlib import Path

import torch

from ..data import ImageData, load_data
from ..errors import GenlabError
from ..train import runs
from ..viz import plots
from ..viz.grids import grid_image, labelled_rows
from ..viz.report import Report
from .latent import codes, interpolate, manifold, morph, pick_classes, pick_pair


def test_data(info: dict) -> ImageData:
    spec = info.get("data") or {}
    return load_data(spec["spec"], "test", image_size=spec.get("image_size"), channels=spec.get("channels"))


@torch.no_grad()
def build_report(run_dir: str | Path, data: ImageData | None = None, model=None) -> Path:
    """Write ``report.html`` into the run folder and return its path."""
    run_dir = Path(run_dir)
    info = runs.read_config(run_dir)
    model = model if model is not None else runs.load(run_dir)
    model.eval()
    if data is None:
        try:
            data = test_data(info)
        except GenlabError as exc:
            data = None
            data_problem = str(exc)
    caps = model.capabilities()
    report = Report(f"genlab run: {run_dir.name}", f"model {info['model']} · data {info['data'].get('spec')}"
                    f" · capabilities: {', '.join(caps)}")

    report.section("Configuration")
    report.table([{"key": k, "value": str(v)} for k, v in info["config"].items()]
                 + [{"key": f"train.{k}", "value": str(v)} for k, v in info.get("train", {}).items()])

    if data is None:
        report.text(f"Held-out data could not be loaded, so image sections are skipped: {data_problem}")
    else:
        x = data.spread(16).x.to(model.device)
        if "reconstruct" in caps:
            recon = model.reconstruct(x).cpu()
            mse = _mean_mse(model, data)
            report.section("Reconstructions", f"Held-out images (top) and their reconstructions (bottom). "
                           f"Mean squared error per pixel over {min(len(data), 1000)} held-out images: {mse:.5f}.")
            report.image(labelled_rows([x.cpu(), recon], ["original", "reconstruction"]))
        if "sample" in caps:
            torch.manual_seed(0)
            report.section("Samples", "64 images generated from the prior.")
            report.image(grid_image(model.sample(64).cpu(), nrow=8))
        if "encode" in caps:
            z = codes(model, data)
            y = data.y[:len(z)] if data.y is not None else None
            note = " (PCA projection of the codes)" if z.shape[1] > 2 else ""
            report.section("Latent space", f"Codes of {len(z)} held-out images{note}, coloured by label.")
            report.image(plots.latent_scatter(z.numpy(), None if y is None else y.numpy(),
                                              title=f"{z.shape[1]}-D latent codes"))
        if "encode" in caps and "decode" in caps:
            a, b, what = pick_pair(data)
            strip = interpolate(model, a, b, steps=10).cpu()
            report.section("Interpolation", f"Decoded codes on the straight line between two held-out images "
                           f"({what}): z(t) = (1 − t)·z_a + t·z_b, t = 0 … 1.")
            report.image(grid_image(strip, nrow=10))
            if data.y is not None and all((data.y == c).any() for c in (7, 2, 8, 0)):
                report.text("Morphing through several digits (seed 001): 7 → 2 → 8 → 0.")
                report.image(grid_image(morph(model, pick_classes(data, [7, 2, 8, 0]), steps=8).cpu(), nrow=22))
        if "decode" in caps and ("encode" in caps or "sample" in caps):
            try:
                m = manifold(model, n=15, data=data if "encode" in caps else None)
            except GenlabError:
                m = None
            if m is not None:
                report.section("Latent manifold", f"Images decoded on a 15×15 grid over {m.axes}, spanning "
                               "the 5th to 95th percentiles (`genlab manifold`).")
                report.image(plots.manifold_grid(m.images, m.xs, m.ys))

    if data is not None:
        from .sections import sections_for

        for add_section in sections_for(info["model"]):
            add_section(report, model, data, run_dir)

    if (run_dir / "eval.json").is_file():
        from ..io import read_json
        from .evaluate import LABELS, describe_features

        ev = read_json(run_dir / "eval.json")
        looked = describe_features(ev)
        report.section("Evaluation", f"`genlab eval` on {ev.get('n')} held-out images ({ev.get('seconds')} s)."
                       + (f" Sample metrics look through the {looked}." if looked else ""))
        report.table([{"metric": LABELS.get(k, (k, ""))[0], "value": f"{v:.4g}", "note": LABELS.get(k, ("", ""))[1]}
                      for k, v in ev.get("metrics", {}).items()]
                     + [{"metric": k, "value": "n/a", "note": why} for k, why in ev.get("not_applicable", {}).items()])
        nearest = (ev.get("images") or {}).get("nearest")
        grid = run_dir / Path(nearest).name if nearest else None  # .name: only files inside the run folder
        if grid is not None and grid.is_file():
            report.image(grid, caption="Memorisation check (seed 003): the generated samples closest to a training "
                         "image (top row) above their nearest training images in pixel space and in feature space. "
                         "Copies of training images would show up here as identical columns.")

    metrics_path = run_dir / runs.METRICS
    if metrics_path.is_file():
        report.section("Training curves", "Per-epoch means (train) and held-out values (val) from metrics.csv.")
        report.image(plots.training_curves(metrics_path))
    previews = sorted((run_dir / "samples").glob("epoch_*.png"))
    if previews:
        report.section("Previews during training",
                       f"The grid saved after each epoch (first: {previews[0].name}, last: {previews[-1].name}).")
        for path in [previews[0], previews[-1]] if len(previews) > 1 else previews:
            report.image(path, caption=path.stem.replace("_", " "))
    return report.write(run_dir / runs.REPORT)


@torch.no_grad()
def _mean_mse(model, data: ImageData, limit: int = 1000) -> float:
    x = data.x[:limit].to(model.device)
    out = torch.cat([model.reconstruct(x[i:i + 250]) for i in range(0, len(x), 250)])
    return float(((out - x) ** 2).mean())
