"""Convolution arithmetic: the worked example, every formula against real torch layers, the CLI."""
import argparse
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genlab.cli import conv as conv_cli
from genlab.convmath import (Layer, conv2d_output_size, conv2d_output_size_formula, conv_transpose2d_output_size,
                             explain_size,
                             conv_transpose2d_output_size_formula, format_matrix, format_trace, parse_layers,
                             pool2d_output_size, pool2d_output_size_formula, trace, transpose_conv_explain)
from genlab.errors import ConfigError, GenlabError

INPUT = [[2, 3, 1], [0, 4, 2], [1, 6, 7]]
KERNEL = [[1, 2], [3, 4]]
STRIDE1 = [[2, 7, 7, 2], [6, 21, 25, 8], [1, 20, 41, 22], [3, 22, 45, 28]]
STRIDE2 = [[2, 4, 3, 6, 1, 2], [6, 8, 9, 12, 3, 4], [0, 0, 4, 8, 2, 4],
           [0, 0, 12, 16, 6, 8], [1, 2, 6, 12, 7, 14], [3, 4, 18, 24, 21, 28]]
S2 = np.array(STRIDE2)
OP1 = np.pad(S2, ((0, 1), (0, 1)))  # output padding adds a zero row and column at the bottom/right

# (stride, padding, output_padding) -> the worked example's result
WORKED = {
    (1, 0, 0): np.array(STRIDE1),
    (2, 0, 0): S2,
    (2, 1, 0): S2[1:-1, 1:-1],
    (2, 2, 0): S2[2:-2, 2:-2],
    (2, 0, 1): OP1,
}


def torch_transpose(x, w, stride, padding, output_padding):
    x = torch.tensor(np.asarray(x), dtype=torch.float64)[None, None]
    w = torch.tensor(np.asarray(w), dtype=torch.float64)[None, None]
    out = F.conv_transpose2d(x, w, stride=stride, padding=padding, output_padding=output_padding)
    return out[0, 0].numpy()


# ---------------------------------------------------------------- the worked example


@pytest.mark.parametrize("stride,padding,output_padding", list(WORKED))
def test_worked_example_matches_slides_and_torch(stride, padding, output_padding):
    expected = WORKED[(stride, padding, output_padding)]
    result, steps = transpose_conv_explain(INPUT, KERNEL, stride, padding, output_padding)
    np.testing.assert_array_equal(result, expected)
    np.testing.assert_array_equal(torch_transpose(INPUT, KERNEL, stride, padding, output_padding), expected)
    size = conv_transpose2d_output_size(3, 2, stride, padding, output_padding)
    assert expected.shape == (size, size)
    assert steps[-2] == f"result {size}×{size}:\n{format_matrix(expected, '  ')}"  # the final matrix
    assert steps[-1].endswith(f"= {size}")


def test_worked_example_sizes_and_special_cases():
    assert WORKED[(2, 1, 0)].shape == (4, 4) and WORKED[(2, 2, 0)].tolist() == [[4, 8], [12, 16]]
    assert OP1.shape == (7, 7) and not OP1[-1].any() and not OP1[:, -1].any()


def test_explain_defaults_to_the_worked_example_and_shows_each_placement():
    result, steps = transpose_conv_explain()
    np.testing.assert_array_equal(result, STRIDE1)
    assert result.dtype.kind == "i"
    placements = [s for s in steps if s.startswith("input[")]
    assert len(placements) == 9
    assert placements[0].splitlines()[0] == "input[0,0]=2 × kernel placed at rows 0..1, cols 0..1"
    assert placements[4].splitlines()[0] == "input[1,1]=4 × kernel placed at rows 1..2, cols 1..2"
    # the running grid after the first placement holds 2·kernel and zeros
    assert placements[0].splitlines()[1:] == ["  2 4 0 0", "  6 8 0 0", "  0 0 0 0", "  0 0 0 0"]
    assert steps[-1] == "output size (rows and columns): out = (3 − 1)·1 − 2·0 + 1·(2−1) + 0 + 1 = 4"


