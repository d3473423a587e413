import pytest
import torch

from genlab.cli import main
from genlab.errors import CheckpointError, DataError, GenlabError
from genlab.metrics import judge as J


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    return tmp_path


def test_shapes_on_other_images():
    for shape in ((1, 8, 8), (3, 32, 32)):
        j = J.Judge(shape, 3)
        x = torch.rand(5, *shape)
        assert j.features_of(x).shape == (5, 128)
        p = j.probs_of(x)
        assert p.shape == (5, 3) and torch.allclose(p.sum(1), torch.ones(5))


def test_cache_roundtrip_no_retrain_and_corruption(cache, monkeypatch):
    judge, info = J.get_judge("digits", (1, 8, 8))
    assert info["test_accuracy"] > 0.8 and (J.judge_path("digits", (1, 8, 8)) / "model.safetensors").is_file()
    monkeypatch.setattr(J, "train_judge", lambda *a, **k: pytest.fail("retrained a cached judge"))
    again, _ = J.get_judge("digits", (1, 8, 8))
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(again.features_of(x), judge.features_of(x))
    (J.judge_path("digits", (1, 8, 8)) / "model.safetensors").write_bytes(b"broken")
    with pytest.raises(CheckpointError, match="genlab judge train --data digits --overwrite"):
        J.get_judge("digits", (1, 8, 8))


def test_unlabelled_data_and_missing_inception(cache, tmp_path, monkeypatch):
    from PIL import Image

    for i in range(6):
        Image.new("L", (8, 8), i * 20).save(tmp_path / f"{i}.png")
    with pytest.raises(DataError, match="no labels"):
        J.train_judge(f"folder:{tmp_path}", epochs=1)
    monkeypatch.delenv("GENLAB_INCEPTION", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(GenlabError, match="GENLAB_INCEPTION"):
        J.require_inception()


def test_cli_train_and_list(cache, capsys):
    assert main(["judge", "train", "--data", "digits", "--epochs", "2"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["judge", "train", "--data", "digits"]) == 0
    assert "already cached" in capsys.readouterr().out
    assert main(["judge", "list"]) == 0
    assert "digits" in capsys.readouterr().out


@pytest.mark.slow
def test_judge_reaches_98_percent_on_mnist5k(cache):
    _, info = J.train_judge("mnist5k")
    assert info["test_accuracy"] >= 0.98, info
