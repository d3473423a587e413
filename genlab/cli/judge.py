"""`genlab judge train|list`: the classifiers that stand in for Inception-v3 in the metrics."""
from __future__ import annotations

from .args import add_data, add_overwrite, add_seed


def add_parser(sub) -> None:
    p = sub.add_parser("judge", help="train or list judge networks used by the sample metrics")
    jsub = p.add_subparsers(dest="judge_command", metavar="ACTION", required=True)
    t = jsub.add_parser("train", help="train a judge on a labelled dataset and store it in the cache")
    add_data(t, "mnist5k", "labelled data spec the judge learns to classify (see `genlab datasets`)")
    t.add_argument("--epochs", type=int, default=10)
    add_seed(t)
    t.add_argument("--image-size", type=int, default=None)
    t.add_argument("--channels", type=int, default=None, choices=(1, 3))
    add_overwrite(t, "retrain even if a judge is cached")
    t.set_defaults(func=run_train)
    ls = jsub.add_parser("list", help="judges in the cache")
    ls.set_defaults(func=run_list)


def run_train(args) -> int:
    from ..data import load_data
    from ..metrics.judge import judge_path, save_judge, train_judge

    shape = load_data(args.data, "test", image_size=args.image_size, channels=args.channels, limit=1).shape
    folder = judge_path(args.data, shape)
    if (folder / "judge.json").is_file() and not args.overwrite:
        print(f"a judge for {args.data} {shape} is already cached in {folder}; pass --overwrite to retrain it")
        return 0
    judge, info = train_judge(args.data, epochs=args.epochs, seed=args.seed, image_size=args.image_size,
                              channels=args.channels, progress=True)
    save_judge(judge, info, folder)
    print(f"judge for {args.data}: test accuracy {info['test_accuracy']:.4f} after {info['seconds']} s; saved in {folder}")
    return 0


def run_list(args) -> int:
    from ..metrics.judge import list_judges

    judges = list_judges()
    for j in judges:
        print(f"{j['data']:16s} {'x'.join(map(str, j['image_shape'])):9s} accuracy {j['test_accuracy']:.4f}  {j['path']}")
    if not judges:
        print("no judges cached yet; `genlab eval` trains one when it needs it, or run `genlab judge train`")
    return 0
