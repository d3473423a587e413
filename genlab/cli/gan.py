"""`genlab diagnose` and `genlab experiment adam-vs-sgd`: GAN training health."""
from __future__ import annotations

import json
import sys

from .args import add_n, add_out, add_overwrite, add_run, add_seed


def add_parser(sub) -> None:
    from ..apps.experiments import ADAM_VS_SGD_BATCH, ADAM_VS_SGD_EPOCHS, ADAM_VS_SGD_WIDTH, DCGAN_LR

    p = sub.add_parser("diagnose", help="GAN run health: mode collapse, vanishing gradients, non-convergence",
                       description="Read a GAN run's metrics.csv, sample it now when a judge is cached, print "
                                   "D(x), D(G(z)), gradient norms, coverage, near-duplicates, the warnings and one "
                                   "verdict (mode collapse, vanishing gradients, non-convergence, too few epochs to "
                                   "judge, or healthy: the same rules and thresholds as the end of `genlab train` "
                                   "and the report); write diagnose.json, diagnose.png and samples/evolution.gif "
                                   "into the run.")
    add_run(p, "a GAN's run folder")
    add_n(p, 1000, "samples drawn now for coverage and near-duplicates (0: none)")
    add_seed(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    p.set_defaults(func=run_diagnose)

    e = sub.add_parser("experiment", help="seed experiments as one command (adam-vs-sgd)")
    esub = e.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    a = esub.add_parser("adam-vs-sgd", help="the same DCGAN with Adam, with SGD, and with WGAN-GP",
                        description="Train DCGAN on mnist5k with Adam and with SGD (lr 0.0002, as in Radford et al. "
                                    "2016) and with "
                                    "the WGAN-GP loss; write comparison.{json,md,html} with the coverage per epoch.")
    a.add_argument("--epochs", type=int, default=ADAM_VS_SGD_EPOCHS)
    add_out(a, "runs/adam-vs-sgd", "output folder (default runs/adam-vs-sgd)")
    a.add_argument("--n-train", type=int, default=None, help="train on this many digits (default: all 4,000)")
    a.add_argument("--width", type=int, default=ADAM_VS_SGD_WIDTH, help="DCGAN g_width and d_width")
    a.add_argument("--batch-size", type=int, default=ADAM_VS_SGD_BATCH)
    a.add_argument("--loss", default="nonsaturating", choices=("nonsaturating", "minimax"),
                   help="generator loss of the Adam and SGD runs")
    a.add_argument("--sgd-lr", type=float, default=DCGAN_LR, help="the SGD run's learning rate (default 0.0002)")
    a.add_argument("--n-eval", type=int, default=1000, help="samples for the final figures")
    add_seed(a)
    a.add_argument("--threads", type=int, default=1,
                   help="PyTorch threads (default 1: these small networks gain nothing from more; "
                        "0: PyTorch's default)")
    add_overwrite(a, "replace the runs of an earlier experiment in --out")
    a.add_argument("--progress", action="store_true", help="show the training progress bars")
    a.add_argument("--json", action="store_true", help="print the comparison as one JSON object")
    a.set_defaults(func=run_adam_vs_sgd)
    e.set_defaults(func=lambda args: _no_experiment(e))


def _no_experiment(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _note(message: str) -> None:
    # progress goes to stderr so that --json keeps stdout to one JSON object
    print(message, file=sys.stderr, flush=True)


def run_diagnose(args) -> int:
    from ..apps.diagnose import diagnose, format_summary
    from ..errors import ConfigError

    if args.n < 0:
        raise ConfigError(f"--n must be 0 or more, got {args.n}")
    result = diagnose(args.run, n=args.n, seed=args.seed, log=_note)
    print(json.dumps(result) if args.json else format_summary(result))
    return 0


def run_adam_vs_sgd(args) -> int:
    from ..apps.experiments import adam_vs_sgd

    result = adam_vs_sgd(args.out, epochs=args.epochs, n_train=args.n_train, width=args.width,
                         batch_size=args.batch_size, loss=args.loss, sgd_lr=args.sgd_lr, n_eval=args.n_eval,
                         seed=args.seed, threads=args.threads, overwrite=args.overwrite, progress=args.progress,
                         log=_note)
    if args.json:
        print(json.dumps(result))
    else:
        print("\n".join(result["summary"]))
        print(f"comparison: {result['files']['md']} and {result['files']['html']}")
    return 0
