"""Run folders written by genlab 0.1 before the networks moved to ``genlab.nn`` still load, and
their models compute what they computed then (tiny runs saved with that version's code)."""
from pathlib import Path

import pytest
import torch

import genlab
from genlab.io import load_tensors

RUNS = Path(__file__).resolve().parent / "fixtures" / "runs-0.1"


@pytest.mark.parametrize("name", sorted(p.name for p in RUNS.iterdir()))
def test_old_run_loads_and_computes_the_same(name):
    model = genlab.load(RUNS / name)
    expected = load_tensors(RUNS / name / "expected.safetensors")
    x = expected["x"]
    checked = 0
    with torch.no_grad():
        if "reconstruct" in expected:
            y = torch.arange(4) if model.label_space is not None else None
            torch.testing.assert_close(model.reconstruct(x, y), expected["reconstruct"])
            checked += 1
        if "decode" in expected:
            y = torch.arange(4) if model.label_space is not None else None
            torch.testing.assert_close(model.decode(expected["z"], y), expected["decode"])
            checked += 1
        if "critic" in expected:
            y = torch.arange(4) if model.label_space is not None else None
            torch.testing.assert_close(model.critic(x * 2 - 1, y), expected["critic"])
            checked += 1
        if "q_cat" in expected:
            cat, mu = model.infer_codes(x)
            torch.testing.assert_close(cat.float(), expected["q_cat"])
            torch.testing.assert_close(mu, expected["q_mu"])
            checked += 1
    assert checked >= 1
