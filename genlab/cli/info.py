"""Looking around: `genlab models`, `genlab datasets`, `genlab summary`."""
from __future__ import annotations

from .args import add_data


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="registered models and their capabilities")
    p.add_argument("--config", metavar="MODEL", default=None, help="MODEL's config keys: meaning, type, allowed values, default and the value it resolves to")
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
    # from the checked-in catalogue: listing 23 models must not import torch or build them
    from .catalog import catalogue, describe_key, model

    if args.config:
        entry = model(args.config)
        print(f"{entry['name']}: {entry['summary']}")
        if entry["paper"]:
            print(f"  paper: {entry['paper']}")
        print(f"  can: {', '.join(entry['capabilities'])}")
        print(f"  training defaults: --epochs {entry['epochs']} --batch-size {entry['batch_size']} on mnist5k's 4,000 "
              "training images; other data gets the same number of optimiser steps (docs/training.md)")
        print(f"config keys (change one with `genlab train {entry['name']} --set KEY=VALUE`):")
        for key in entry["keys"]:
            kind, meaning = describe_key(key)
            print(f"  {key['key']:18s} {kind}")
            print(f"  {'':18s} {meaning}")
        return 0
    for entry in catalogue()["models"]:
        print(f"{entry['name']:14s} {entry['summary']}  [{', '.join(entry['capabilities'])}]")
    return 0


def run_datasets(args) -> int:
    from .catalog import catalogue

    specs, tasks = catalogue()["datasets"], catalogue().get("tasks", {})
    width = max(map(len, [*specs, *tasks]), default=0)
    for spec, text in specs.items():
        print(f"{spec:{width}s}  {text}")
    if tasks:
        print("\npaired tasks (--task TASK turns any data into (input, target) pairs for unet, pix2pix, srresnet, …):")
        for task, text in tasks.items():
            print(f"{task:{width}s}  {text}")
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
