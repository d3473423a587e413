"""Convolution arithmetic: output sizes of conv / transposed-conv / pooling layers, with the formula spelled out.

Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (2016):

    conv   out = floor((in + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1
                 (the textbook (in − kernel + 2·padding) / stride + 1 when dilation = 1)
    convT  out = (in − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1
                 (the textbook (in − 1)·stride − 2·padding + kernel + output_padding)
    pool   the conv formula with stride = kernel by default (PyTorch's MaxPool2d / AvgPool2d)

The size functions work on one dimension; `trace` applies them to a whole stack, square or H×W.
`transpose_conv_explain` replays a worked example (a 3×3 input, a 2×2 kernel): every input value times the kernel is
added into the output at (i·stride, j·stride), then padding crops the border.

Only numpy here; the tests check every formula against real torch layers.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import NamedTuple, Sequence, Union

import numpy as np

from .errors import ConfigError

__all__ = [
    "CONV_FORMULA", "CONV_TRANSPOSE_FORMULA", "POOL_FORMULA", "TRACE_GRAMMAR", "EXAMPLE_INPUT", "EXAMPLE_KERNEL",
    "Layer", "TraceRow",
    "conv2d_output_size", "conv2d_output_size_formula",
    "conv_transpose2d_output_size", "conv_transpose2d_output_size_formula",
    "pool2d_output_size", "pool2d_output_size_formula", "explain_size",
    "parse_layers", "trace", "format_trace", "receptive_field",
    "transpose_conv_explain", "format_matrix", "parse_matrix",
]

CONV_FORMULA = "out = floor((in + 2·padding − dilation·(kernel−1) − 1) / stride) + 1"
CONV_TRANSPOSE_FORMULA = "out = (in − 1)·stride − 2·padding + dilation·(kernel−1) + output_padding + 1"
POOL_FORMULA = CONV_FORMULA + "   (stride defaults to kernel)"

# The default worked example of `genlab conv --explain`.
EXAMPLE_INPUT = ((2, 3, 1), (0, 4, 2), (1, 6, 7))
EXAMPLE_KERNEL = ((1, 2), (3, 4))

Size = Union[int, tuple[int, int]]


# --------------------------------------------------------------------------------------------
# validation


def _whole(value, name: str, minimum: int, fix: str, what: str) -> int:
    """`value` as an int ≥ minimum, or a ConfigError saying which setting is wrong and how to fix it."""
    if isinstance(value, bool):  # True would silently count as 1
        raise ConfigError(f"{what}: {name} must be a whole number, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ConfigError(f"{what}: {name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{what}: {name} must be ≥ {minimum}, got {number}; {fix}")
    return number


def _common(what: str, size, kernel, stride, padding, dilation) -> tuple[int, int, int, int, int]:
    return (
        _whole(size, "input size", 1, "check the layer before it or the image size", what),
        _whole(kernel, "kernel", 1, "use kernel=1 for a pointwise layer", what),
        _whole(stride, "stride", 1, "use stride=1 to keep the resolution", what),
        _whole(padding, "padding", 0, "use padding=0 for none", what),
        _whole(dilation, "dilation", 1, "use dilation=1 for an ordinary kernel", what),
    )


# --------------------------------------------------------------------------------------------
# one dimension: (value, formula text)


def _conv(size, kernel, stride=1, padding=0, dilation=1, what="conv") -> tuple[int, str]:
    n, k, s, p, d = _common(what, size, kernel, stride, padding, dilation)
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    text = f"out = floor(({n} + 2·{p} − {d}·({k}−1) − 1) / {s}) + 1 = {out}"
    if out <= 0:
        # PyTorch: "Kernel size can't be greater than actual input size" (padding allowed at any size)
        raise ConfigError(
            f"{what}: output size would be {out} ({text}): the kernel spans {d * (k - 1) + 1} pixels but the "
            f"padded input has only {n + 2 * p}; use a smaller kernel or dilation, more padding, or a larger input")
    return out, text


def _conv_transpose(size, kernel, stride=1, padding=0, output_padding=0, dilation=1,
                    what="convT") -> tuple[int, str]:
    n, k, s, p, d = _common(what, size, kernel, stride, padding, dilation)
    op = _whole(output_padding, "output_padding", 0, "use output_padding=0 for none", what)
    if op >= max(s, d):
        raise ConfigError(
            f"{what}: output_padding={op} must be smaller than stride ({s}) or dilation ({d}) — PyTorch's rule "
            f"for ConvTranspose2d; use output_padding ≤ {max(s, d) - 1} or a larger stride")
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    text = f"out = ({n} − 1)·{s} − 2·{p} + {d}·({k}−1) + {op} + 1 = {out}"
    if out <= 0:
        raise ConfigError(
            f"{what}: output size would be {out} ({text}): padding crops 2·{p} = {2 * p} pixels from the "
            f"{out + 2 * p} the layer produces; use less padding, a larger kernel or stride, or a larger input")
    return out, text


def _pool(size, kernel, stride=None, padding=0, dilation=1, ceil_mode=False, what="pool") -> tuple[int, str]:
    n, k, s, p, d = _common(what, size, kernel, kernel if stride is None else stride, padding, dilation)
    if 2 * p > k:
        # Pooling pads with −inf / zeros that no window may consist of; PyTorch checks pad ≤ kernel/2.
        raise ConfigError(
            f"{what}: padding={p} must be at most half the kernel ({k}) — PyTorch's rule for MaxPool2d/AvgPool2d; "
            f"use padding ≤ {k // 2} or a larger kernel")
    rounding = "ceil" if ceil_mode else "floor"
    # PyTorch's pooling_output_shape: ceil mode rounds up, but the last window must start inside input + left pad
    raw = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    text = f"out = {rounding}(({n} + 2·{p} − {d}·({k}−1) − 1) / {s}) + 1 = {raw}"
    out = raw
    if ceil_mode and (raw - 1) * s >= n + p:
        out = raw - 1
        text += f" → {out} (the last window would start in the right padding, so it is dropped)"
    if out <= 0:
        raise ConfigError(
            f"{what}: output size would be {out} ({text}): the window spans {d * (k - 1) + 1} pixels but the "
            f"padded input has only {n + 2 * p}; use a smaller kernel or a larger input")
    return out, text


# --------------------------------------------------------------------------------------------
# public one-dimension API


def conv2d_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output size of nn.Conv2d along one dimension; ConfigError if the setting is impossible."""
    return _conv(size, kernel, stride, padding, dilation)[0]