def test_explain_padding_with_output_padding_follows_torch():
    # padding crops after output padding, so the bottom row is a real one, not the added zeros
    result, steps = transpose_conv_explain(INPUT, KERNEL, stride=2, padding=1, output_padding=1)
    np.testing.assert_array_equal(result, torch_transpose(INPUT, KERNEL, 2, 1, 1))
    np.testing.assert_array_equal(result, S2[1:, 1:])
    assert any(s.startswith("output_padding 1: add 1 zero row") for s in steps)
    assert any(s.startswith("padding 1: crop 1 row") for s in steps)


@pytest.mark.parametrize("seed", range(6))
def test_explain_random_rectangular_matches_torch(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-5, 6, size=rng.integers(1, 5, size=2))
    w = rng.normal(size=rng.integers(1, 4, size=2))
    stride = int(rng.integers(1, 4))
    output_padding = int(rng.integers(0, stride))
    padding = int(rng.integers(0, (min(w.shape) - 1) // 2 + 1))  # keeps even a 1×1 input's output ≥ 1
    result, _ = transpose_conv_explain(x, w, stride, padding, output_padding)
    np.testing.assert_allclose(result, torch_transpose(x, w, stride, padding, output_padding))


def test_explain_accepts_text_matrices():
    result, _ = transpose_conv_explain("2,3,1;0,4,2;1,6,7", "1,2;3,4", stride=2)
    np.testing.assert_array_equal(result, S2)


def test_format_matrix_aligns_columns():
    assert format_matrix([[2, 7], [21, 25]]) == " 2  7\n21 25"
    assert format_matrix([[0.5, 2.0]], indent="> ") == "> 0.5   2"


# ---------------------------------------------------------------- formulas against torch layers


def torch_size(make_layer, n):
    """Torch's output size for an n×n input, or None where torch refuses the setting.

    ConvTranspose2d returns an empty tensor for an output size of exactly 0 rather than raising;
    genlab refuses that as well (an empty image is never what the user meant), so 0 counts as refused.
    """
    try:
        layer = make_layer()
        return layer(torch.zeros(1, 1, n, n)).shape[-1] or None
    except (RuntimeError, ValueError):
        return None


def ours(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ConfigError:
        return None


SIZES, KERNELS, STRIDES, PADDINGS, DILATIONS = (1, 2, 3, 5, 8), (1, 2, 3, 5), (1, 2, 3), (0, 1, 2, 3), (1, 2, 3)


def test_conv2d_formula_matches_torch():
    checked = 0
    for n, k, s, p, d in itertools.product(SIZES, KERNELS, STRIDES, PADDINGS, DILATIONS):
        expected = torch_size(lambda: nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d), n)
        assert ours(conv2d_output_size, n, k, s, p, d) == expected, (n, k, s, p, d)
        checked += expected is not None
    assert checked > 500  # most settings are valid; the rest must be refused by both


def test_conv_transpose2d_formula_matches_torch():
    checked = refused = 0
    for n, k, s, p, d, op in itertools.product(SIZES, KERNELS, STRIDES, PADDINGS, DILATIONS, (0, 1, 2)):
        expected = torch_size(lambda: nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, dilation=d,
                                                         output_padding=op), n)
        assert ours(conv_transpose2d_output_size, n, k, s, p, op, d) == expected, (n, k, s, p, d, op)
        checked += expected is not None
        refused += expected is None
    assert checked > 1000 and refused > 100


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool2d_formula_matches_torch(ceil_mode):
    checked = refused = 0
    for n, k, s, p, d in itertools.product(SIZES, KERNELS, (None, 1, 2, 3), PADDINGS, DILATIONS):
        expected = torch_size(lambda: nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode), n)
        assert ours(pool2d_output_size, n, k, s, p, d, ceil_mode) == expected, (n, k, s, p, d, ceil_mode)
        if d == 1:
            avg = torch_size(lambda: nn.AvgPool2d(k, stride=s, padding=p, ceil_mode=ceil_mode), n)
            assert ours(pool2d_output_size, n, k, s, p, 1, ceil_mode) == avg, (n, k, s, p, ceil_mode)
        checked += expected is not None
        refused += expected is None
    assert checked > 200 and refused > 100


