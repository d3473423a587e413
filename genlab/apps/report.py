"""The run report: one self-contained HTML page built from a run folder.

The page is a list of declared sections (:mod:`genlab.apps.sections`): the generic ones below,
which any model gets when it has what they need, and each family's own. ``build_report`` draws
every section that applies, in page order.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import runs
from ..data import ImageData, load_data
from ..data.batches import batched
from ..errors import GenlabError
from ..viz import plots
from ..viz.grids import grid_image, labelled_rows
from ..viz.report import Report
from . import sections
from .latent import codes, interpolate, manifold, morph, pick_classes, pick_pair
from .sections import section


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
    data_problem = ""
    if data is None:
        try:
            data = test_data(info)
        except GenlabError as exc:
            data_problem = str(exc)
    report = Report(f"genlab run: {run_dir.name}", f"model {info['model']} · data {info['data'].get('spec')}"
                    f" · capabilities: {', '.join(model.capabilities())}")
    noted = False
    for entry in sections.page(model):
        missing = entry.unmet(model, data)
        if missing is sections.DATA and not noted:
            report.text(f"Held-out data could not be loaded, so the sections that show held-out images are "
                        f"skipped: {data_problem}")
            noted = True
        if missing is None:
            entry.draw(report, model, data, run_dir)
    return report.write(run_dir / runs.REPORT)


# --------------------------------------------------------------------------- generic sections

@section("Configuration", order=sections.CONFIGURATION)
def configuration(report, model, data, run_dir) -> None:
    info = runs.read_config(run_dir)
    report.section("Configuration")
    report.table([{"key": k, "value": str(v)} for k, v in info["config"].items()]
                 + [{"key": f"train.{k}", "value": str(v)} for k, v in info.get("train", {}).items()])


@section("Reconstructions", needs=("reconstruct", "data"), order=sections.RECONSTRUCTIONS)
def reconstructions(report, model, data, run_dir) -> None:
    x = data.spread(16).x.to(model.device)
    recon = model.reconstruct(x).cpu()
    mse = mean_mse(model, data)
    report.section("Reconstructions", f"Held-out images (top) and their reconstructions (bottom). "
                   f"Mean squared error per pixel over {min(len(data), 1000)} held-out images: {mse:.5f}.")
    report.image(labelled_rows([x.cpu(), recon], ["original", "reconstruction"]))


@section("Samples", needs=("sample",), order=sections.SAMPLES)
def samples(report, model, data, run_dir) -> None:
    torch.manual_seed(0)
    report.section("Samples", "64 images generated from the prior.")
    report.image(grid_image(model.sample(64).cpu(), nrow=8))


@section("Latent space", needs=("encode", "data"), order=sections.LATENT_SPACE)
def latent_space(report, model, data, run_dir) -> None:
    z = codes(model, data)
    y = data.y[:len(z)] if data.y is not None else None
    note = " (PCA projection of the codes)" if z.shape[1] > 2 else ""
    report.section("Latent space", f"Codes of {len(z)} held-out images{note}, coloured by label.")
    report.image(plots.latent_scatter(z.numpy(), None if y is None else y.numpy(),
                                      title=f"{z.shape[1]}-D latent codes"))


MORPH_CLASSES = [7, 2, 8, 0]


@section("Interpolation", needs=("encode", "decode", "data"), order=sections.INTERPOLATION)
def interpolation(report, model, data, run_dir) -> None:
    a, b, what = pick_pair(data)
    strip = interpolate(model, a, b, steps=10).cpu()
    report.section("Interpolation", f"Decoded codes on the straight line between two held-out images "
                   f"({what}): z(t) = (1 − t)·z_a + t·z_b, t = 0 … 1.")
    report.image(grid_image(strip, nrow=10))
    if data.y is not None and all((data.y == c).any() for c in MORPH_CLASSES):
        report.text("Morphing through several digits: 7 → 2 → 8 → 0.")
        report.image(grid_image(morph(model, pick_classes(data, MORPH_CLASSES), steps=8).cpu(), nrow=22))


@section("Latent manifold", needs=("decode", ("encode", "sample"), "data"), order=sections.MANIFOLD)
def latent_manifold(report, model, data, run_dir) -> None:
    try:
        m = manifold(model, n=15, data=data if model.can("encode") else None)
    except GenlabError:
        return  # no grid to span (e.g. a code of more than two dimensions and no encoder)
    report.section("Latent manifold", f"Images decoded on a 15×15 grid over {m.axes}, spanning "
                   "the 5th to 95th percentiles (`genlab manifold`).")
    report.image(plots.manifold_grid(m.images, m.xs, m.ys))


@section("Evaluation", order=sections.EVALUATION)
def evaluation(report, model, data, run_dir) -> None:
    from ..io import read_json
    from .evaluate import LABELS, describe_features

    if not (run_dir / "eval.json").is_file():
        return
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
        report.image(grid, caption="Memorisation check (the nearest-neighbour test discussed by Theis et al. "
                     "2016): the generated samples closest to a training image (top row) above their "
                     "nearest training images in pixel space and in feature space. Copies of training images "
                     "would show up here as identical columns.")


@section("Training curves", order=sections.TRAINING_CURVES)
def training_curves(report, model, data, run_dir) -> None:
    metrics_path = run_dir / runs.METRICS
    if metrics_path.is_file():
        report.section("Training curves", "Per-epoch means (train) and held-out values (val) from metrics.csv.")
        report.image(plots.training_curves(metrics_path))


@section("Previews during training", order=sections.PREVIEWS)
def previews(report, model, data, run_dir) -> None:
    found = sorted((run_dir / "samples").glob("epoch_*.png"))
    if found:
        report.section("Previews during training",
                       f"The grid saved after each epoch (first: {found[0].name}, last: {found[-1].name}).")
        for path in [found[0], found[-1]] if len(found) > 1 else found:
            report.image(path, caption=path.stem.replace("_", " "))


def mean_mse(model, data: ImageData, limit: int = 1000) -> float:
    """Mean squared error per pixel of the model's reconstructions of the first ``limit`` images."""
    x = data.x[:limit]
    return float(((batched(model.reconstruct, x, 250, model.device) - x) ** 2).mean())