def conv2d_output_size_formula(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> str:
    """The conv formula with the numbers in it, e.g. `out = floor((28 + 2·1 − 1·(3−1) − 1) / 2) + 1 = 14`."""
    return _conv(size, kernel, stride, padding, dilation)[1]


def conv_transpose2d_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                                 output_padding: int = 0, dilation: int = 1) -> int:
    """Output size of nn.ConvTranspose2d along one dimension; output_padding must be < max(stride, dilation)."""
    return _conv_transpose(size, kernel, stride, padding, output_padding, dilation)[0]


def conv_transpose2d_output_size_formula(size: int, kernel: int, stride: int = 1, padding: int = 0,
                                         output_padding: int = 0, dilation: int = 1) -> str:
    """The transposed-conv formula with the numbers in it, e.g. `out = (7 − 1)·2 − 2·1 + 1·(3−1) + 1 + 1 = 14`."""
    return _conv_transpose(size, kernel, stride, padding, output_padding, dilation)[1]


def pool2d_output_size(size: int, kernel: int, stride: int | None = None, padding: int = 0,
                       dilation: int = 1, ceil_mode: bool = False) -> int:
    """Output size of nn.MaxPool2d (and AvgPool2d, dilation 1) along one dimension; stride defaults to kernel."""
    return _pool(size, kernel, stride, padding, dilation, ceil_mode)[0]


def pool2d_output_size_formula(size: int, kernel: int, stride: int | None = None, padding: int = 0,
                               dilation: int = 1, ceil_mode: bool = False) -> str:
    """The pooling formula with the numbers in it."""
    return _pool(size, kernel, stride, padding, dilation, ceil_mode)[1]


_EXPLAIN_KINDS = {"conv": "conv", "conv2d": "conv", "convt": "convT", "conv_transpose": "convT",
                  "conv_transpose2d": "convT", "transpose": "convT", "deconv": "convT",
                  "pool": "pool", "maxpool": "pool", "pool2d": "pool", "maxpool2d": "pool"}


