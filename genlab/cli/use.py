"""Using a trained run: `genlab sample`, `reconstruct`, `report`."""
from __future__ import annotations

from pathlib import Path

import torch


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="generate images from a trained model")
    p.add_argument("run")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--out", default=None, help="PNG file (default RUN/sample.png)")
    p.add_argument("--temperature", type=float, default=1.0, help="scale of the prior noise")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label", type=int, default=None,
                   help="class to draw, for conditional models (cvae, cgan, acgan; infogan: its categorical code)")
    p.set_defaults(func=run_sample)

    p = sub.add_parser("reconstruct", help="originals and reconstructions as a grid")
    p.add_argument("run")
    p.add_argument("--data", default=None, help="data spec (default: the run's held-out split)")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--out", default=None, help="PNG file (default RUN/reconstruct.png)")
    p.set_defaults(func=run_reconstruct)

    p = sub.add_parser("report", help="rebuild RUN/report.html")
    p.add_argument("run")
    p.set_defaults(func=run_report)


def _load(run: str):
    from ..train.runs import load

    return load(run)


def _data(args, model, split: str = "test"):
    from ..apps.report import test_data
    from ..data import load_data

    if args.data is None:
        data = test_data(model.run_info)
    else:
        h = model.image_shape[1]
        data = load_data(args.data, split, image_size=h if args.data.startswith("folder:") else None)
    model.check_input(data.x[:1])
    return data


def _out(args, name: str) -> Path:
    return Path(args.out) if args.out else Path(args.run) / name


def _positive(value: int, flag: str) -> None:
    from ..errors import ConfigError

    if value < 1:
        raise ConfigError(f"{flag} must be at least 1, got {value}")


def _label(model, label: int, n: int) -> torch.Tensor:
    """``--label`` as n class indices, for models whose ``sample`` takes a class (``num_classes``)."""
    from ..errors import CapabilityError, ConfigError

    classes = getattr(model, "num_classes", 0)
    if not classes:
        raise CapabilityError(f"model {model.registry_name!r} is not conditional, so --label has no meaning; drop "
                              "--label, or train a conditional model (cvae, cgan, acgan, infogan)")
    if not 0 <= label < classes:
        raise ConfigError(f"--label must lie in 0…{classes - 1} for this {model.registry_name}, got {label}")
    return torch.full((n,), label, dtype=torch.long)


@torch.no_grad()
def run_sample(args) -> int:
    from ..viz.grids import save_grid

    _positive(args.n, "--n")
    model = _load(args.run)
    sample = model.require("sample", "it has no prior to sample from; use `genlab reconstruct` instead")
    kwargs = {"temperature": args.temperature}
    if args.label is not None:
        kwargs["y"] = _label(model, args.label, args.n)
    torch.manual_seed(args.seed)
    images = sample(args.n, **kwargs)
    print(save_grid(images.cpu(), _out(args, "sample.png")))
    return 0


@torch.no_grad()
def run_reconstruct(args) -> int:
    from ..viz.grids import labelled_rows, save_image

    _positive(args.n, "--n")
    model = _load(args.run)
    reconstruct = model.require("reconstruct")
    x = _data(args, model).x[:args.n]
    image = labelled_rows([x, reconstruct(x).cpu()], ["original", "reconstruction"])
    print(save_image(image, _out(args, "reconstruct.png")))
    return 0


def run_report(args) -> int:
    from ..apps.report import build_report

    print(build_report(args.run))
    return 0