def test_formula_texts_carry_the_numbers():
    assert conv2d_output_size_formula(28, 3, 2, 1) == "out = floor((28 + 2·1 − 1·(3−1) − 1) / 2) + 1 = 14"
    assert conv_transpose2d_output_size_formula(7, 3, 2, 1, 1) == "out = (7 − 1)·2 − 2·1 + 1·(3−1) + 1 + 1 = 14"
    assert pool2d_output_size_formula(28, 2) == "out = floor((28 + 2·0 − 1·(2−1) − 1) / 2) + 1 = 14"
    assert pool2d_output_size_formula(5, 2, ceil_mode=True).startswith("out = ceil(")
    # the textbook's simpler form: (in − k + 2p)/s + 1 for dilation 1
    assert conv2d_output_size(32, 5) == 32 - 5 + 1


# ---------------------------------------------------------------- stacks


def test_lenet_trace():
    rows = trace("conv5,pool2,conv5,pool2", 32)
    assert [(r.size_in, r.size_out) for r in rows] == [(32, 28), (28, 14), (14, 10), (10, 5)]
    assert rows[0].layer == "conv k=5 s=1 p=0" and rows[1].layer == "maxpool k=2 s=2"
    assert rows[0].formula == "out = floor((32 + 2·0 − 1·(5−1) − 1) / 1) + 1 = 28"
    assert format_trace(rows).splitlines()[-1] == "32 → 28 → 14 → 10 → 5"


def test_conv_ae_encoder_and_decoder_traces_match_torch():
    encoder = trace("conv:k=3,s=2,p=1;conv:k=3,s=2,p=1", 28)
    assert [r.size_out for r in encoder] == [14, 7]
    decoder = trace("convT3:s=2,p=1,op=1, convT3:s=2,p=1,op=1", 7)  # "," works as a layer separator too
    assert [r.size_out for r in decoder] == [14, 28]
    net = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.Conv2d(1, 1, 3, stride=2, padding=1))
    assert net(torch.zeros(1, 1, 28, 28)).shape[-2:] == (7, 7)
    net = nn.Sequential(*[nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)] * 2)
    assert net(torch.zeros(1, 1, 7, 7)).shape[-2:] == (28, 28)


def test_rectangular_trace_matches_torch():
    spec = "conv:k=3x5,s=2,p=1x2; maxpool3:s=2,ceil=1; convT:k=4,s=2x3,p=1,op=1x2; avgpool2"
    rows = trace(spec, "30x41")
    net = nn.Sequential(nn.Conv2d(1, 1, (3, 5), stride=2, padding=(1, 2)),
                        nn.MaxPool2d(3, stride=2, ceil_mode=True),
                        nn.ConvTranspose2d(1, 1, 4, stride=(2, 3), padding=1, output_padding=(1, 2)),
                        nn.AvgPool2d(2))
    shapes, x = [], torch.zeros(1, 1, 30, 41)
    for layer in net:
        x = layer(x)
        shapes.append(tuple(x.shape[-2:]))
    assert [r.size_out for r in rows] == shapes
    assert rows[0].size_in == (30, 41) and rows[0].formula.startswith("H: ")


def test_grammar_forms_agree():
    a = parse_layers("conv:k=5,s=1,p=0;pool:k=2;convT:k=3,s=2,p=1,op=1")
    b = parse_layers("CONV5, pool2, convt3:s=2,p=1,op=1")
    expected = [Layer("conv", 5, 1, 0), Layer("maxpool", 2), Layer("convT", 3, 2, 1, output_padding=1)]
    assert [l.describe() for l in a] == [l.describe() for l in b] == [l.describe() for l in expected]
    assert [l.describe() for l in a] == ["conv k=5 s=1 p=0", "maxpool k=2 s=2", "convT k=3 s=2 p=1 op=1"]
    assert trace([Layer("conv", 3, padding=1), "pool2"], (8, 6))[-1].size_out == (4, 3)


