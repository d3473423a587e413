"""The run report: one self-contained HTML page built from a run folder.

The page is a list of declared sections (:mod:`genlab.apps.sections`): the generic ones below,
which any model gets when it has what they need, and each family's own. ``build_report`` draws
every section that applies, in page order.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import runs
from ..data import ImageData, load_spec
from ..data.batches import batched
from ..errors import GenlabError
from ..viz import plots
from ..viz.grids import grid_image, labelled_grid, labelled_rows
from ..viz.report import Report
from . import sections
from .latent import codes, interpolate, manifold, morph, path_picture, pick_classes, pick_pair
from .sections import section


def test_data(info: dict) -> ImageData:
    spec = info.get("data") or {}
    return load_spec(spec, "test")


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
    report.section("Configuration", "The values in force; (recipe) and (auto) mark those the model resolved "
                   "itself from its training recipe or an automatic choice, where the config says none or auto.")
    rows = [{"key": k, "value": config_value(v, stored)} for k, (v, stored) in configuration_values(model).items()]
    rows += [{"key": f"train.{k}", "value": str(v)} for k, v in info.get("train", {}).items()]
    if info.get("classes"):
        rows.append({"key": "classes", "value": ", ".join(map(str, info["classes"]))})
    report.table(rows)


def configuration_values(model) -> dict:
    """key -> (the value in force, the value the config stores) for every config key."""
    stored = model.config.to_dict()
    return {k: (v, stored.get(k)) for k, v in model.config.resolved().items()}


def config_value(value, stored) -> str:
    """A config value for the table: "0.0002 (recipe)" when the config left it to the model."""
    if stored == value:
        return str(value)
    return f"{value} ({'auto' if stored == 'auto' else 'recipe'})"


@section("Reconstructions", needs=("reconstruct", "data"), order=sections.RECONSTRUCTIONS)
def reconstructions(report, model, data, run_dir) -> None:
    shown = sections.per_class(data, 16)
    x = shown.x.to(model.device)
    y = shown.y.to(model.device) if shown.y is not None and model.label_space is not None else None
    recon = model.reconstruct(x, y).cpu()
    mse = mean_mse(model, data)
    by_class = ", one per class in turn," if shown.y is not None else ""
    report.section("Reconstructions", f"Held-out images (top){by_class} and their reconstructions (bottom). "
                   f"Mean squared error per pixel over {min(len(data), 1000)} held-out images: {mse:.5f}.")
    names = None
    if shown.y is not None:
        known = sections.class_names(model, data, int(shown.y.max()) + 1)
        names = [known[int(c)] for c in shown.y]
    report.image(labelled_grid([x.cpu(), recon], ["original", "reconstruction"], names, min_cell=40))


@section("Samples", needs=("sample",), order=sections.SAMPLES)
def samples(report, model, data, run_dir) -> None:
    torch.manual_seed(0)
    space = model.label_space
    if space is None:
        report.section("Samples", "64 images generated from the prior.")
        report.image(grid_image(model.sample(64).cpu(), nrow=8))
        return
    per_row = 8
    images = model.sample(per_row * space.size, y=torch.arange(space.size).repeat_interleave(per_row)).cpu()
    report.section("Samples", f"Images generated from the prior, one row per {space.meaning} ({per_row} each).")
    rows = list(images.view(space.size, per_row, *images.shape[1:]))
    report.image(labelled_rows(rows, sections.label_names(model, data), min_cell=48))


@section("Latent space", needs=("encode", "data"), order=sections.LATENT_SPACE)
def latent_space(report, model, data, run_dir) -> None:
    z = codes(model, data)
    y = data.y[:len(z)] if data.y is not None else None
    note = " (PCA projection of the codes)" if z.shape[1] > 2 else ""
    report.section("Latent space", f"Codes of {len(z)} held-out images{note}, coloured by class.")
    names = sections.class_names(model, data, int(y.max()) + 1) if y is not None else None
    report.image(plots.latent_scatter(z.numpy(), None if y is None else y.numpy(),
                                      title=f"{z.shape[1]}-D latent codes", class_names=names))


MORPH_CLASSES = [7, 2, 8, 0]


@section("Interpolation", needs=("encode", "decode", "data"), order=sections.INTERPOLATION)
def interpolation(report, model, data, run_dir) -> None:
    names = sections.class_names(model, data, max(data.num_classes, 1))
    a, b, what = pick_pair(data, names=names)
    strip = interpolate(model, a, b, steps=10).cpu()
    report.section("Interpolation", f"Decoded codes on the straight line between two held-out images "
                   f"({what}): z(t) = (1 − t)·z_a + t·z_b, t = 0 … 1.")
    report.image(path_picture(strip, 10, [part.strip().removeprefix("class ") for part in what.split("→")]))
    if data.y is not None and names[:10] == [str(c) for c in range(10)] \
            and all((data.y == c).any() for c in MORPH_CLASSES):
        report.text("Morphing through several digits: 7 → 2 → 8 → 0.")
        report.image(path_picture(morph(model, pick_classes(data, MORPH_CLASSES), steps=8).cpu(), 8,
                                  [names[c] for c in MORPH_CLASSES]))


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
    from ..train.names import direction_legend
    from .evaluate import describe_features, metric_rows

    if not (run_dir / "eval.json").is_file():
        return
    ev = read_json(run_dir / "eval.json")
    looked = describe_features(ev)
    report.section("Evaluation", f"`genlab eval` on {ev.get('n')} held-out images ({ev.get('seconds')} s)."
                   + (f" Sample metrics look through the {looked}." if looked else "")
                   + f" ({direction_legend()}.)")
    report.table(metric_rows({"metrics": ev.get("metrics", {}), "not_applicable": ev.get("not_applicable", {})}))
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
        report.section("Training curves", "Per-epoch means over the training images (solid) and held-out values (dashed), from metrics.csv; epochs counted from 1.")
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
