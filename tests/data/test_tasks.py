"""Paired tasks: each task's pairs have the shapes and values its formula says."""
import math

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import TASKS, ImageData, lab_to_rgb, load_data, make_pairs, parse_task, phantom
from genlab.data.tasks import (_fbp_operator, canny_edges, downsample, fbp, gaussian_blur, motion_blur, rgb_to_lab,
                               sinograms, sparse_view_fbp)
from genlab.errors import ConfigError, DataError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    d = load_data("mnist5k", "test")
    return d.subset(range(0, 1000, 5))   # 200 digits, 20 per class


@pytest.fixture(scope="module")
def shapes():
    return load_data("shapes", "test").subset(range(100))


def psnr(a, b):
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# --- specs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["segment", "denoise:gaussian:0.3", "denoise:saltpepper:0.2", "deblur:gaussian:1.5",
                                  "deblur:motion:5", "inpaint:center:14", "inpaint:random:0.5", "superres:2",
                                  "superres:4", "colorize", "edges", "edges:2", "ct:30", "paired"])
def test_specs_read_back_as_written(spec):
    assert str(parse_task(spec)) == spec
    assert parse_task(spec.upper()) == parse_task(spec)


@pytest.mark.parametrize("spec, words", [
    ("segmnt", "did you mean 'segment'"), ("denoise", "denoise:gaussian:0.3"), ("denoise:gaussian:0", "above 0"),
    ("deblur:box:3", "deblur:motion:5"), ("deblur:gaussian:0", "above 0"), ("deblur:motion:2.5", "whole number"),
    ("inpaint:center:0", "≥ 1"), ("inpaint:random:1.5", "between 0 and 1"), ("inpaint:random:x", "not a number"),
    ("superres:3", "superres:2, superres:4"), ("superres", "superres:4"), ("ct:0", "at least 1 view"),
    ("colorize:1", "no parameters"), ("edges:-1", "≥ 0"),
])
def test_bad_specs_say_what_to_write(spec, words):
    with pytest.raises(ConfigError) as exc:
        parse_task(spec)
    assert words in one_line(exc)


def test_every_task_is_listed_once():
    listed = {key.split(":")[0] for key in TASKS}
    assert listed == {"segment", "denoise", "deblur", "inpaint", "superres", "colorize", "edges", "ct", "paired"}
    assert all(isinstance(v, str) and "\n" not in v for v in TASKS.values())


def test_labels_and_meta_travel_and_the_source_is_untouched(digits):
    before = digits.x.clone()
    p = make_pairs(digits, "denoise:gaussian:0.3")
    assert torch.equal(digits.x, before) and digits.target is None
    assert torch.equal(p.y, digits.y) and p.classes == digits.classes and p.meta["task"] == "denoise:gaussian:0.3"
    assert torch.equal(p.target, digits.x)
    batch = p.batch(4)
    assert batch["x"].shape == batch["target"].shape == (4, 1, 28, 28)


# --- segmentation -------------------------------------------------------------------------------

def test_segment_targets_the_mask(shapes):
    p = make_pairs(shapes, "segment")
    assert torch.equal(p.x, shapes.x) and p.target.dtype == torch.long and torch.equal(p.target, shapes.mask)
    assert p.meta["mask_classes"] == ["background", "circle", "square", "triangle"]


def test_segment_refuses_data_without_masks(digits):
    with pytest.raises(DataError) as exc:
        make_pairs(digits, "segment")
    assert "no segmentation masks" in one_line(exc) and "shapes" in str(exc.value)


