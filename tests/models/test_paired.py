"""The image-to-image family: unet, pix2pix, context-encoder (genlab.models.paired)."""
import json

import pytest
import torch
import torch.nn.functional as F

from genlab.data import ImageData, load_spec, make_pairs
from genlab.errors import CapabilityError, ConfigError, DataError
from genlab.models.paired import min_side, segmentation_loss, soft_dice
from genlab.nn.unet import receptive_field
from genlab.runs import create, load
from genlab.train import train
from tests.cli_run import run


def _digits(n=32, size=16):
    torch.manual_seed(0)
    x = F.avg_pool2d(torch.rand(n, 1, size * 2, size * 2), 2)
    return ImageData(x.clamp(0, 1), torch.arange(n) % 4, name="noise")


@pytest.mark.parametrize("task,channels", [("denoise:gaussian:0.3", 1), ("superres:2", 1), ("inpaint:center:4", 1),
                                           ("deblur:gaussian:1", 1)])
@pytest.mark.parametrize("size", [16, 13])
def test_unet_outputs_the_targets_shape_on_odd_and_even_sizes(task, channels, size):
    if task.startswith("superres") and size % 2:
        size += 1
    pairs = make_pairs(_digits(8, size), task)
    model = create("unet", data=pairs, seed=0, width=4)
    assert model.config.task == task and model.config.out_channels == channels
    with torch.no_grad():
        out = model.eval().translate(pairs.x)
    assert out.shape == pairs.target.shape
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_config_takes_task_scale_and_channels_from_the_pairs():
    pairs = make_pairs(_digits(4, 16), "superres:4")
    model = create("unet", data=pairs, width=4)
    assert (model.config.scale, model.config.image_shape) == (4, (1, 4, 4))
    seg = load_spec({"spec": "shapes", "task": "segment"}, "test", limit=4)
    model = create("unet", data=seg, width=4)
    assert model.config.out_channels == 4
    assert model.config.mask_classes == ("background", "circle", "square", "triangle")
    assert model.capabilities() == ["translate", "segment"]
    inpaint = make_pairs(_digits(4, 16), "inpaint:center:4")
    assert create("unet", data=inpaint, width=4).config.image_shape[0] == 2    # image + mask channel


def test_unpaired_data_is_refused_in_one_line_and_pairs_by_other_models():
    with pytest.raises(DataError, match="--task"):
        create("unet", data=_digits(4))
    with pytest.raises(DataError, match="learns from images alone.*--task superres:2"):
        create("vae", data=make_pairs(_digits(4, 16), "superres:2"))


def test_inpainting_output_keeps_the_known_pixels():
    pairs = make_pairs(_digits(4, 16), "inpaint:center:6")
    model = create("unet", data=pairs, seed=0, width=4).eval()
    with torch.no_grad():
        out = model.translate(pairs.x)
    known = pairs.mask[:, None] == 0
    assert torch.equal(out[known], pairs.target[known])
    assert not torch.equal(out[~known], pairs.target[~known])


def test_skip_connections_change_the_output_and_the_network():
    pairs = make_pairs(_digits(4, 16), "denoise:gaussian:0.3")
    a = create("unet", data=pairs, seed=0, width=4)
    b = create("unet", data=pairs, seed=0, width=4, skip=False)
    assert sum(p.numel() for p in a.parameters()) > sum(p.numel() for p in b.parameters())
    with torch.no_grad():
        assert not torch.allclose(a.eval().translate(pairs.x), b.eval().translate(pairs.x))


def test_a_segmentation_model_segments_and_an_image_model_refuses():
    seg = load_spec({"spec": "shapes", "task": "segment"}, "test", limit=4)
    model = create("unet", data=seg, width=4).eval()
    with torch.no_grad():
        mask = model.segment(seg.x)
        probs = model.translate(seg.x)
    assert mask.shape == seg.target.shape and mask.dtype == torch.long
    assert torch.allclose(probs.sum(1), torch.ones(1))
    image = create("unet", data=make_pairs(_digits(4, 16), "superres:2"), width=4)
    with pytest.raises(CapabilityError, match="cannot segment.*--task segment"):
        image.require("segment")
    with pytest.raises(CapabilityError, match="cannot sample.*translate"):
        image.require("sample")


