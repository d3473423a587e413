"""srresnet and srgan (Ledig et al. 2017): output sizes through ``translate`` for scales 1, 2, 4; SRResNet
learning ×2 super-resolution past bicubic; SRGAN's two players and its loss L = content + λ·adversarial
with the pixel-MSE and the feature-map content (φ called, refused without φ); φ contributed by the
training callback and kept out of the weights; init_from; whole photographs for evaluation."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genlab
from genlab.data import load_spec
from genlab.errors import ConfigError, DataError
from genlab.metrics.paired import restoration_scores, upsample_baselines
from genlab.models.superres import SRGAN, SRResNetModel
from genlab.runs import create, load

pytestmark = pytest.mark.usefixtures("one_thread")

SR2 = {"spec": "mnist5k", "task": "superres:2"}
TINY = {"blocks": 1, "width": 4}
TINY_D = {"d_width": 4, "d_blocks": 2, "d_dense": 8}


@pytest.fixture(scope="module")
def pairs():
    """64 training and 32 held-out digits as ×2 pairs (14×14 in, 28×28 out), every class."""
    return load_spec(SR2, "train").spread(64), load_spec(SR2, "test").spread(32)


class CountingPhi(nn.Module):
    """A stand-in φ: one fixed convolution, counting its calls."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return torch.relu(self.conv(x))


# ---------------------------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("name", ["srresnet", "srgan"])
@pytest.mark.parametrize("scale", [1, 2, 4])
def test_translate_enlarges_by_the_scale(name, scale):
    model = create(name, image_shape=(1, 8, 8), out_channels=1, scale=scale, task=f"superres:{scale}"
                   if scale > 1 else "", seed=0, **TINY).eval()
    assert model.learns_upsampling
    for h, w in ((8, 8), (5, 7)):                     # fully convolutional: other sizes too
        x = torch.rand(2, 1, h, w)
        with torch.no_grad():
            out = model.translate(x)
            raw = model.raw(x)
        assert out.shape == (2, 1, scale * h, scale * w)
        assert out.min() >= 0 and out.max() <= 1
        # the network works in [−1, 1]: raw is its output brought back to [0, 1], translate clamps it
        with torch.no_grad():
            assert torch.allclose(raw, (model.network(2 * x - 1) + 1) / 2)
        assert torch.equal(out, raw.clamp(0, 1))


def test_scale_comes_from_the_data(pairs):
    train, _ = pairs
    model = create("srresnet", data=train, **TINY)
    assert model.config.scale == 2 and model.config.task == "superres:2" and model.network.scale == 2
    assert model.image_shape == (1, 14, 14)


def test_segmentation_and_missing_channels_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="unet") as err:
        create("srresnet", image_shape=(3, 8, 8), out_channels=4, task="segment")
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="residual_bicubic=false"):
        create("srresnet", image_shape=(1, 8, 8), out_channels=2, task="colorize")
    assert create("srresnet", image_shape=(1, 8, 8), out_channels=2, task="colorize", residual_bicubic=False, **TINY)


# -------------------------------------------------------------------------------------------- learning

def test_srresnet_learns_x2_super_resolution_past_bicubic(pairs):
    """40 Adam steps on 64 digits: held-out PSNR above bicubic's (by ≥ 0.5 dB; measured +1.0–1.2 dB over
    three seeds) and above the same network untrained."""
    train, val = pairs
    model = create("srresnet", data=train, seed=0, width=8, blocks=1)
    with torch.no_grad():
        before = restoration_scores(model.eval().translate(val.x), val.target)["psnr"]
    genlab.train(model, train, epochs=10, batch_size=16, progress=False)
    with torch.no_grad():
        after = restoration_scores(model.translate(val.x), val.target)["psnr"]
    bicubic = restoration_scores(upsample_baselines(val.x, 2)["bicubic"], val.target)["psnr"]
    assert after > bicubic + 0.5, (after, bicubic)
    assert after > before + 0.5, (after, before)


# ----------------------------------------------------------------------------------------------- srgan

