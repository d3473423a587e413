"""`genlab conv`: output sizes of conv / pool / transposed-conv layers, a whole stack, or a worked example."""
from __future__ import annotations

import argparse

from ..convmath import (CONV_FORMULA, CONV_TRANSPOSE_FORMULA, POOL_FORMULA, TRACE_GRAMMAR, Layer, format_trace,
                        trace, transpose_conv_explain)
from ..errors import ConfigError

_USAGE = """\
Three modes:
  one layer   genlab conv --size 28 --kernel 3 --stride 2 --padding 1 [--dilation D] [--transpose [--output-padding 1] | --pool]
  a stack     genlab conv --size 32 --trace "conv5,pool2,conv5,pool2"
  worked example (a transposed convolution, step by step)
              genlab conv --explain [--stride 2 --padding 1 --output-padding 1]
                          [--input "2,3,1;0,4,2;1,6,7" --kernel-matrix "1,2;3,4"]
Sizes and kernels are N (square) or HxW.

"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "conv", help="output sizes of conv/pool/transposed-conv layers, with the formula",
        description="Convolution arithmetic with the numbers written into the formula.",
        epilog=_USAGE + TRACE_GRAMMAR, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default=None, metavar="N|HxW", help="input size")
    p.add_argument("--kernel", default=None, metavar="N|HxW", help="kernel size (one-layer mode)")
    p.add_argument("--stride", type=int, default=None, help="default 1 (pooling: the kernel size)")
    p.add_argument("--padding", type=int, default=None, help="default 0")
    p.add_argument("--dilation", type=int, default=None, help="default 1")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--transpose", action="store_true", help="a transposed convolution (ConvTranspose2d)")
    kind.add_argument("--pool", action="store_true", help="a max-pooling layer (MaxPool2d)")
    p.add_argument("--output-padding", type=int, default=None, help="transposed convolutions only; default 0")
    p.add_argument("--trace", default=None, metavar="STACK", help='a stack of layers, e.g. "conv5,pool2,conv5,pool2"')
    p.add_argument("--explain", action="store_true",
                   help="a transposed convolution step by step (a built-in worked example)")
    p.add_argument("--input", default=None, metavar="ROWS", help='--explain input matrix, e.g. "2,3,1;0,4,2;1,6,7"')
    p.add_argument("--kernel-matrix", default=None, metavar="ROWS", help='--explain kernel, e.g. "1,2;3,4"')
    p.set_defaults(func=run)


def _refuse(args, mode: str, names: tuple[str, ...], fix: str) -> None:
    """Options that mean nothing in this mode are a mistake worth saying, not something to ignore."""
    given = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n) not in (None, False)]
    if given:
        raise ConfigError(f"{', '.join(given)} cannot be used with {mode}; {fix}")


def run(args) -> int:
    if args.explain:
        return _run_explain(args)
    _refuse(args, "--size/--kernel", ("input", "kernel_matrix"), "--input and --kernel-matrix go with --explain")
    if args.trace is not None:
        return _run_trace(args)
    return _run_layer(args)


def _run_explain(args) -> int:
    _refuse(args, "--explain", ("trace", "size", "kernel", "dilation", "transpose", "pool"),
            "--explain takes --input, --kernel-matrix, --stride, --padding and --output-padding")
    result, steps = transpose_conv_explain(
        args.input, args.kernel_matrix, stride=1 if args.stride is None else args.stride,
        padding=args.padding or 0, output_padding=args.output_padding or 0)
    print("\n\n".join(steps))
    return 0


def _run_trace(args) -> int:
    _refuse(args, "--trace", ("kernel", "stride", "padding", "dilation", "output_padding", "transpose", "pool"),
            'write the settings into the stack instead, e.g. --trace "conv3/s2/p1,pool2"')
    if args.size is None:
        raise ConfigError('--trace needs the input size; add --size, e.g. --size 32')
    print(format_trace(trace(args.trace, args.size)))
    return 0


def _run_layer(args) -> int:
    if args.size is None or args.kernel is None:
        raise ConfigError("give --size and --kernel for one layer, --size and --trace for a stack, or --explain "
                          "for the worked example (see genlab conv --help)")
    if args.output_padding is not None and not args.transpose:
        raise ConfigError("--output-padding only applies to transposed convolutions; add --transpose or drop it")
    kind, formula = ("convT", CONV_TRANSPOSE_FORMULA) if args.transpose else \
        ("maxpool", POOL_FORMULA) if args.pool else ("conv", CONV_FORMULA)
    layer = Layer(kind, kernel=args.kernel, stride=args.stride, padding=args.padding or 0,
                  dilation=1 if args.dilation is None else args.dilation, output_padding=args.output_padding or 0)
    (row,) = trace([layer], args.size)
    print(row.layer)
    print(f"  {formula}")
    for part in row.formula.split(" | "):
        print(f"  {part}")
    size = row.size_out
    print(f"output size: {f'{size[0]}×{size[1]}' if isinstance(size, tuple) else size}")
    return 0
