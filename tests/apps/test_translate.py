"""`genlab translate / segment / superres / inpaint / colorize` end to end on tiny runs, and their
refusals (exit 2, one line on stderr, no traceback)."""
import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.errors import DataError
from tests.cli_run import run

pytestmark = pytest.mark.usefixtures("one_thread")

TASKS = {
    "inpaint": ("unet", {"spec": "mnist5k", "task": "inpaint:center:14"}),
    "segment": ("unet", {"spec": "shapes", "task": "segment"}),
    "superres": ("unet", {"spec": "mnist5k", "task": "superres:2"}),
    "colorize": ("unet", {"spec": "shapes", "task": "colorize"}),   # shapes: colour shapes on colour backgrounds
    "vae": ("ae", {"spec": "mnist5k"}),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny run per task (width 4, 1 epoch, 64 pairs), trained once for the module."""
    from genlab.data import load_spec
    from genlab.runs import create
    from genlab.train import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("translate-runs")
    out = {}
    try:
        for name, (model_name, info) in TASKS.items():
            data, val = load_spec(info, "train", limit=64), load_spec(info, "test", limit=32)
            model = create(model_name, data=data, seed=0, **({"width": 4} if model_name == "unet" else {}))
            with warnings.catch_warnings():   # one epoch on 64 images warns that the run is short
                warnings.simplefilter("ignore")
                train(model, data, epochs=1, out=root / name, val_data=val, data_info=info, progress=False)
            out[name] = root / name
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Image files of odd sizes: colour 30×22, grey 30×22, 31×22 (not divisible by 2), 3×3, 4097×4."""
    root = tmp_path_factory.mktemp("translate-files")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:22, 0:30]
    colour = np.stack([xx * 8, yy * 11, 255 - xx * 8], -1).clip(0, 255).astype(np.uint8)   # smooth colour ramps
    paths = {"colour": root / "colour.png", "grey": root / "grey.png", "odd": root / "odd.png",
             "tiny": root / "tiny.png", "huge": root / "huge.png", "noise": root / "noise.png"}
    Image.fromarray(colour).save(paths["colour"])
    Image.fromarray(colour).convert("L").save(paths["grey"])
    Image.fromarray((rng.random((22, 31)) * 255).astype(np.uint8)).save(paths["odd"])
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(paths["tiny"])
    Image.fromarray(np.zeros((4, 4097), np.uint8)).save(paths["huge"])
    Image.fromarray((rng.random((22, 30, 3)) * 255).astype(np.uint8)).save(paths["noise"])
    return paths