def test_srgan_players_and_the_mse_loss(pairs):
    train, _ = pairs
    model = create("srgan", data=train, seed=0, content="mse", adv_weight=0.5, **TINY, **TINY_D)
    players = model.players()
    assert [p.name for p in players] == ["discriminator", "generator"]
    d_ids = {id(p) for p in model.discriminator.parameters()}
    assert {id(p) for p in players[0].parameters} == d_ids
    assert {id(p) for p in players[1].parameters} == {id(p) for p in model.network.parameters()}
    batch = train.batch(8)
    torch.manual_seed(0)
    d = model.discriminator_step(batch)
    real, fake = model.critic(batch["target"]), model.critic(model.raw(batch["x"]).detach())
    # −log D(y) − log(1 − D(G(x))) with D(·) = σ(logit)
    assert torch.allclose(d["loss"], F.softplus(-real).mean() + F.softplus(fake).mean(), atol=1e-6)
    assert 0 < float(d["d_real"]) < 1 and 0 < float(d["d_fake"]) < 1
    g = model.generator_step(batch)
    raw = model.raw(batch["x"])
    mse = ((raw - batch["target"]) ** 2).mean()
    adv = F.softplus(-model.critic(raw)).mean()
    assert torch.allclose(g["content"], mse, atol=1e-6) and torch.allclose(g["adv"], adv, atol=1e-6)
    assert torch.allclose(g["loss"], mse + 0.5 * adv, atol=1e-6)


def test_feature_content_calls_phi_and_is_refused_without_it(pairs):
    train, _ = pairs
    model = create("srgan", data=train, seed=0, content_scale=0.5, **TINY, **TINY_D)
    assert model.config.content == "features" and model.feature_network is None
    batch = train.batch(4)
    with pytest.raises(ConfigError, match="use_feature_network") as err:
        model.generator_step(batch)
    assert "\n" not in str(err.value)
    phi = CountingPhi()
    model.use_feature_network(phi)
    g = model.generator_step(batch)
    assert phi.calls == 2                                  # φ(G(x)) and φ(y)
    raw = model.raw(batch["x"])
    with torch.no_grad():
        want = F.mse_loss(0.5 * phi(raw), 0.5 * phi(batch["target"]))
    assert torch.allclose(g["content"], want, atol=1e-6)
    assert not torch.allclose(g["content"], F.mse_loss(raw, batch["target"]))
    # φ is frozen, in eval mode, and outside the module tree: not in the weights, not switched by .train()
    assert not any(p.requires_grad for p in phi.parameters()) and not phi.training
    model.train()
    assert not phi.training
    assert not any(k.startswith(("_feature_network", "conv.")) for k in model.state_dict())
    assert phi not in list(model.modules())
    g["loss"].backward()
    assert phi.conv.weight.grad is None
    assert model.network.tail.weight.grad is not None      # the gradient reaches G through φ


def test_unlabelled_data_needs_inception_or_mse(pairs):
    train, _ = pairs
    unlabelled = train.subset(range(len(train)))
    unlabelled.y = None
    model = create("srgan", data=train, **TINY, **TINY_D)
    with pytest.raises(DataError, match="feature_network=inception"):
        model.prepare(unlabelled)
    create("srgan", data=train, content="mse", **TINY, **TINY_D).prepare(unlabelled)


def test_srgan_mse_trains_into_a_run_that_loads_without_phi(pairs, tmp_path):
    train, val = pairs
    model = create("srgan", data=train, seed=0, content="mse", **TINY, **TINY_D)
    res = genlab.train(model, train, epochs=1, batch_size=16, out=tmp_path / "run", val_data=val, data_info=SR2,
                       progress=False)
    assert "train/generator_adv_epoch" in res.metrics and "train/discriminator_d_real_epoch" in res.metrics
    loaded = load(tmp_path / "run")
    assert isinstance(loaded, SRGAN) and loaded.feature_network is None
    with torch.no_grad():
        assert torch.equal(loaded.translate(val.x[:4]), model.translate(val.x[:4]))