def test_soft_dice_and_segmentation_loss_formulas():
    target = torch.tensor([[[0, 1], [1, 1]]])
    perfect = F.one_hot(target, 2).permute(0, 3, 1, 2).float()
    assert float(soft_dice(perfect, target)) == pytest.approx(1.0)
    # uniform probabilities: class 0 has Σp = 2, one pixel → 2·0.5/(2 + 1); class 1 2·1.5/(2 + 3)
    uniform = torch.full((1, 2, 2, 2), 0.5)
    assert float(soft_dice(uniform, target)) == pytest.approx((1 / 3 + 3 / 5) / 2)
    logits = torch.zeros(1, 2, 2, 2)
    assert float(segmentation_loss(logits, target, 0.0)) == pytest.approx(float(torch.log(torch.tensor(2.0))))
    assert float(segmentation_loss(logits, target, 1.0)) == pytest.approx(
        float(torch.log(torch.tensor(2.0))) + 1 - (1 / 3 + 3 / 5) / 2)


def test_residual_unet_starts_near_its_input_and_refuses_inpainting():
    pairs = make_pairs(_digits(4, 16), "deblur:gaussian:1.5")
    model = create("unet", data=pairs, width=4, residual=True)
    with torch.no_grad():
        for p in model.network.head.parameters():
            p.zero_()
        assert torch.allclose(model.eval().translate(pairs.x), pairs.x, atol=1e-6)
    with pytest.raises(ConfigError, match="residual"):
        create("unet", data=make_pairs(_digits(4, 16), "inpaint:center:4"), residual=True)


def test_unet_learns_ct_better_than_filtered_back_projection():
    info = {"spec": "mnist5k", "task": "ct:8"}
    data, val = load_spec(info, "train", limit=400), load_spec(info, "test", limit=100)
    model = create("unet", data=data, seed=0, width=8, depth=2, residual=True)
    train(model, data, epochs=3, batch_size=16, progress=False, seed=0)
    with torch.no_grad():
        out = model.eval().translate(val.x)
    assert F.mse_loss(out, val.target) < 0.6 * F.mse_loss(val.x, val.target)


def test_unet_segments_shapes_better_than_background_everywhere():
    info = {"spec": "shapes", "task": "segment"}
    data, val = load_spec(info, "train", limit=256), load_spec(info, "test", limit=64)
    model = create("unet", data=data, seed=0, width=8, depth=2)
    train(model, data, epochs=3, batch_size=16, progress=False, seed=0)
    with torch.no_grad():
        pred = model.eval().segment(val.x)
    background = float((val.target == 0).float().mean())
    shape_pixels = val.target > 0
    assert float((pred == val.target).float().mean()) > background + 0.02
    assert float((pred[shape_pixels] > 0).float().mean()) > 0.5   # the shapes are found, not only the background


# ----------------------------------------------------------------------------------------- pix2pix

@pytest.mark.parametrize("patch,layers", [(1, 0), (16, 1), (34, 2), (70, 3), (286, 5)])
def test_pix2pix_patch_sets_the_discriminators_receptive_field(patch, layers):
    pairs = make_pairs(_digits(2, 16), "edges")
    model = create("pix2pix", data=pairs, width=4, d_width=4, patch=patch)
    assert model.discriminator.layers == layers
    assert model.discriminator.receptive_field == receptive_field(layers) == patch
    logits = model.critic(pairs.x, pairs.target)      # small images are padded up to what D can read
    assert logits.shape[1] == 1 and logits.shape[-1] >= 1
    assert min_side(layers) <= max(16, min_side(layers))


def test_pix2pix_refuses_a_patch_without_a_preset():
    with pytest.raises(ConfigError, match="70"):
        create("pix2pix", data=make_pairs(_digits(2, 16), "edges"), patch=50)