def explain_size(kind: str, size: int, kernel: int, stride: int | None = None, padding: int = 0,
                 output_padding: int = 0, dilation: int = 1) -> str:
    """One layer's output-size formula with the numbers substituted.

    kind: "conv", "convT" (transposed convolution) or "pool" (max pooling); stride None means 1, or the
    kernel for pooling. explain_size("conv", 28, 3, 2, 1) → `out = floor((28 + 2·1 − 1·(3−1) − 1) / 2) + 1 = 14`.
    Impossible settings raise ConfigError.
    """
    which = _EXPLAIN_KINDS.get(str(kind).lower().replace("-", "_"))
    if which is None:
        raise ConfigError(f"unknown layer kind {kind!r}; use 'conv', 'convT' (transposed) or 'pool'")
    if which != "convT" and output_padding:
        raise ConfigError(f"{kind}: output_padding only applies to transposed convolutions; "
                          "use kind 'convT' or drop it")
    if which == "conv":
        return _conv(size, kernel, 1 if stride is None else stride, padding, dilation)[1]
    if which == "convT":
        return _conv_transpose(size, kernel, 1 if stride is None else stride, padding, output_padding, dilation)[1]
    return _pool(size, kernel, stride, padding, dilation)[1]


# --------------------------------------------------------------------------------------------
# stacks of layers


TRACE_GRAMMAR = """\
Layer stack grammar (--trace):
  stack   = layer { ("," | ";") layer }
  layer   = KIND [KERNEL] { "/" short } [":" option { "," option }]
  KIND    = conv | convT | pool | maxpool | avgpool     (case-insensitive; deconv = convT)
  KERNEL  = N | HxW                                     (conv5 = conv with a 5×5 kernel)
  option  = key "=" value, value N or HxW; keys:
            k / kernel, s / stride, p / padding, d / dilation,
            op / output_padding (convT only), ceil = 0 | 1 (pooling only)
  short   = s N | p N | d N | op N | ceil           (conv3/s2/p1 = conv:k=3,s=2,p=1)
  An option after a "," belongs to the layer before it, so either separator works.
  Defaults: stride 1 (pooling: stride = kernel), padding 0, dilation 1, output_padding 0.
Examples:
  conv5,pool2,conv5,pool2                    LeNet: 32 → 28 → 14 → 10 → 5
  conv3/s2/p1,conv3/s2/p1                    28 → 14 → 7   (= conv:k=3,s=2,p=1; conv3:s=2,p=1)
  convT3/s2/p1/op1,convT3/s2/p1/op1          7 → 14 → 28   (= convT3:s=2,p=1,op=1; ...)
"""

_KINDS = {"conv": "conv", "convt": "convT", "deconv": "convT", "pool": "maxpool", "maxpool": "maxpool",
          "avgpool": "avgpool"}
_KEYS = {"k": "kernel", "kernel": "kernel", "s": "stride", "stride": "stride", "p": "padding",
         "padding": "padding", "pad": "padding", "d": "dilation", "dilation": "dilation",
         "op": "output_padding", "output_padding": "output_padding", "ceil": "ceil_mode",
         "ceil_mode": "ceil_mode"}
_SHORT = re.compile(r"^(op|s|p|d|k)(\d+(?:[x×]\d+)?)$", re.IGNORECASE)
_GRAMMAR_LINE = ("layers are conv<k>, pool<k> or convT<k>, each optionally followed by /s<stride>, /p<padding>, "
                 "/d<dilation>, /op<output_padding>, comma-separated, e.g. 'conv5,pool2' or 'convT3/s2/p1/op1'")
_HEAD = re.compile(r"^(convt|conv|deconv|maxpool|avgpool|pool)(\d+(?:[x×]\d+)?)?$", re.IGNORECASE)