@pytest.mark.parametrize("spec,match", [
    ("conv5,,pool2", "empty item"),
    ("s=2,conv3", "before any layer"),
    ("fc10", "unknown layer"),
    ("conv", "no kernel size"),
    ("conv3:q=1", "unknown option"),
    ("conv3:op=1", "only applies to convT"),
    ("conv3:ceil=1", "only applies to pooling"),
    ("avgpool2:d=2", "no dilation"),
    ("conv3:s=two", "N or HxW"),
])
def test_bad_grammar(spec, match):
    with pytest.raises(ConfigError, match=match):
        trace(spec, 32)


def test_trace_error_names_the_layer():
    with pytest.raises(ConfigError, match=r"layer 3 \(conv k=5 s=1 p=0\) on input 3: output size would be -1"):
        trace("conv5,pool2,conv5", 10)


# ---------------------------------------------------------------- impossible settings


@pytest.mark.parametrize("call,match", [
    (lambda: conv_transpose2d_output_size(7, 3, stride=2, padding=1, output_padding=2),
     r"output_padding=2 must be smaller than stride \(2\) or dilation \(1\).*PyTorch.*output_padding ≤ 1"),
    (lambda: conv_transpose2d_output_size(7, 3, stride=1, output_padding=1), "must be smaller than stride"),
    (lambda: conv2d_output_size(4, 5), r"output size would be 0 .*use a smaller kernel"),
    (lambda: conv_transpose2d_output_size(2, 1, padding=1), r"output size would be 0 .*use less padding"),
    (lambda: pool2d_output_size(1, 2), "output size would be 0"),
    (lambda: conv2d_output_size(28, 3, stride=0), "stride must be ≥ 1, got 0; use stride=1"),
    (lambda: pool2d_output_size(28, 2, stride=0), "stride must be ≥ 1, got 0"),
    (lambda: conv2d_output_size(28, 3, padding=-1), "padding must be ≥ 0, got -1; use padding=0"),
    (lambda: conv_transpose2d_output_size(28, 3, padding=-1), "padding must be ≥ 0"),
    (lambda: conv2d_output_size(0, 3), "input size must be ≥ 1"),
    (lambda: conv2d_output_size(28, 0), "kernel must be ≥ 1"),
    (lambda: conv2d_output_size(28, 3, dilation=0), "dilation must be ≥ 1"),
    (lambda: conv2d_output_size(28, 2.5), "whole number"),
    (lambda: pool2d_output_size(28, 2, padding=2), r"at most half the kernel.*padding ≤ 1"),
    (lambda: transpose_conv_explain(stride=2, output_padding=2), "must be smaller than stride"),
    (lambda: transpose_conv_explain(padding=3), "output size would be"),
    (lambda: transpose_conv_explain(input=[[1, 2], [3]]), "rows of equal length"),
    (lambda: transpose_conv_explain(kernel="1,x"), "not a rectangular matrix"),
])
def test_impossible_settings_raise_config_error(call, match):
    with pytest.raises(ConfigError, match=match) as info:
        call()
    assert isinstance(info.value, GenlabError) and "\n" not in str(info.value)


def test_conv_allows_padding_beyond_half_the_kernel_like_torch():
    assert conv2d_output_size(5, 3, padding=3) == 9 == nn.Conv2d(1, 1, 3, padding=3)(torch.zeros(1, 1, 5, 5)).shape[-1]


# ---------------------------------------------------------------- command line


def cli(capsys, *argv):
    parser = argparse.ArgumentParser(prog="genlab")
    conv_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["conv", *argv])
    assert args.func is conv_cli.run
    code = args.func(args)
    return code, capsys.readouterr().out


def test_cli_single_layer(capsys):
    code, out = cli(capsys, "--size", "28", "--kernel", "3", "--stride", "2", "--padding", "1")
    assert code == 0
    assert "out = floor((28 + 2·1 − 1·(3−1) − 1) / 2) + 1 = 14" in out
    assert out.splitlines()[-1] == "output size: 14"


