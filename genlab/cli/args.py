"""The arguments many commands share (RUN, --data, --n, --out, --overwrite, --seed, --label), each
defined once, and the helpers that read them."""
from __future__ import annotations

from pathlib import Path

RUN_HELP = "a trained run folder (e.g. runs/vae)"
LABEL_HELP = ("the class to draw, for models with a label space: conditional models (cvae, cgan, acgan) take "
              "a class by name (e.g. circle, the data's sub-folder name) or number, infogan the value of its "
              "categorical code c1")


def add_run(p, help: str = RUN_HELP, optional: bool = False) -> None:
    p.add_argument("run", metavar="RUN", help=help, **({"nargs": "?"} if optional else {}))


def add_data(p, default: str | None = None, help: str | None = None) -> None:
    """``--data SPEC``; without a default, the run's own data (its held-out split unless said otherwise)."""
    if help is None:
        help = ("data spec (see `genlab datasets`)" if default is not None
                else "data spec (default: the run's held-out split)")
    p.add_argument("--data", default=default, metavar="SPEC", help=help)


def add_task(p, help: str | None = None) -> None:
    """``--task TASK``: make (input, target) pairs of the data (image-to-image models)."""
    p.add_argument("--task", default=None, metavar="TASK",
                   help=help or ("make (input, target) pairs of the data for an image-to-image model: segment, "
                                 "denoise:gaussian:0.3, deblur:gaussian:1.5, inpaint:center:14, superres:4, colorize, "
                                 "edges, ct:30, paired (see `genlab datasets`); stored in the run's config.json"))


def add_n(p, default: int, help: str) -> None:
    p.add_argument("--n", type=int, default=default, help=help)


def add_out(p, default: str | None, help: str) -> None:
    """``--out``: ``help`` says what is written (a PNG file, a folder) and its default."""
    p.add_argument("--out", default=default, help=help)


def add_overwrite(p, help: str = "write into a non-empty --out folder") -> None:
    p.add_argument("--overwrite", action="store_true", help=help)


def add_seed(p, default: int | None = 0, help: str = "random seed (default 0)") -> None:
    p.add_argument("--seed", type=int, default=default, help=help)


def add_label(p, help: str = LABEL_HELP) -> None:
    # text: a class name or a number, resolved by the model's label space (model.labels)
    p.add_argument("--label", default=None, metavar="CLASS", help=help)


def add_output_folder(p, default: str) -> None:
    """--out, --overwrite and --seed of a task that writes its pictures and figures into a folder."""
    add_out(p, None, f"output folder (default {default})")
    add_overwrite(p)
    add_seed(p)


def load(run: str):
    """The model of a run folder (a GenlabError, one line, when it cannot be read)."""
    from ..runs import load as load_run

    return load_run(run)


def held_out(args, model, split: str = "test"):
    """``--data`` (checked against the model), or the run's own data: its held-out split by default."""
    from ..apps.common import run_data

    return run_data(model, args.data, split)


def out_file(args, name: str) -> Path:
    """``--out`` (an image file: .png, .jpg or .jpeg, checked before any work), or ``name`` inside
    the run folder."""
    from ..png import image_format

    path = Path(args.out) if args.out else Path(args.run) / name
    image_format(path)
    return path


def positive(value: int, flag: str) -> None:
    from ..errors import ConfigError

    if value < 1:
        raise ConfigError(f"{flag} must be at least 1, got {value}")
