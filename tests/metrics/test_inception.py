"""The FID Inception-v3 built from user weights (random weights here: the real ones are never downloaded)."""
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from genlab.apps.evaluate import evaluate
from genlab.data import ImageData
from genlab.errors import CheckpointError, GenlabError
from genlab.metrics.inception import FIDInceptionV3, load_inception


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = FIDInceptionV3()
    for m in model.modules():  # variance-preserving weights, so random features are not all ~0
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return model.eval()


@pytest.fixture(scope="module")
def weights(net, tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / "inception.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


@pytest.fixture
def env(weights, monkeypatch):
    monkeypatch.setenv("GENLAB_INCEPTION", str(weights))
    return weights


def test_architecture_is_the_fid_inception():
    net = FIDInceptionV3()
    # torchvision's Inception-v3 has 27,161,264 parameters; without the auxiliary head (3,326,696)
    # and with 1008 instead of 1000 classes (+8 × 2049) that is the FID network's 23,850,960
    assert sum(p.numel() for p in net.parameters()) == 23_850_960
    keys = net.state_dict().keys()
    for key in ("Conv2d_1a_3x3.conv.weight", "Conv2d_4a_3x3.bn.running_var", "Mixed_5b.branch_pool.conv.weight",
                "Mixed_6a.branch3x3dbl_3.conv.weight", "Mixed_6e.branch7x7dbl_5.bn.bias",
                "Mixed_7a.branch7x7x3_4.conv.weight", "Mixed_7c.branch3x3dbl_3b.conv.weight", "fc.weight", "fc.bias"):
        assert key in keys, key
    assert not any(k.startswith("AuxLogits") for k in keys)


def test_strict_loading_and_clear_errors(net, weights, env, tmp_path):
    loaded = load_inception()
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    # files converted from older PyTorch have no BatchNorm batch counters; they still load
    tensors = {k: v.contiguous() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(tensors, str(tmp_path / "old.safetensors"))
    load_inception(tmp_path / "old.safetensors")

    renamed = dict(tensors)
    renamed["Mixed_7c.branch_pool.conv.w"] = renamed.pop("Mixed_7c.branch_pool.conv.weight")
    save_file(renamed, str(tmp_path / "renamed.safetensors"))
    with pytest.raises(CheckpointError, match=r"missing 1 \(Mixed_7c.branch_pool.conv.weight\); "
                                              r"unexpected 1 \(Mixed_7c.branch_pool.conv.w\)"):
        load_inception(tmp_path / "renamed.safetensors")
    wrong = dict(tensors, **{"fc.weight": torch.zeros(1000, 2048)})
    save_file(wrong, str(tmp_path / "imagenet1000.safetensors"))
    with pytest.raises(CheckpointError, match=r"wrong shape 1 \(fc.weight\)"):
        load_inception(tmp_path / "imagenet1000.safetensors")


def test_pickles_and_missing_weights_are_refused(tmp_path, monkeypatch):
    pth = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    pth.write_bytes(b"\x80\x02not really a pickle")
    monkeypatch.setenv("GENLAB_INCEPTION", str(pth))
    with pytest.raises(GenlabError, match="never unpickles"):
        load_inception()
    with pytest.raises(GenlabError, match="never unpickles"):
        load_inception(pth)
    # torch's hub cache holding only the .pth: found, and refused with the conversion hint
    monkeypatch.delenv("GENLAB_INCEPTION")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    (tmp_path / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    pth.rename(tmp_path / "torch" / "hub" / "checkpoints" / pth.name)
    with pytest.raises(GenlabError, match=r"convert it once with safetensors.torch.save_file"):
        load_inception()
    monkeypatch.setenv("GENLAB_INCEPTION", str(tmp_path / "nowhere.safetensors"))
    with pytest.raises(GenlabError, match="not a file"):
        load_inception()


def test_output_shapes_and_grayscale_is_repeated(net):
    gray = torch.rand(2, 1, 28, 28)
    feats, logits = net(gray)
    assert feats.shape == (2, 2048) and logits.shape == (2, 1008)
    rgb = torch.cat([gray[:1].repeat(1, 3, 1, 1), torch.rand(1, 3, 28, 28)])
    f, p = net.embed(rgb)
    assert f.shape == (2, 2048) and p.shape == (2, 1008) and torch.allclose(p.sum(1), torch.ones(2))
    assert torch.allclose(f[0], feats[0], atol=1e-5)  # grayscale is the RGB image with three equal channels
    assert feats.std() > 0 and not torch.allclose(f[0], f[1], atol=1e-3)
    f32, _ = net(torch.rand(1, 3, 32, 32))
    assert f32.shape == (1, 2048)


class Replay:
    """A stand-in model whose "samples" are given images, so FID can be checked at its known values."""

    registry_name = "replay"
    device = torch.device("cpu")

    def __init__(self, images):
        self.images = images

    def eval(self):
        return self

    def capabilities(self):
        return ["sample"]

    def check_input(self, x):
        pass

    def sample(self, n):
        return self.images[:n]


def test_evaluate_uses_inception_features(env):
    g = torch.Generator().manual_seed(0)
    labelled = ImageData(torch.rand(8, 1, 28, 28, generator=g), y=torch.arange(8) % 2)
    real = labelled.spread(3).x
    same = evaluate(Replay(real), labelled, labelled, "test", ["fid", "kid"], n=3, feature_extractor="inception")
    assert same["features"]["name"] == "inception" and same["features"]["feature_dim"] == 2048
    other = evaluate(Replay(torch.zeros_like(real)), labelled, labelled, "test", ["fid"], n=3,
                     feature_extractor="inception")
    assert abs(same["metrics"]["fid"]) < 1e-3 * other["metrics"]["fid"]

    # auto: unlabelled RGB images with weights present are judged by Inception-v3
    photos = ImageData(torch.rand(6, 3, 32, 32, generator=g))
    auto = evaluate(Replay(photos.x), photos, photos, "photos", ["fid"], n=2)
    assert auto["features"]["name"] == "inception" and "fid" in auto["metrics"]


def test_auto_without_weights_and_inception_on_request(tmp_path, monkeypatch):
    monkeypatch.delenv("GENLAB_INCEPTION", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path))
    photos = ImageData(torch.rand(6, 3, 16, 16))
    result = evaluate(Replay(photos.x), photos, photos, "photos", ["fid", "pr"], n=4)
    assert set(result["not_applicable"]) == {"fid", "pr"} and "GENLAB_INCEPTION" in result["not_applicable"]["fid"]
    with pytest.raises(GenlabError, match="no Inception-v3 weights found"):
        evaluate(Replay(photos.x), photos, photos, "photos", ["fid"], n=4, feature_extractor="inception")