def test_cli_transpose_and_pool(capsys):
    code, out = cli(capsys, "--size", "7", "--kernel", "3", "--stride", "2", "--padding", "1",
                    "--transpose", "--output-padding", "1")
    assert code == 0 and "out = (7 − 1)·2 − 2·1 + 1·(3−1) + 1 + 1 = 14" in out
    code, out = cli(capsys, "--size", "28x30", "--kernel", "2", "--pool")
    assert code == 0 and out.splitlines()[-1] == "output size: 14×15"


def test_cli_trace(capsys):
    code, out = cli(capsys, "--size", "32", "--trace", "conv5,pool2,conv5,pool2")
    assert code == 0
    assert out.splitlines()[-1] == "32 → 28 → 14 → 10 → 5"
    assert len(out.splitlines()) == 6  # header, four layers, chain


@pytest.mark.parametrize("extra,matrix", [
    ([], np.array(STRIDE1)),
    (["--stride", "2"], S2),
    (["--stride", "2", "--padding", "1"], S2[1:-1, 1:-1]),
    (["--stride", "2", "--padding", "2"], S2[2:-2, 2:-2]),
    (["--stride", "2", "--output-padding", "1"], OP1),
])
def test_cli_explain_prints_the_final_matrix(capsys, extra, matrix):
    code, out = cli(capsys, "--explain", *extra)
    assert code == 0
    assert "input[2,2]=7 × kernel placed at" in out
    assert f"result {matrix.shape[0]}×{matrix.shape[1]}:\n{format_matrix(matrix, '  ')}" in out


def test_cli_explain_custom_matrices(capsys):
    code, out = cli(capsys, "--explain", "--input", "2,3,1;0,4,2;1,6,7", "--kernel-matrix", "1,2;3,4",
                    "--stride", "2")
    assert code == 0 and format_matrix(S2, "  ") in out


@pytest.mark.parametrize("argv,match", [
    (["--size", "5", "--kernel", "3", "--transpose", "--stride", "2", "--output-padding", "2"],
     "must be smaller than stride"),
    (["--size", "4", "--kernel", "5"], "output size would be 0"),
    (["--size", "28", "--kernel", "3", "--stride", "0"], "stride must be ≥ 1"),
    (["--size", "28", "--kernel", "3", "--padding", "-1"], "padding must be ≥ 0"),
    (["--size", "28", "--kernel", "3", "--output-padding", "1"], "add --transpose"),
    (["--size", "32", "--trace", "conv5", "--kernel", "3"], "--kernel cannot be used with --trace"),
    (["--trace", "conv5"], "add --size"),
    (["--explain", "--size", "3"], "--size cannot be used with --explain"),
    (["--size", "28", "--kernel", "3", "--input", "1,2;3,4"], "go with --explain"),
    (["--size", "abc", "--kernel", "3"], "N or HxW"),
    ([], "give --size and --kernel"),
])
def test_cli_bad_input_raises_config_error(capsys, argv, match):
    with pytest.raises(ConfigError, match=match):
        cli(capsys, *argv)


# ---------------------------------------------------------------- compact "/" grammar, explain_size, dict rows


def test_slash_grammar_matches_the_long_form_and_torch():
    encoder = trace("conv3/s2/p1,conv3/s2/p1", 28)
    assert [(r["in"], r["out"]) for r in encoder] == [(28, 14), (14, 7)]
    decoder = trace("convT3/s2/p1/op1,convT3/s2/p1/op1", 7)
    assert [(r["in"], r["out"]) for r in decoder] == [(7, 14), (14, 28)]
    assert format_trace(decoder).splitlines()[-1] == "7 → 14 → 28"
    assert [l.describe() for l in parse_layers("conv3/s2/p1/d2, pool3/s1/p1/ceil, convT4/s2/op1")] == \
        [l.describe() for l in parse_layers("conv:k=3,s=2,p=1,d=2; pool3:s=1,p=1,ceil=1; convT:k=4,s=2,op=1")]
    rows = trace("conv3x5/s2/p1x2,pool3/s2/ceil,convT4/s2x3/p1/op1x2", "30x41")
    net = nn.Sequential(nn.Conv2d(1, 1, (3, 5), stride=2, padding=(1, 2)), nn.MaxPool2d(3, stride=2, ceil_mode=True),
                        nn.ConvTranspose2d(1, 1, 4, stride=(2, 3), padding=1, output_padding=(1, 2)))
    x, shapes = torch.zeros(1, 1, 30, 41), []
    for layer in net:
        x = layer(x)
        shapes.append(tuple(x.shape[-2:]))
    assert [r["out"] for r in rows] == shapes


