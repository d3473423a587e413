"""Looking around: `genlab models`, `genlab datasets`, `genlab summary`."""
from __future__ import annotations

from .args import add_data


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="registered models and their capabilities")
    p.add_argument("--config", metavar="MODEL", default=None, help="show MODEL's config keys and defaults")
    p.set_defaults(func=run_models)

    p = sub.add_parser("datasets", help="data specs genlab understands")
    p.set_defaults(func=run_datasets)

    p = sub.add_parser("summary", help="layer table with output shapes and parameter counts")
    p.add_argument("model")
    add_data(p, "mnist5k", "data whose image shape and classes the model is built for (see `genlab datasets`)")
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--channels", type=int, default=None, choices=(1, 3))
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--depth", type=int, default=8, help="nesting depth of the table")
    p.set_defaults(func=run_summary)


def run_models(args) -> int:
    import dataclasses

    from ..registry import entries, get

    if args.config:
        entry = get(args.config)
        print(f"{entry.name}: {entry.summary}")
        cls = entry.model_class
        print(f"  training defaults: --epochs {cls.default_epochs} --batch-size {cls.default_batch_size}")
        for f in dataclasses.fields(entry.config_class):
            print(f"  {f.name:18s} = {getattr(entry.config_class(), f.name)!r}")
        return 0
    for entry in entries():
        caps = entry.model_class(entry.config_class()).capabilities()
        print(f"{entry.name:12s} {entry.summary}  [{', '.join(caps)}]")
    return 0


def run_datasets(args) -> int:
    from ..data import DATASETS

    for spec, text in DATASETS.items():
        print(f"{spec:18s} {text}")
    return 0


def run_summary(args) -> int:
    from ..data import load_data
    from ..runs import create
    from ..apps.summary import summary
    from ..models.base import parse_overrides
    from ..registry import get

    overrides = parse_overrides(get(args.model).config_class, args.overrides)
    data = load_data(args.data, "test", image_size=args.image_size, channels=args.channels, limit=2)
    print(summary(create(args.model, data=data, **overrides), depth=args.depth))
    return 0
