"""Using a trained run: `genlab sample`, `reconstruct`, `report`."""
from __future__ import annotations

import torch

from .args import add_data, add_label, add_n, add_out, add_run, add_seed, held_out, load, out_file, positive


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate images from a trained model")
    add_run(p)
    add_n(p, 64, "images generated")
    add_out(p, None, "PNG file (default RUN/sample.png)")
    p.add_argument("--temperature", type=float, default=1.0, help="scale of the prior noise")
    add_seed(p)
    add_label(p)
    p.set_defaults(func=run_sample)

    p = sub.add_parser("reconstruct", help="originals and reconstructions as a grid")
    add_run(p)
    add_data(p)
    add_n(p, 16, "held-out images reconstructed")
    add_out(p, None, "PNG file (default RUN/reconstruct.png)")
    p.set_defaults(func=run_reconstruct)

    p = sub.add_parser("report", help="rebuild RUN/report.html")
    add_run(p)
    p.set_defaults(func=run_report)


@torch.no_grad()
def run_sample(args) -> int:
    from ..viz.grids import save_grid

    positive(args.n, "--n")
    model = load(args.run)
    sample = model.require("sample", "it has no prior to sample from; use `genlab reconstruct` instead")
    images = sample(args.n, model.labels(args.label, args.n), temperature=args.temperature,
                    generator=torch.Generator().manual_seed(args.seed))
    print(save_grid(images.cpu(), out_file(args, "sample.png")))
    return 0


@torch.no_grad()
def run_reconstruct(args) -> int:
    from ..viz.grids import labelled_rows, save_image

    positive(args.n, "--n")
    model = load(args.run)
    reconstruct = model.require("reconstruct")
    x = held_out(args, model).x[:args.n]
    image = labelled_rows([x, reconstruct(x).cpu()], ["original", "reconstruction"])
    print(save_image(image, out_file(args, "reconstruct.png")))
    return 0


def run_report(args) -> int:
    from ..apps.report import build_report

    print(build_report(args.run))
    return 0
