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
    p.add_argument("--prior", default=None, metavar="PRIOR",
                   help="a vq-vae run only: the run folder of an autoregressive prior over its code maps "
                        "(`genlab train pixelcnn --data codes:RUN`); the codes it draws are decoded by the vq-vae")
    p.set_defaults(func=run_sample)

    p = sub.add_parser("reconstruct", help="originals and reconstructions as a grid")
    add_run(p)
    add_data(p)
    add_n(p, 16, "held-out images reconstructed")
    add_out(p, None, "PNG file (default RUN/reconstruct.png)")
    p.set_defaults(func=run_reconstruct)

    p = sub.add_parser("report", help="rebuild RUN/report.html")
    add_run(p)
    p.add_argument("--prior", default=None, metavar="PRIOR",
                   help="a vq-vae run only: a prior over its code maps, whose samples the report shows beside "
                        "decoded uniform codes")
    p.set_defaults(func=run_report)


@torch.no_grad()
def run_sample(args) -> int:
    from ..viz.grids import save_grid, save_image

    from ..apps.prior import is_vqvae, train_hint

    positive(args.n, "--n")
    model = load(args.run)
    out = out_file(args, "sample.png")
    if args.prior is not None:
        model = _with_prior(model, args)
    elif is_vqvae(model) and not model.can("sample"):
        from ..errors import CapabilityError

        raise CapabilityError(f"a vq-vae samples through a prior over its code maps: {train_hint(args.run)}")
    sample = model.require("sample", "it has no prior to sample from; use `genlab reconstruct` instead")
    generator = torch.Generator().manual_seed(args.seed)
    space = model.label_space
    if space is None or args.label is not None:
        images = sample(args.n, model.labels(args.label, args.n), temperature=args.temperature, generator=generator)
        print(save_grid(images.cpu(), out))
        return 0
    from ..apps.sections import label_names
    from ..viz.grids import labelled_rows

    # without --label: one row per class (or code value), its name at the row start
    per_row = -(-args.n // space.size)
    images = sample(per_row * space.size, torch.arange(space.size).repeat_interleave(per_row).to(model.device),
                    temperature=args.temperature, generator=generator).cpu()
    rows = list(images.view(space.size, per_row, *images.shape[1:]))
    what = f"one row per {space.meaning}, {per_row} image{'s' if per_row > 1 else ''} each"
    print(f"{what}: {save_image(labelled_rows(rows, label_names(model), min_cell=48), out)}")
    return 0


@torch.no_grad()
def run_reconstruct(args) -> int:
    from ..apps.sections import class_names, per_class
    from ..viz.grids import labelled_grid, save_image

    positive(args.n, "--n")
    model = load(args.run)
    out = out_file(args, "reconstruct.png")
    reconstruct = model.require("reconstruct")
    data = per_class(held_out(args, model), args.n)    # a spread of classes, not the first n (often one class)
    x = data.x.to(model.device)
    y = data.y.to(model.device) if data.y is not None and model.label_space is not None else None
    names = class_names(model, data, int(data.y.max()) + 1) if data.y is not None else None
    image = labelled_grid([x.cpu(), reconstruct(x, y).cpu()], ["original", "reconstruction"],
                          None if names is None else [names[int(c)] for c in data.y], min_cell=48)
    print(save_image(image, out))
    return 0


def _with_prior(model, args):
    """The vq-vae of RUN sampling through the prior run --prior (checked against each other)."""
    from ..apps.prior import WithPrior, load_prior

    return WithPrior(model, load_prior(model, args.prior, args.run))


def run_report(args) -> int:
    from ..apps.report import build_report

    model = None
    if args.prior is not None:
        model = _with_prior(load(args.run), args)
    print(build_report(args.run, model=model))
    return 0