@dataclass
class Layer:
    """One layer of a stack; ints are square, (h, w) pairs set each dimension. stride None = the kind's default."""
    kind: str  # "conv", "convT", "maxpool" or "avgpool"
    kernel: Size
    stride: Size | None = None
    padding: Size = 0
    dilation: Size = 1
    output_padding: Size = 0
    ceil_mode: bool = False

    def __post_init__(self):
        # Accept "5" / "3x5" strings (as typed on the command line) wherever a size goes.
        for name in ("kernel", "stride", "padding", "dilation", "output_padding"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, _size_value(value, name, self.kind))

    def describe(self) -> str:
        parts = [self.kind, f"k={_show(self.kernel)}"]
        if self.stride is not None:
            stride = self.stride
        else:
            stride = self.kernel if self.kind.endswith("pool") else 1
        parts.append(f"s={_show(stride)}")
        if self.padding != 0 or self.kind in ("conv", "convT"):
            parts.append(f"p={_show(self.padding)}")
        if self.dilation != 1:
            parts.append(f"d={_show(self.dilation)}")
        if self.kind == "convT" and self.output_padding != 0:
            parts.append(f"op={_show(self.output_padding)}")
        if self.ceil_mode:
            parts.append("ceil")
        return " ".join(parts)


class TraceRow(NamedTuple):
    layer: str  # e.g. "conv k=5 s=1 p=0"
    size_in: Size  # int for a square trace, (h, w) otherwise
    size_out: Size
    formula: str  # the formula with the numbers in it ("H: … | W: …" when the dimensions differ)

    def __getitem__(self, key):
        """Also row["layer"], row["in"], row["out"], row["formula"], as for a dict."""
        if not isinstance(key, str):
            return tuple.__getitem__(self, key)
        field = _ROW_KEYS.get(key, key)
        if field not in self._fields:
            raise KeyError(key)
        return getattr(self, field)

    def keys(self):
        return ["layer", "in", "out", "formula"]

    def as_dict(self) -> dict:
        """{"layer", "in", "out", "formula"}."""
        return {key: self[key] for key in self.keys()}


_ROW_KEYS = {"in": "size_in", "out": "size_out"}


def _show(value) -> str:
    if isinstance(value, tuple):
        return str(value[0]) if value[0] == value[1] else f"{value[0]}×{value[1]}"
    return str(value)


def _pair(value, name: str, what: str) -> tuple:
    """An int, an (h, w) pair or a "N" / "HxW" string as an (h, w) pair; None stays None."""
    if value is None:
        return (None, None)
    if isinstance(value, str):
        parts = re.split(r"[x×X]", value.strip())
        if len(parts) not in (1, 2) or not all(p.strip().lstrip("-").isdigit() for p in parts):
            raise ConfigError(f"{what}: {name} must be N or HxW (e.g. 28 or 28x32), got {value!r}")
        numbers = [int(p) for p in parts]
        return (numbers[0], numbers[-1])
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"{what}: {name} must be one number or an (h, w) pair, got {value!r}")
        return (value[0], value[1])
    return (value, value)