def test_segment_reads_grey_mask_pngs_of_paired_folders(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(5):
        m = np.zeros((8, 10), np.uint8)
        m[2:5, 3:7] = 1 + i % 2   # classes 1 and 2
        rgb = (np.random.default_rng(i).random((8, 10, 3)) * 255).astype(np.uint8)
        Image.fromarray(rgb).save(tmp_path / "img" / f"{i}.png")
        Image.fromarray(m, "L").save(tmp_path / "masks" / f"{i}.png")
    data = load_data(f"paired:{tmp_path / 'img'},{tmp_path / 'masks'}", "all")
    p = make_pairs(data, "segment")
    assert p.x.shape == (5, 3, 8, 10) and p.target.dtype == torch.long and p.target.shape == (5, 8, 10)
    assert p.target.flatten(1).sum(1).tolist() == [12, 24, 12, 24, 12]
    assert p.meta["mask_classes"] == ["background", "1", "2"]
    blurred = load_data(f"paired:{tmp_path / 'img'},{tmp_path / 'masks'}", "all", image_size=5)
    with pytest.raises(DataError) as exc:
        make_pairs(blurred, "segment")
    assert "resized by --image-size" in one_line(exc)
    fractional = ImageData(data.x, target=data.target * 0.5, name="halved")
    with pytest.raises(DataError) as exc:
        make_pairs(fractional, "segment")
    assert "not whole class indices" in one_line(exc)
    swapped = load_data(f"paired:{tmp_path / 'masks'},{tmp_path / 'img'}", "all")
    with pytest.raises(DataError) as exc:
        make_pairs(swapped, "segment")
    assert "3 channels" in one_line(exc)


# --- denoising and deblurring -------------------------------------------------------------------

def test_denoise_adds_gaussian_noise_of_sigma_and_is_seeded():
    flat = ImageData(torch.full((50, 1, 32, 32), 0.5), name="grey")
    p = make_pairs(flat, "denoise:gaussian:0.1", seed=3)
    assert torch.equal(p.target, flat.x)
    assert abs(float((p.x - 0.5).std()) - 0.1) < 0.003 and abs(float((p.x - 0.5).mean())) < 0.003
    assert torch.equal(make_pairs(flat, "denoise:gaussian:0.1", seed=3).x, p.x)
    assert not torch.equal(make_pairs(flat, "denoise:gaussian:0.1", seed=4).x, p.x)


@pytest.mark.parametrize("spec", ["deblur:gaussian:1.5", "deblur:gaussian:20", "deblur:motion:4", "deblur:motion:7"])
def test_deblur_of_a_constant_image_is_unchanged(spec):
    flat = ImageData(torch.full((2, 3, 12, 16), 0.3))
    p = make_pairs(flat, spec)
    assert p.x.shape == flat.x.shape and torch.allclose(p.x, flat.x, atol=1e-6)


def test_gaussian_blur_of_an_impulse_is_the_separable_gaussian():
    x = torch.zeros(1, 1, 25, 25)
    x[0, 0, 12, 12] = 1
    sigma = 1.5
    y = gaussian_blur(x, sigma)[0, 0]
    r = math.ceil(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    g = torch.exp(-t ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    expected = torch.zeros(25, 25, dtype=torch.float64)
    expected[12 - r:13 + r, 12 - r:13 + r] = torch.outer(g, g)
    assert torch.allclose(y.double(), expected, atol=1e-6)
    # at the borders too: scipy's Gaussian with mirror padding (torch's "reflect") and radius 3σ
    from scipy.ndimage import gaussian_filter

    img = torch.rand(2, 1, 14, 17, generator=torch.Generator().manual_seed(0))
    ref = gaussian_filter(img.double().numpy(), sigma=(0, 0, sigma, sigma), mode="mirror", truncate=3.0)
    assert np.allclose(gaussian_blur(img, sigma).numpy(), ref, atol=1e-6)


def test_motion_blur_is_a_horizontal_box_of_length_l():
    x = torch.zeros(1, 1, 9, 15)
    x[0, 0, 4, 7] = 1
    for length in (4, 5):
        y = motion_blur(x, length)[0, 0]
        assert torch.allclose(y.sum(1), torch.tensor([0, 0, 0, 0, 1.0, 0, 0, 0, 0]))   # rows only
        row = y[4]
        assert int((row > 0).sum()) == length and torch.allclose(row[row > 0], torch.full((length,), 1 / length))
    with pytest.raises(DataError) as exc:
        motion_blur(x, 16)
    assert "L ≤ 15" in one_line(exc)


# --- inpainting ---------------------------------------------------------------------------------

@pytest.mark.parametrize("size, hole", [(28, 14), (28, 7), (27, 10)])
def test_center_hole_has_area_s_squared_and_is_in_the_input(size, hole):
    x = torch.rand(5, 3, size, size)
    p = make_pairs(ImageData(x), f"inpaint:center:{hole}")
    assert p.x.shape == (5, 4, size, size) and torch.equal(p.target, x)
    m = p.mask
    assert m.dtype == torch.long and m.shape == (5, size, size)
    assert m.flatten(1).sum(1).tolist() == [hole * hole] * 5
    rows, cols = torch.nonzero(m[0], as_tuple=True)
    top, left = int(rows.min()), int(cols.min())
    assert (top, left) == ((size - hole) // 2, (size - hole) // 2)
    assert torch.equal(p.x[:, 3], m.float())                         # the mask channel
    assert torch.all(p.x[:, :3][m[:, None].expand(-1, 3, -1, -1).bool()] == 0)   # the hole is filled 0
    keep = ~m.bool()[:, None].expand(-1, 3, -1, -1)
    assert torch.equal(p.x[:, :3][keep], x[keep])
    with pytest.raises(DataError) as exc:
        make_pairs(ImageData(x), f"inpaint:center:{size + 1}")
    assert f"S ≤ {size}" in one_line(exc)


def test_random_holes_have_rate_p_and_cover_all_channels():
    x = torch.rand(200, 3, 28, 28)
    p = make_pairs(ImageData(x), "inpaint:random:0.3", seed=1)
    assert abs(float(p.mask.float().mean()) - 0.3) < 0.005
    hole = p.mask.bool()[:, None].expand(-1, 3, -1, -1)
    assert torch.all(p.x[:, :3][hole] == 0) and torch.equal(p.x[:, :3][~hole], x[~hole])
    assert torch.equal(make_pairs(ImageData(x), "inpaint:random:0.3", seed=1).mask, p.mask)


# --- super-resolution ---------------------------------------------------------------------------

@pytest.mark.parametrize("factor", [2, 4])
def test_superres_downsamples_by_f_with_antialiased_bicubic(factor, digits):
    p = make_pairs(digits, f"superres:{factor}")
    assert p.x.shape == (len(digits), 1, 28 // factor, 28 // factor) and torch.equal(p.target, digits.x)
    assert p.meta["scale"] == factor
    flat = torch.full((2, 3, 16, 16), 0.7)
    assert torch.allclose(downsample(flat, factor), torch.full((2, 3, 16 // factor, 16 // factor), 0.7), atol=1e-6)
    # Pillow's bicubic reduction (the antialiased reference) gives the same pixels
    img = torch.rand(32, 32, generator=torch.Generator().manual_seed(0))
    ref = Image.fromarray(img.numpy(), mode="F").resize((32 // factor, 32 // factor), Image.BICUBIC)
    assert np.allclose(downsample(img[None, None], factor)[0, 0].numpy(), np.clip(np.asarray(ref), 0, 1), atol=1e-5)


def test_superres_refuses_sizes_not_divisible_and_names_the_size_that_works(digits):
    with pytest.raises(DataError) as exc:
        make_pairs(digits, "superres:8")
    assert "--image-size 24 or 32" in one_line(exc)


# --- colorization -------------------------------------------------------------------------------

def test_lab_round_trip_and_scaling():
    photos = load_data("photos", "test").subset(range(0, 400, 20))
    colour = torch.rand(30, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for x in (photos.x, colour):
        p = make_pairs(ImageData(x), "colorize")
        assert p.x.shape == (len(x), 1, 16 if x is colour else 32, 16 if x is colour else 32)
        assert p.target.shape[1] == 2 and 0 <= float(p.target.min()) and float(p.target.max()) <= 1
        assert float((lab_to_rgb(p.x, p.target) - x).abs().max()) < 1e-3
    # scaling: L = 100·input; grey pixels have ab = 0, i.e. target 0.5; white has L = 100
    L, ab = rgb_to_lab(torch.tensor([0.0, 0.5, 1.0]).view(3, 1, 1, 1).expand(3, 3, 1, 1))
    assert torch.allclose(ab, torch.full_like(ab, 0.5), atol=1e-4)
    assert torch.allclose(L.flatten(), torch.tensor([0.0, 0.53389, 1.0]), atol=1e-4)   # CIE L* of mid-grey 53.39
    red = rgb_to_lab(torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1))[1].flatten() * 256 - 128
    assert torch.allclose(red, torch.tensor([80.09, 67.20]), atol=0.02)   # CIE a*, b* of sRGB red (D65)


def test_colorize_refuses_grey_data(digits):
    with pytest.raises(DataError) as exc:
        make_pairs(digits, "colorize")
    assert "colour" in one_line(exc) and "1 channel" in str(exc.value)
    with pytest.raises(DataError) as exc:
        make_pairs(ImageData(digits.x[:5].expand(-1, 3, -1, -1)), "colorize")
    assert "R = G = B" in one_line(exc)


# --- edges --------------------------------------------------------------------------------------

def test_edges_outline_a_square():
    x = torch.zeros(2, 3, 32, 32)
    x[:, :, 8:24, 8:24] = 1
    p = make_pairs(ImageData(x), "edges")
    e = p.x[0, 0]
    assert p.x.shape == (2, 1, 32, 32) and torch.equal(p.target, x)
    assert set(p.x.unique().tolist()) == {0.0, 1.0}
    assert float(e[12:20, 12:20].sum()) == 0 and float(e[:4].sum()) == 0   # nothing inside or far outside
    assert float(e[6:11, 16].sum()) >= 1 and float(e[16, 21:26].sum()) >= 1   # the top and right sides
    assert torch.equal(canny_edges(x[:1]), p.x[:1])


# --- sparse-view tomography ---------------------------------------------------------------------

def test_radon_and_fbp_shapes(digits):
    x = digits.x[:6]
    s = sinograms(x, 12)
    assert s.shape[0] == 6 and s.shape[2] == 12 and s.shape[1] >= math.ceil(28 * math.sqrt(2))
    # the Radon transform keeps the mass of the image in every view
    assert torch.allclose(s.sum(1), x.sum((1, 2, 3))[:, None].expand(-1, 12), rtol=1e-2)
    r = fbp(s, 28)
    assert r.shape == (6, 1, 28, 28)
    p = make_pairs(digits, "ct:12")
    assert p.x.shape == digits.x.shape and torch.equal(p.target, digits.x) and p.meta["views"] == 12
    assert 0 <= float(p.x.min()) and float(p.x.max()) <= 1


def test_more_views_give_a_better_fbp(digits):
    scores = [psnr(make_pairs(digits, f"ct:{v}").x, digits.x) for v in (4, 8, 30)]
    assert scores[0] + 3 < scores[1] < scores[2] and scores[2] > 20
    ph = phantom(48)
    assert ph.x.shape == (1, 1, 48, 48) and 0 <= float(ph.x.min()) and float(ph.x.max()) <= 1
    assert psnr(sparse_view_fbp(ph.x, 8), ph.x) + 3 < psnr(sparse_view_fbp(ph.x, 60), ph.x)


def test_the_fbp_operator_matches_scikit_image_image_by_image():
    d = load_data("digits", "test")   # 8×8: more images than pixels, so the operator path runs
    assert len(d) > 64
    fast = sparse_view_fbp(d.x, 10)
    slow = fbp(sinograms(d.x, 10), 8).clamp(0, 1)
    assert torch.allclose(fast, slow, atol=1e-5)
    assert _fbp_operator.cache_info().currsize >= 1


def test_ct_refuses_colour_and_non_square_images(shapes):
    with pytest.raises(DataError) as exc:
        make_pairs(shapes, "ct:10")
    assert "--channels 1" in one_line(exc)
    with pytest.raises(DataError) as exc:
        make_pairs(ImageData(torch.rand(2, 1, 20, 24)), "ct:10")
    assert "--image-size 24" in one_line(exc)


# --- paired folders -----------------------------------------------------------------------------

def _write(folder, names, size=(12, 10), value=0, mode="L"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        arr = np.full((size[1], size[0]) + ((3,) if mode == "RGB" else ()), (value + 10 * i) % 256, np.uint8)
        Image.fromarray(arr, mode).save(folder / name)


def test_paired_folders_load_inputs_and_targets_by_name(tmp_path):
    names = [f"{i:02d}.png" for i in range(10)]
    _write(tmp_path / "in", names, value=0)
    _write(tmp_path / "out", names, value=5, mode="RGB")
    spec = f"paired:{tmp_path / 'in'},{tmp_path / 'out'}"
    train, test = load_data(spec, "train"), load_data(spec, "test")
    assert train.x.shape == (8, 1, 10, 12) and train.target.shape == (8, 3, 10, 12) and len(test) == 2
    # each target is its input's partner: value + 5
    assert torch.allclose(train.target[:, 0].mean((1, 2)) * 255 - train.x[:, 0].mean((1, 2)) * 255,
                          torch.full((8,), 5.0), atol=1e-3)
    assert [f.split("/")[-1] for f in test.meta["files"]] == ["04.png", "09.png"]
    assert [f.split("/")[-1] for f in test.meta["target_files"]] == ["04.png", "09.png"]
    assert make_pairs(train, "paired") is train
    with pytest.raises(DataError) as exc:
        make_pairs(train, "denoise:gaussian:0.1")
    assert "--task paired" in one_line(exc)
    resized = load_data(spec, "train", image_size=8)
    assert resized.x.shape == (8, 1, 8, 8) and resized.target.shape == (8, 3, 8, 8)


def test_paired_folders_refuse_unmatched_names(tmp_path):
    _write(tmp_path / "in", ["a.png", "b.png", "c.png", "d.png"])
    _write(tmp_path / "out", ["a.png", "b.png"])
    with pytest.raises(DataError) as exc:
        load_data(f"paired:{tmp_path / 'in'},{tmp_path / 'out'}")
    text = one_line(exc)
    assert "2 files" in text and "c.png, d.png" in text and "same file names" in text


def test_paired_folders_refuse_size_mismatches(tmp_path):
    _write(tmp_path / "in", ["a.png", "b.png"], size=(12, 10))
    _write(tmp_path / "out", ["a.png"], size=(12, 10))
    _write(tmp_path / "out", ["b.png"], size=(24, 20))
    with pytest.raises(DataError) as exc:
        load_data(f"paired:{tmp_path / 'in'},{tmp_path / 'out'}")
    text = one_line(exc)
    assert "1 pair differs" in text and "b.png: 12×10" in text and "24×20" in text and "--image-size" in text
    with pytest.raises(DataError) as exc:
        load_data(f"paired:{tmp_path / 'in'}")
    assert "paired:DIR_IN,DIR_OUT" in one_line(exc)
    with pytest.raises(DataError) as exc:
        make_pairs(load_data("digits", "test"), "paired")
    assert "holds no pairs" in one_line(exc)