def test_pix2pix_players_and_losses():
    pairs = make_pairs(_digits(8, 16), "edges")
    model = create("pix2pix", data=pairs, width=4, d_width=4)
    players = model.players()
    assert [p.name for p in players] == ["discriminator", "generator"]
    batch = pairs.batch()
    d = model.discriminator_step(batch)
    assert {"loss", "d_real", "d_fake"} <= set(d)
    with torch.no_grad():
        g = model.generator_step(batch)
    # G's loss is λ·ℓ1 + the adversarial term, λ = 100
    assert float(g["loss"]) == pytest.approx(100 * float(g["recon"]) + float(g["adv"]), rel=1e-4)
    l1 = create("pix2pix", data=pairs, width=4, gan_loss="none")
    assert l1.discriminator is None and [p.name for p in l1.players()] == ["generator"]
    with pytest.raises(ConfigError, match="nothing to learn"):
        create("pix2pix", data=pairs, gan_loss="none", recon_weight=0)


def test_pix2pix_dropout_stays_on_at_test_time_unless_deterministic():
    pairs = make_pairs(_digits(4, 16), "edges")
    noisy = create("pix2pix", data=pairs, seed=0, width=4, d_width=4).eval()
    with torch.no_grad():
        assert not torch.allclose(noisy.translate(pairs.x), noisy.translate(pairs.x))
    fixed = create("pix2pix", data=pairs, seed=0, width=4, d_width=4, stochastic=False).eval()
    with torch.no_grad():
        assert torch.allclose(fixed.translate(pairs.x), fixed.translate(pairs.x))


def test_context_encoder_scores_the_hole_only_and_needs_an_inpainting_task():
    pairs = make_pairs(_digits(8, 16), "inpaint:center:6")
    model = create("context-encoder", data=pairs, width=4, d_width=4)
    assert model.config.recon_on == "hole" and not model.config.d_condition
    batch = pairs.batch()
    raw = model.raw(batch["x"]).detach()
    changed = raw.clone()
    outside = batch["mask"][:, None].expand_as(raw) == 0
    changed[outside] = 1 - changed[outside]
    a = model.reconstruction(raw, batch, "l2", "hole")
    b = model.reconstruction(changed, batch, "l2", "hole")
    assert float(a) == pytest.approx(float(b))
    with pytest.raises(ConfigError, match="inpaint"):
        create("context-encoder", data=make_pairs(_digits(4, 16), "edges"))


def test_pix2pix_trains_into_a_run_folder_that_loads(tmp_path):
    info = {"spec": "mnist5k", "task": "edges"}
    data, val = load_spec(info, "train", limit=32), load_spec(info, "test", limit=16)
    model = create("pix2pix", data=data, seed=0, width=4, d_width=4)
    train(model, data, epochs=1, out=tmp_path / "run", val_data=val, data_info=info, progress=False)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["task"] == "edges" and config["config"]["task"] == "edges"
    loaded = load(tmp_path / "run")
    assert loaded.can("translate") and (tmp_path / "run" / "samples").is_dir()


# ----------------------------------------------------------------------------------------- the CLI

def test_train_task_on_the_command_line_and_resume_keeps_it(tmp_path, capsys):
    out = tmp_path / "seg"
    code, text, err = run(capsys, "train", "unet", "--data", "shapes", "--task", "segment", "--epochs", "1",
                          "--set", "width=4", "--batch-size", "64", "--out", str(out), "--no-report", "--no-progress")
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["data"]["task"] == "segment"
    code, _, err = run(capsys, "train", "--resume", str(out), "--task", "edges", "--epochs", "2")
    assert code == 2 and "--task edges differs" in err and "Traceback" not in err
    code, _, err = run(capsys, "train", "unet", "--data", "mnist5k", "--task", "superres:3", "--out", str(tmp_path / "x"))
    assert code == 2 and "superres:2" in err
    code, _, err = run(capsys, "train", "vae", "--data", "mnist5k", "--task", "superres:2", "--out", str(tmp_path / "v"))
    assert code == 2 and "learns from images alone" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "v").exists()