def parse_layers(spec: str) -> list[Layer]:
    """Parse the --trace grammar (see TRACE_GRAMMAR) into Layer objects."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("empty layer stack; describe it like 'conv5,pool2,conv5,pool2'")
    groups: list[tuple[str, list[str]]] = []  # (head, options) per layer
    for item in (t.strip() for t in re.split(r"[,;]", spec)):
        if not item:
            raise ConfigError(f"empty item in layer stack {spec!r}; remove the doubled ',' or ';'")
        head, colon, first_option = item.partition(":")
        if "=" in head and not colon:  # a bare key=value continues the previous layer
            if not groups:
                raise ConfigError(f"option {item!r} comes before any layer; start with a layer such as 'conv:k=3'")
            groups[-1][1].append(item)
        else:
            groups.append((head.strip(), [first_option.strip()] if first_option.strip() else []))
    return [_layer_from(head, options) for head, options in groups]


def _layer_from(head: str, options: list[str]) -> Layer:
    head = head.replace(" ", "")
    name, *shorts = head.split("/")
    short_options = []
    for token in shorts:  # conv3/s2/p1: the compact form of conv3:s=2,p=1
        match = _SHORT.match(token)
        if token.lower() == "ceil":
            short_options.append("ceil=1")
        elif match:
            short_options.append(f"{match.group(1).lower()}={match.group(2)}")
        else:
            raise ConfigError(f"{head}: unknown option '/{token}'; {_GRAMMAR_LINE}")
    options = short_options + list(options)
    match = _HEAD.match(name)
    if not match:
        raise ConfigError(f"unknown layer {name!r}; use conv, convT, pool, maxpool or avgpool, "
                          f"optionally followed by the kernel size (conv5); {_GRAMMAR_LINE}")
    kind = _KINDS[match.group(1).lower()]
    values: dict[str, object] = {}
    if match.group(2):
        values["kernel"] = _size_value(match.group(2), "kernel", head)
    for option in options:
        key, eq, value = (s.strip() for s in option.partition("="))
        field = _KEYS.get(key.lower())
        if not eq or field is None:
            raise ConfigError(f"{head}: unknown option {option!r}; use k=, s=, p=, d=, op= (convT) or ceil= (pooling)")
        if field == "output_padding" and kind != "convT":
            raise ConfigError(f"{head}: op= (output_padding) only applies to convT; remove it or use convT")
        if field == "ceil_mode":
            if not kind.endswith("pool"):
                raise ConfigError(f"{head}: ceil= only applies to pooling layers; remove it")
            if value.lower() not in ("0", "1", "true", "false"):
                raise ConfigError(f"{head}: ceil must be 0 or 1, got {value!r}")
            values[field] = value.lower() in ("1", "true")
            continue
        values[field] = _size_value(value, field, head)
    if "kernel" not in values:
        raise ConfigError(f"{head}: no kernel size; write it as {head}3 or {head}:k=3")
    if kind == "avgpool" and values.get("dilation", 1) != 1:
        raise ConfigError(f"{head}: AvgPool2d has no dilation; remove d= or use maxpool")
    return Layer(kind, **values)


def _size_value(text: str, name: str, head: str) -> Size:
    h, w = _pair(text, name, head)
    return h if h == w else (h, w)


def _apply(layer: Layer, size: tuple[int, int], what: str) -> tuple[tuple[int, int], str]:
    """Run one layer on an (h, w) size; returns the new size and the formula text."""
    pairs = {name: _pair(getattr(layer, name), name, what)
             for name in ("kernel", "stride", "padding", "dilation", "output_padding")}
    results = []
    for axis in (0, 1):
        k, s, p, d, op = (pairs[name][axis] for name in ("kernel", "stride", "padding", "dilation", "output_padding"))
        if layer.kind == "conv":
            results.append(_conv(size[axis], k, 1 if s is None else s, p, d, what=what))
        elif layer.kind == "convT":
            results.append(_conv_transpose(size[axis], k, 1 if s is None else s, p, op, d, what=what))
        elif layer.kind in ("maxpool", "avgpool"):
            results.append(_pool(size[axis], k, s, p, d, layer.ceil_mode, what=what))
        else:
            raise ConfigError(f"{what}: unknown layer kind {layer.kind!r}; use conv, convT, maxpool or avgpool")
    (out_h, text_h), (out_w, text_w) = results
    text = text_h if text_h == text_w else f"H: {text_h} | W: {text_w}"
    return (out_h, out_w), text


def trace(layers: str | Sequence[str | Layer], input_size: Size | str) -> list[TraceRow]:
    """Sizes through a stack of layers, one TraceRow (layer, in, out, formula) per layer.

    `layers` is a string in the TRACE_GRAMMAR ("conv5,pool2,conv5,pool2"), or a list of such strings
    and Layer objects. `input_size` is an int (square; the rows then hold ints), an (h, w) pair or a
    "HxW" string (the rows then hold pairs). An impossible layer raises ConfigError naming the layer.
    """
    if isinstance(layers, str):
        stack = parse_layers(layers)
    else:
        stack = []
        for item in layers:
            stack.extend(parse_layers(item) if isinstance(item, str) else [item])
    if not stack:
        raise ConfigError("empty layer stack; describe it like 'conv5,pool2,conv5,pool2'")
    square = isinstance(input_size, (int, np.integer)) or (
        isinstance(input_size, str) and not re.search(r"[x×X]", input_size))
    h, w = _pair(input_size, "input size", "trace")
    size = (_whole(h, "input size", 1, "give the image size, e.g. 28 or 28x32", "trace"),
            _whole(w, "input size", 1, "give the image size, e.g. 28 or 28x32", "trace"))
    rows = []
    for i, layer in enumerate(stack, 1):
        name = layer.describe()
        what = f"layer {i} ({name})" if len(stack) > 1 else name
        out, text = _apply(layer, size, what=f"{what} on input {_show(size)}")
        rows.append(TraceRow(name, size[0] if square else size, out[0] if square else out, text))
        size = out
    return rows


def format_trace(rows: Sequence[TraceRow]) -> str:
    """The trace as an aligned table followed by the chain of sizes, e.g. `32 → 28 → 14 → 10 → 5`."""
    def show(size) -> str:
        return f"{size[0]}×{size[1]}" if isinstance(size, tuple) else str(size)

    table = [("#", "layer", "in", "out", "formula")]
    table += [(str(i), r.layer, show(r.size_in), show(r.size_out), r.formula) for i, r in enumerate(rows, 1)]
    widths = [max(len(row[c]) for row in table) for c in range(4)]
    lines = ["  ".join([row[0].rjust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]),
                        row[3].rjust(widths[3]), row[4]]) for row in table]
    if rows:
        lines.append(" → ".join([show(rows[0].size_in)] + [show(r.size_out) for r in rows]))
    return "\n".join(lines)


def receptive_field(layers: str | Sequence[str | Layer]) -> Size:
    """How many input pixels one output pixel of a conv/pooling stack sees, along each dimension.

    Walking from the input, ``jump`` is the input distance between neighbouring positions of the
    current layer (the product of the strides so far); a layer of kernel k and dilation d widens the
    field by (k − 1)·d·jump:  rf = 1 + Σᵢ (kᵢ − 1)·dᵢ·Π_{j<i} sⱼ.  Padding moves the field, it never
    widens it. "conv4/s2/p1,conv4/s2/p1,conv4/s2/p1,conv4/s1/p1,conv4/s1/p1" (pix2pix's PatchGAN) → 70.
    An int when both dimensions agree, else an (h, w) pair. Transposed convolutions are refused:
    they raise the resolution, so one output pixel does not see a single window of the input.
    """
    stack = parse_layers(layers) if isinstance(layers, str) else [
        part for item in layers for part in (parse_layers(item) if isinstance(item, str) else [item])]
    if not stack:
        raise ConfigError("empty layer stack; describe it like 'conv4/s2/p1,conv4/s1/p1'")
    fields = []
    for axis in (0, 1):
        rf, jump = 1, 1
        for i, layer in enumerate(stack, 1):
            what = f"layer {i} ({layer.describe()})"
            if layer.kind == "convT":
                raise ConfigError(f"{what}: a receptive field is defined for conv and pooling stacks only; "
                                  "trace the stack up to the first convT")
            k = _whole(_pair(layer.kernel, "kernel", what)[axis], "kernel", 1, "use kernel=1", what)
            default = layer.kernel if layer.kind.endswith("pool") else 1
            s = _whole(_pair(default if layer.stride is None else layer.stride, "stride", what)[axis], "stride", 1,
                       "use stride=1", what)
            d = _whole(_pair(layer.dilation, "dilation", what)[axis], "dilation", 1, "use dilation=1", what)
            rf += (k - 1) * d * jump
            jump *= s
        fields.append(rf)
    return fields[0] if fields[0] == fields[1] else tuple(fields)


# --------------------------------------------------------------------------------------------
# the worked example: transposed convolution as a scatter-add


def _number(value) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):g}"  # 2.0 shows as 2, 0.5 as 0.5


def format_matrix(matrix, indent: str = "") -> str:
    """A 2-D array as right-aligned text columns, one row per line."""
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ConfigError(f"format_matrix needs a 2-D matrix, got shape {m.shape}")
    cells = [[_number(v) for v in row] for row in m.tolist()]
    width = max((len(c) for row in cells for c in row), default=1)
    return "\n".join(indent + " ".join(c.rjust(width) for c in row) for row in cells)


def parse_matrix(text: str, name: str = "matrix") -> np.ndarray:
    """Rows separated by ';', values by ',' (or spaces): "2,3,1;0,4,2;1,6,7"."""
    rows = [r.strip() for r in str(text).strip().strip("[]").split(";")]
    try:
        values = [[float(v) for v in re.split(r"[,\s]+", r.strip("[] ")) if v] for r in rows]
    except ValueError:
        values = None
    if not values or not values[0] or any(len(r) != len(values[0]) for r in values):
        raise ConfigError(f"{name}: {text!r} is not a rectangular matrix of numbers; write rows separated by ';' "
                          "and values by ',', e.g. \"1,2;3,4\"")
    return _matrix(values, name)


def _matrix(value, name: str) -> np.ndarray:
    if isinstance(value, str):
        return parse_matrix(value, name)
    try:
        m = np.array(value)
    except ValueError:  # ragged nested lists
        m = None
    if m is None or m.ndim != 2 or m.size == 0:
        raise ConfigError(f"{name} must be a non-empty 2-D matrix with rows of equal length, got {value!r}")
    if m.dtype.kind not in "iuf":
        raise ConfigError(f"{name} must hold numbers, got {value!r}")
    if m.dtype.kind == "f" and np.all(m == np.round(m)):
        m = m.astype(np.int64)  # "2,3,1" typed on the command line reads as floats; keep them integers
    return m


def transpose_conv_explain(input=None, kernel=None, stride: int = 1, padding: int = 0,
                           output_padding: int = 0) -> tuple[np.ndarray, list[str]]:
    """Transposed convolution step by step, placement by placement; returns (result, steps).

    Every input[i, j] times the kernel is added into the output at rows i·stride…, cols j·stride…;
    overlapping placements are summed. output_padding then appends zero rows/columns at the
    bottom/right and padding crops that many rows/columns from every side — in this order, which is
    PyTorch's: with padding ≥ output_padding the "extra" bottom row is a real row the crop would
    otherwise have removed. `input` and `kernel` are 2-D arrays, nested lists or "1,2;3,4" strings;
    they default to :data:`EXAMPLE_INPUT` (3×3) and :data:`EXAMPLE_KERNEL` (2×2). Each step is a
    text block (a line and a grid).
    """
    x = _matrix(EXAMPLE_INPUT if input is None else input, "input")
    w = _matrix(EXAMPLE_KERNEL if kernel is None else kernel, "kernel")
    (ih, iw), (kh, kw) = x.shape, w.shape
    # Validates stride, padding and output_padding and gives the final size before any work is done.
    out_h, text_h = _conv_transpose(ih, kh, stride, padding, output_padding, what="transposed conv (rows)")
    out_w, text_w = _conv_transpose(iw, kw, stride, padding, output_padding, what="transposed conv (columns)")
    s, p, op = stride, padding, output_padding
    full = np.zeros(((ih - 1) * s + kh, (iw - 1) * s + kw), dtype=np.result_type(x, w))

    steps = [
        f"transposed convolution: input {ih}×{iw}, kernel {kh}×{kw}, stride {s}, padding {p}, output_padding {op}\n"
        f"each input value times the kernel is added at (i·{s}, j·{s}); overlapping placements are summed\n"
        f"grid before padding: ({ih} − 1)·{s} + {kh} = {full.shape[0]} rows, "
        f"({iw} − 1)·{s} + {kw} = {full.shape[1]} columns"
    ]
    for i in range(ih):
        for j in range(iw):
            r, c = i * s, j * s
            full[r:r + kh, c:c + kw] += x[i, j] * w
            steps.append(f"input[{i},{j}]={_number(x[i, j])} × kernel placed at rows {r}..{r + kh - 1}, "
                         f"cols {c}..{c + kw - 1}\n{format_matrix(full, '  ')}")
    grid = full
    if op:
        grid = np.pad(grid, ((0, op), (0, op)))
        steps.append(f"output_padding {op}: add {op} zero row(s) at the bottom and {op} zero column(s) at the right"
                     f" → {grid.shape[0]}×{grid.shape[1]}\n{format_matrix(grid, '  ')}")
    if p:
        grid = grid[p:grid.shape[0] - p, p:grid.shape[1] - p]
        steps.append(f"padding {p}: crop {p} row(s)/column(s) from every side → {grid.shape[0]}×{grid.shape[1]}"
                     f"\n{format_matrix(grid, '  ')}")
    assert grid.shape == (out_h, out_w)
    steps.append(f"result {out_h}×{out_w}:\n{format_matrix(grid, '  ')}")
    if text_h == text_w:
        steps.append(f"output size (rows and columns): {text_h}")
    else:
        steps.append(f"output size: rows {text_h}; columns {text_w}")
    return grid, steps