def test_the_feature_network_is_contributed_and_kept_out_of_the_run(pairs, tmp_path, monkeypatch):
    """A features SRGAN trained with diagnostics off still gets φ (the judge of its data, cut before the last
    pooling) at fit start; the run's weights hold no φ and load without it."""
    from genlab.io import load_tensors
    from genlab.metrics import judge as judges
    from genlab.metrics.judge import Judge
    from genlab.train.callbacks import TrainingContext, contributed_callbacks
    from genlab.train.content import FeatureMap, FeatureNetwork

    train, _ = pairs
    asked = []
    torch.manual_seed(0)
    tiny = Judge((1, 28, 28), 10, width=3, feature_dim=8)

    def get_judge(spec, shape, train_if_missing=True, progress=False, overwrite=False):
        asked.append((spec, tuple(shape)))
        return tiny, {}

    monkeypatch.setattr(judges, "get_judge", get_judge)
    model = create("srgan", data=train, seed=0, **TINY, **TINY_D)
    (cb,) = contributed_callbacks(model, TrainingContext(None, train, "mnist5k", False), optional=False)
    assert isinstance(cb, FeatureNetwork)
    mse = create("srgan", data=train, content="mse", **TINY, **TINY_D)
    assert contributed_callbacks(mse, TrainingContext(None, train, "mnist5k"), optional=False) == []

    genlab.train(model, train, epochs=1, batch_size=32, out=tmp_path / "run", data_info=SR2, progress=False,
                 diagnostics=False)
    assert asked == [("mnist5k", (1, 28, 28))]             # the judge of the targets' shape
    phi = model.feature_network
    assert isinstance(phi, FeatureMap)
    with torch.no_grad():
        maps = phi(train.target[:2])
    assert maps.shape == (2, 6, 14, 14)                    # the second conv's 2·3 maps, before the last pooling
    saved = load_tensors(tmp_path / "run" / "model.safetensors")
    assert set(saved) == set(create("srgan", data=train, **TINY, **TINY_D).state_dict())
    assert load(tmp_path / "run").feature_network is None


def test_init_from_copies_the_srresnet_weights(pairs, tmp_path):
    train, _ = pairs
    sr = create("srresnet", data=train, seed=1, **TINY)
    genlab.train(sr, train, epochs=1, batch_size=32, out=tmp_path / "sr", data_info=SR2, progress=False)
    gan = create("srgan", data=train, seed=2, content="mse", init_from=str(tmp_path / "sr"), **TINY, **TINY_D)
    assert not torch.equal(gan.network.tail.weight, sr.network.tail.weight)
    gan.prepare(train)
    for (k, a), b in zip(gan.network.state_dict().items(), sr.network.state_dict().values()):
        assert torch.equal(a, b), k
    other = create("srgan", data=train, content="mse", init_from=str(tmp_path / "sr"), blocks=1, width=8, **TINY_D)
    with pytest.raises(ConfigError, match="different SRResNet") as err:
        other.prepare(train)
    assert "\n" not in str(err.value)


def test_models_are_registered_with_their_classes():
    assert isinstance(create("srresnet"), SRResNetModel) and isinstance(create("srgan"), SRGAN)
    assert create("srgan").config.adv_weight == pytest.approx(1e-3)


# ---------------------------------------------------------------------------------------- photographs

def test_photographs_are_whole_colour_images_divisible_by_8():
    from genlab.data.sources import PHOTOS_TEST, PHOTOS_TRAIN, photographs

    test = photographs("test")
    assert len(test) == len(PHOTOS_TEST) and len(photographs("train")) == len(PHOTOS_TRAIN)
    for img in test:
        assert img.dim() == 4 and img.shape[:2] == (1, 3)
        assert img.shape[-2] % 8 == 0 and img.shape[-1] % 8 == 0 and min(img.shape[-2:]) > 256
        assert img.dtype == torch.float32 and 0 <= float(img.min()) and float(img.max()) <= 1
    # rocket 427×640, coins 303×384, china and flower 427×640
    assert [tuple(t.shape[-2:]) for t in test] == [(424, 640), (296, 384), (424, 640), (424, 640)]
    coins = test[1]
    assert torch.equal(coins[:, 0], coins[:, 1])            # grey, repeated to 3 channels


def test_inception_phi_is_the_stem_and_needs_the_users_file(monkeypatch):
    """φ = Inception-v3 up to Conv2d_4a (192 maps, ~1/8 of the side; small images enlarged to ≥ 75 px);
    without the weights file the one-line error of require_inception."""
    from genlab.errors import GenlabError
    from genlab.metrics.inception import FIDInceptionV3
    from genlab.train.content import INCEPTION_MIN_SIDE, feature_network, inception_feature_map

    with torch.device("meta"):                       # shapes only: no 24M random weights drawn
        phi = inception_feature_map(FIDInceptionV3())
        grey_small = phi(torch.rand(2, 1, 32, 32))   # grey → 3 channels, 32 → 96 px (≥ 75)
        large = phi(torch.rand(1, 3, 96, 128))
    assert INCEPTION_MIN_SIDE == 75
    assert grey_small.shape == (2, 192, 20, 20) and large.shape == (1, 192, 20, 28)
    monkeypatch.setenv("GENLAB_INCEPTION", "/nonexistent/inception.safetensors")
    with pytest.raises(GenlabError, match="GENLAB_INCEPTION") as err:
        feature_network("inception", "photos", (3, 32, 32))
    assert "\n" not in str(err.value)