def test_trace_rows_read_as_dicts():
    row = trace("conv5,pool2,conv5,pool2", 32)[0]
    assert dict(row) == row.as_dict() == {"layer": "conv k=5 s=1 p=0", "in": 32, "out": 28,
                                          "formula": "out = floor((32 + 2·0 − 1·(5−1) − 1) / 1) + 1 = 28"}
    assert row[1] == 32 and row.size_out == 28
    with pytest.raises(KeyError):
        row["nope"]


@pytest.mark.parametrize("spec,match", [
    ("conv3/x2", r"unknown option '/x2'.*/s<stride>, /p<padding>"),
    ("fc10,conv3", r"unknown layer 'fc10'.*conv<k>, pool<k> or convT<k>.*/op<output_padding>"),
    ("conv3/op1", "only applies to convT"),
    ("pool2/ceil/d2x", "unknown option"),
])
def test_bad_slash_grammar(spec, match):
    with pytest.raises(ConfigError, match=match) as info:
        trace(spec, 32)
    assert "\n" not in str(info.value)


def test_explain_size():
    assert explain_size("conv", 28, 3, 2, 1) == "out = floor((28 + 2·1 − 1·(3−1) − 1) / 2) + 1 = 14"
    assert explain_size("convT", 7, 3, 2, 1, 1) == "out = (7 − 1)·2 − 2·1 + 1·(3−1) + 1 + 1 = 14"
    assert explain_size("pool", 28, 2) == "out = floor((28 + 2·0 − 1·(2−1) − 1) / 2) + 1 = 14"
    assert explain_size("conv", 9, 3, dilation=2).endswith("= 5")
    with pytest.raises(ConfigError, match="unknown layer kind 'fc'"):
        explain_size("fc", 28, 3)
    with pytest.raises(ConfigError, match="output_padding only applies to transposed"):
        explain_size("conv", 28, 3, 2, output_padding=1)
    with pytest.raises(ConfigError, match=r"smaller than stride.*PyTorch"):
        explain_size("convT", 7, 3, 2, 1, 2)


def test_small_settings_exhaustively_against_torch():
    """The brief's grid: sizes 5..12, kernels 1..4, strides 1..3, paddings 0..2, dilations 1..2."""
    for n, k, s, p, d in itertools.product(range(5, 13), range(1, 5), range(1, 4), range(3), range(1, 3)):
        assert ours(conv2d_output_size, n, k, s, p, d) == \
            torch_size(lambda: nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d), n), (n, k, s, p, d)
        assert ours(pool2d_output_size, n, k, s, p, d) == \
            torch_size(lambda: nn.MaxPool2d(k, stride=s, padding=p, dilation=d), n), (n, k, s, p, d)
        for op in range(max(s, d) + 1):  # the last value is always refused (PyTorch's rule)
            assert ours(conv_transpose2d_output_size, n, k, s, p, op, d) == torch_size(
                lambda: nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, dilation=d, output_padding=op), n)


def test_cli_slash_trace_and_explain_formula(capsys):
    code, out = cli(capsys, "--size", "28", "--trace", "conv3/s2/p1,conv3/s2/p1")
    assert code == 0 and out.splitlines()[-1] == "28 → 14 → 7"
    code, out = cli(capsys, "--explain", "--stride", "2")
    assert code == 0
    assert "   1  2  6 12  7 14\n   3  4 18 24 21 28" in out  # the 6×6 result's last rows
    assert "out = (3 − 1)·2 − 2·0 + 1·(2−1) + 0 + 1 = 6" in out