def refused(capsys, *argv, words=()):
    code, out, err = run(capsys, *argv)
    lines = [line for line in err.strip().splitlines() if not line.startswith("genlab: warning:")]
    assert code == 2, (code, out, err)
    assert len(lines) == 1 and lines[0].startswith("genlab: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.array(im)


# ------------------------------------------------------------------------------------------ translate

def test_translate_held_out_pairs_scores_the_hole(capsys, runs):
    from genlab.apps.translate import translate_image
    from genlab.data import load_spec
    from genlab.metrics.paired import masked_psnr
    from genlab.runs import load

    code, out, err = run(capsys, "translate", runs["inpaint"], "--n", 4, "--n-eval", 20)
    assert code == 0, err
    assert "hole PSNR" in out
    folder = runs["inpaint"] / "translate"
    f = json.loads((folder / "translate.json").read_text())
    assert f["n"] == 20 and f["task"] == "inpaint:center:14" and f["data"] == "mnist5k"
    # the figure is the masked PSNR of the model's completions of the run's own held-out pairs
    model = load(runs["inpaint"])
    data = load_spec(model.run_info["data"], "test").spread(20)
    expect = masked_psnr(translate_image(model, data.x), data.target, data.mask)
    assert f["scores"]["hole_psnr"] == pytest.approx(expect, rel=1e-5)
    assert f["scores"]["hole_psnr"] < f["scores"]["psnr"]   # the known pixels are copied, the hole is guessed
    # three rows (input / output / target) of 4 images
    with Image.open(folder / "translate.png") as im:
        w, h = im.size
    assert 1.0 < w / h < 2.0   # 4 columns over 3 rows, plus the row labels' margin


def test_translate_segmentation_writes_mask_scores(capsys, runs):
    code, out, err = run(capsys, "translate", runs["segment"], "--n", 3, "--n-eval", 10)
    assert code == 0, err
    f = json.loads((runs["segment"] / "translate" / "translate.json").read_text())
    s = f["scores"]
    assert s["classes"] == ["background", "circle", "square", "triangle"]
    assert 0 <= s["mean_iou"] <= s["dice"] <= 1 and 0 <= s["pixel_accuracy"] <= 1   # Dice ≥ IoU per class
    assert "mean IoU" in out


def test_translate_other_data_gets_the_runs_task_and_a_baseline(capsys, runs, tmp_path):
    code, out, err = run(capsys, "translate", runs["superres"], "--data", "digits", "--n-eval", 12, "--out", tmp_path)
    assert code == 0, err
    f = json.loads((tmp_path / "translate.json").read_text())
    assert f["data"] == "digits" and f["task"] == "superres:2" and f["n"] == 12
    assert f["scores"]["baseline"]["name"] == "bicubic"
    assert "bicubic" in out


def test_translate_file_superres_is_twice_the_file(capsys, runs, files, tmp_path):
    out = tmp_path / "sr.png"
    code, stdout, err = run(capsys, "translate", runs["superres"], "--image", files["grey"], "--out", out)
    assert code == 0, err
    assert pixels(tmp_path / "sr-output.png").shape == (44, 60)   # 30×22 read at its own size, ×2
    assert "30×22 → 60×44" in stdout
    assert out.is_file()


def test_translate_degrade_crops_to_the_factor_and_compares(capsys, runs, files, tmp_path):
    from genlab.apps.translate import translate_file
    from genlab.runs import load

    model = load(runs["superres"])
    f = translate_file(model, files["odd"], tmp_path / "odd.png", degrade=True)
    assert f["cropped_to"] == [22, 30] and f["input_size"] == [11, 15] and f["output_size"] == [22, 30]
    assert f["scores"]["baseline"]["name"] == "bicubic" and "psnr" in f["scores"]
    assert pixels(tmp_path / "odd-output.png").shape == (22, 30)
    # input | output | target in one row: about three times as wide as tall
    with Image.open(tmp_path / "odd.png") as im:
        assert im.size[0] > 2.5 * (im.size[1] - 30)


def test_translate_colorize_file_writes_rgb(capsys, runs, files, tmp_path):
    code, _, err = run(capsys, "translate", runs["colorize"], "--image", files["grey"], "--out", tmp_path / "c.png")
    assert code == 0, err
    out = pixels(tmp_path / "c-output.png")
    assert out.shape == (22, 30, 3)
    refused(capsys, "translate", runs["colorize"], "--image", files["grey"], "--degrade", "--out",
            tmp_path / "d.png", words=("grey",))


def test_translate_image_is_batched_eval_and_restores_training(runs):
    from genlab.apps.translate import translate_image
    from genlab.runs import load

    model = load(runs["superres"])
    model.train()
    x = torch.rand(5, 1, 12, 10)
    y = translate_image(model, x, batch_size=2)
    assert y.shape == (5, 1, 24, 20) and not y.requires_grad
    assert model.training   # eval only for the call
    model.eval()
    with torch.no_grad():
        assert torch.allclose(y, model.translate(x), atol=1e-5)
    with pytest.raises(DataError, match="1-channel"):
        translate_image(model, torch.rand(1, 3, 12, 10))


def test_translate_refusals(capsys, runs, files, tmp_path):
    refused(capsys, "translate", runs["vae"], words=("cannot translate",))
    refused(capsys, "translate", runs["inpaint"], "--image", files["grey"], words=("genlab inpaint",))
    refused(capsys, "translate", runs["segment"], "--image", files["colour"], "--degrade", words=("mask",))
    refused(capsys, "translate", runs["superres"], "--image", files["tiny"], words=("3×3",))
    refused(capsys, "translate", runs["superres"], "--image", files["huge"], words=("4097×4", "4096"))
    refused(capsys, "translate", runs["superres"], "--degrade", words=("--image",))


def test_read_file_refuses_channels_an_image_file_cannot_give(files):
    from genlab.apps.translate import read_file

    with pytest.raises(DataError, match="1 \\(grey\\) or 3"):
        read_file(files["colour"], 2)
    x, colour = read_file(files["colour"], 1)
    assert x.shape == (1, 1, 22, 30) and colour
    assert not read_file(files["grey"], 3)[1]


# ------------------------------------------------------------------------------------------ segment

def test_segment_writes_overlay_and_index_mask(capsys, runs, files, tmp_path):
    from genlab.apps.translate import read_file, segment_image
    from genlab.data.tasks import PALETTE
    from genlab.runs import load

    out = tmp_path / "seg.png"
    code, stdout, err = run(capsys, "segment", runs["segment"], "--image", files["noise"], "--out", out, "--alpha", 1)
    assert code == 0, err
    mask = pixels(tmp_path / "seg-mask.png")
    assert mask.shape == (22, 30) and mask.dtype == np.uint8
    model = load(runs["segment"])
    x, _ = read_file(files["noise"], 3)
    expect = segment_image(model, x)[0].numpy()
    assert (mask == expect).all()   # grey level = class index
    assert set(np.unique(mask)) <= {0, 1, 2, 3}
    # alpha 1: class pixels take the palette colour, background pixels keep the image's
    overlay, image = pixels(out).astype(int), pixels(files["noise"]).astype(int)
    palette = (PALETTE.numpy() * 255 + 0.5).astype(int)
    assert (overlay[mask == 0] == image[mask == 0]).all()
    assert (overlay[mask > 0] == palette[mask[mask > 0]]).all()
    shares = [float(s.split()[-1].rstrip("%")) for s in stdout.splitlines()[0].split(": ", 1)[1].split(", ")]
    assert sum(shares) == pytest.approx(100, abs=0.3) and "background" in stdout and "triangle" in stdout


def test_segment_refusals(capsys, runs, files, tmp_path):
    refused(capsys, "segment", runs["inpaint"], "--image", files["colour"], words=("cannot segment",))
    refused(capsys, "segment", runs["vae"], "--image", files["colour"], words=("cannot segment",))
    existing = tmp_path / "taken.png"
    existing.write_bytes(b"mine")
    refused(capsys, "segment", runs["segment"], "--image", files["colour"], "--out", existing,
            words=("--overwrite",))
    assert existing.read_bytes() == b"mine"
    # the mask file written beside --out is protected too
    (tmp_path / "new-mask.png").write_bytes(b"mine")
    refused(capsys, "segment", runs["segment"], "--image", files["colour"], "--out", tmp_path / "new.png",
            words=("new-mask.png",))
    assert not (tmp_path / "new.png").exists()
    code, _, err = run(capsys, "segment", runs["segment"], "--image", files["colour"], "--out", existing, "--overwrite")
    assert code == 0, err
    assert pixels(existing).shape == (22, 30, 3)


# ------------------------------------------------------------------------------------------ superres

def test_superres_scales_by_powers_of_the_model_factor(capsys, runs, files, tmp_path):
    code, out, err = run(capsys, "superres", runs["superres"], "--image", files["grey"], "--scale", 4,
                         "--out", tmp_path / "x4.png")
    assert code == 0, err
    assert pixels(tmp_path / "x4.png").shape == (88, 120)
    assert pixels(tmp_path / "x4-bicubic.png").shape == (88, 120)
    assert "2 passes" in out
    code, _, err = run(capsys, "superres", runs["superres"], "--image", files["grey"])
    assert code == 0, err
    assert pixels(runs["superres"] / "superres" / "grey.png").shape == (44, 60)   # default: the model's ×2


def test_superres_refusals(capsys, runs, files):
    refused(capsys, "superres", runs["superres"], "--image", files["grey"], "--scale", 3, words=("×2",))
    refused(capsys, "superres", runs["segment"], "--image", files["grey"], words=("segment", "superres"))
    refused(capsys, "superres", runs["vae"], "--image", files["grey"], words=("cannot translate",))


# ------------------------------------------------------------------------------------------ inpaint

def test_inpaint_box_keeps_the_pixels_outside(capsys, runs, files, tmp_path):
    code, out, err = run(capsys, "inpaint", runs["inpaint"], "--image", files["grey"], "--box", "4,3,10,8",
                         "--out", tmp_path / "fill.png")
    assert code == 0, err
    done, image = pixels(tmp_path / "fill-completed.png"), pixels(files["grey"])
    assert done.shape == image.shape == (22, 30)
    inside = np.zeros_like(image, bool)
    inside[3:11, 4:14] = True
    assert (done[~inside] == image[~inside]).all()
    assert (done[inside] != image[inside]).any()   # the hole was zeroed and filled by the network
    assert "filled 80 pixels" in out


def test_inpaint_mask_file(capsys, runs, files, tmp_path):
    m = np.zeros((22, 30), np.uint8)
    m[5:9, 20:26] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    code, _, err = run(capsys, "inpaint", runs["inpaint"], "--image", files["grey"], "--mask", tmp_path / "m.png",
                       "--out", tmp_path / "fill.png")
    assert code == 0, err
    done, image = pixels(tmp_path / "fill-completed.png"), pixels(files["grey"])
    assert (done[m == 0] == image[m == 0]).all()


def test_inpaint_refusals(capsys, runs, files, tmp_path):
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(tmp_path / "small.png")
    refused(capsys, "inpaint", runs["inpaint"], "--image", files["grey"], "--mask", tmp_path / "small.png",
            words=("10×10", "30×22"))
    refused(capsys, "inpaint", runs["inpaint"], "--image", files["grey"], "--box", "25,3,10,8", words=("30×22",))
    refused(capsys, "inpaint", runs["inpaint"], "--image", files["grey"], "--box", "4,3,0,8", words=("empty",))
    refused(capsys, "inpaint", runs["superres"], "--image", files["grey"], "--box", "4,3,5,5",
            words=("superres:2", "inpaint"))


# ------------------------------------------------------------------------------------------ colorize

def test_colorize_grey_and_colour_files(capsys, runs, files, tmp_path):
    from genlab.data.tasks import rgb_to_lab

    code, out, err = run(capsys, "colorize", runs["colorize"], "--image", files["grey"], "--out", tmp_path / "g.png")
    assert code == 0, err
    rgb = pixels(tmp_path / "g-colorized.png")
    assert rgb.shape == (22, 30, 3)
    code, out, err = run(capsys, "colorize", runs["colorize"], "--image", files["colour"], "--out", tmp_path / "c.png")
    assert code == 0, err
    assert "PSNR" in out and "dB" in out
    # grey | colorized | original: three cells in the row, wider than for the grey file's two
    with Image.open(tmp_path / "c.png") as three, Image.open(tmp_path / "g.png") as two:
        assert three.size[0] > two.size[0]
    # the colour comes from the model, the lightness from the file (up to gamut clipping and 8 bits)
    L_out = rgb_to_lab(torch.from_numpy(pixels(tmp_path / "c-colorized.png")).permute(2, 0, 1)[None].float() / 255)[0]
    L_in = rgb_to_lab(torch.from_numpy(pixels(files["colour"])).permute(2, 0, 1)[None].float() / 255)[0]
    assert (L_out - L_in).abs().mean() < 0.08


def test_colorize_refuses_other_tasks(capsys, runs, files):
    refused(capsys, "colorize", runs["segment"], "--image", files["colour"], words=("segment", "colorize"))
