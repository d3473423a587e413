"""Report sections of the autoregressive family (fvsbn, nade, made, pixelcnn, gated-pixelcnn):

    likelihood       −log p(x) = −Σ_i log p(x_i | x_<i) on held-out images, in nats per image and
                     bits/dim = nats / (D·ln 2)
    temperatures     samples at T = 0.7, 1.0, 1.2 (logits / T) under one fixed generator, so the
                     rows share their uniforms and differ only by T
    completions      8 held-out images, the top half given, the rest drawn (van den Oord et al. 2016)
    receptive field  the input pixels that can reach the central pixel's distribution
"""
from __future__ import annotations

import math

import torch

from ...metrics.likelihood import exact_nll
from ...models.autoregressive import Autoregressive
from ...viz.grids import labelled_rows
from . import section

TEMPERATURES = (0.7, 1.0, 1.2)
PER_ROW = 8          # samples per temperature: sampling takes one network pass per dimension
HELD_OUT = 500       # held-out images scored for the likelihood


@section("Likelihood", needs=("data",), classes=(Autoregressive,))
@torch.no_grad()
def likelihood(report, model, data, run_dir) -> None:
    x, y = data.x[:HELD_OUT], None if data.y is None else data.y[:HELD_OUT]
    nll = float(exact_nll(model, x, y, 250).double().mean())
    dims = math.prod(model.image_shape)
    space = model.label_space
    given = "" if space is None else f", each given its {space.meaning} (−log p(x | y))"
    report.section("Likelihood", f"Exact negative log-likelihood −log p(x) = −Σ_i log p(x_i | x_<i){given} of {len(x)} "
                   f"held-out images, each pixel one of {model.levels} values ({model.output} output): "
                   f"{nll:.2f} nats per image, {nll / (dims * math.log(2)):.4f} bits/dim over D = {dims} dimensions.")


@section("Samples by temperature", classes=(Autoregressive,))
@torch.no_grad()
def temperatures(report, model, data, run_dir) -> None:
    rows = []
    space = model.label_space     # a class-conditional model draws the classes 0, 1, … along each row
    y = None if space is None else torch.arange(PER_ROW) % space.size
    for t in TEMPERATURES:
        # one generator seed for every row: the same uniforms, only the temperature differs
        rows.append(model.sample(PER_ROW, y, temperature=t, generator=torch.Generator().manual_seed(0)).cpu())
    report.section("Samples by temperature", f"{PER_ROW} samples drawn pixel by pixel in raster order, each row "
                   "at a temperature T that divides the logits (T < 1 sharper, T > 1 flatter), all rows from the "
                   "same random numbers.")
    report.image(labelled_rows(rows, [f"T = {t:g}" for t in TEMPERATURES], min_cell=40))


@section("Completions", needs=("data",), classes=(Autoregressive,))
def completions(report, model, data, run_dir) -> None:
    from ..autoregressive import complete_held_out

    rows = model.image_shape[1] // 2
    result = complete_held_out(model, data, rows=rows, n=8, samples=2, seed=0)
    report.section("Completions", f"Held-out images with their top {rows} rows given and the rest drawn from "
                   "p(x_i | x_<i) (the occlusion completions of van den Oord et al. 2016): original, what the model "
                   "was given (hidden part dimmed), two completions.")
    report.image(result.picture())


@section("Receptive field", classes=(Autoregressive,))
def receptive(report, model, data, run_dir) -> None:
    from ..autoregressive import receptive_field, receptive_field_figure

    _, h, w = model.image_shape
    field = receptive_field(model, (h // 2, w // 2))
    report.section("Receptive field", "The input pixels whose values can change the distribution of the central "
                   "pixel, from the gradients of the network's output there (with random weights, so that the "
                   f"masks alone decide): {field.summary()}.")
    report.image(receptive_field_figure(field))
