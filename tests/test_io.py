import pickle

import pytest
import torch

from genlab.errors import CheckpointError
from genlab.io import load_tensors, load_tree, save_tensors, save_tree


def test_tree_roundtrip_keeps_types(tmp_path):
    tree = {"epoch": 3, "state_dict": {"a.weight": torch.randn(2, 3)},
            "optimizer_states": [{"state": {0: {"step": torch.tensor(5.0), "exp_avg": torch.ones(2)}},
                                  "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0]}]}],
            "flag": None, "name": "x", "nested": [1, [2.5, True]]}
    path = save_tree(tree, tmp_path / "c.safetensors")
    back = load_tree(path)
    assert back["epoch"] == 3 and back["flag"] is None and back["nested"] == [1, [2.5, True]]
    assert torch.equal(back["state_dict"]["a.weight"], tree["state_dict"]["a.weight"])
    state = back["optimizer_states"][0]["state"]
    assert list(state) == [0] and torch.equal(state[0]["exp_avg"], torch.ones(2))
    assert back["optimizer_states"][0]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def test_pickle_is_refused_never_loaded(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("open('%s', 'w').write('ran')" % (tmp_path / "pwned"),))

    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError, match="never unpickles"):
        load_tensors(bad)
    assert not (tmp_path / "pwned").exists()
    torch.save({"w": torch.ones(1)}, tmp_path / "t.safetensors")
    with pytest.raises(CheckpointError, match="pickle"):
        load_tensors(tmp_path / "t.safetensors")


def test_truncated_and_garbage_files(tmp_path):
    path = save_tensors({"w": torch.randn(64, 64)}, tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_tensors(path)
    path.write_bytes(b"hello world, not a model")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_tensors(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_tensors(tmp_path / "missing.safetensors")


def test_plain_safetensors_is_not_a_checkpoint(tmp_path):
    path = save_tensors({"w": torch.ones(2)}, tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="not a genlab checkpoint"):
        load_tree(path)
