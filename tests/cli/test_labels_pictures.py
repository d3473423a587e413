"""Class names from the data reach the model and every picture; pictures a person can read:
`--label NAME`, one labelled row per class, per-class reconstructions, labelled strips and
previews, latent grids around typical codes, the values in force, and `--out` by extension."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import genlab
import genlab.png
from genlab import runs
from genlab.apps import latent
from genlab.apps.sections import per_class
from genlab.cli import main
from genlab.data import ImageData
from genlab.errors import ConfigError
from genlab.png import grid_image, labelled_grid
from tests.cli.test_cli import assert_user_error
from tests.cli_run import run

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = ("circle", "square", "triangle")
TINY_GAN = ["--set", "g_width=8", "--set", "d_width=8", "--set", "latent_dim=8", "--set", "embed_dim=4"]


def _draw(kind: str, k: int) -> Image.Image:
    im = Image.new("RGB", (16, 16), (20, 20 + 10 * k, 40))
    draw, c = ImageDraw.Draw(im), (230, 200 - 20 * k, 90)
    if kind == "circle":
        draw.ellipse((3, 3, 12, 12), fill=c)
    elif kind == "square":
        draw.rectangle((4, 4, 11, 11), fill=c)
    else:
        draw.polygon([(8, 2), (14, 13), (2, 13)], fill=c)
    return im


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A labelled folder as a user has one: a sub-folder per class, 10 images each."""
    root = tmp_path_factory.mktemp("shapes-folder")
    for kind in CLASSES:
        (root / kind).mkdir()
        for k in range(10):
            _draw(kind, k).save(root / kind / f"{k}.png")
    return root


@pytest.fixture(scope="module")
def cgan_run(folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cgan") / "run"
    code = main(["train", "cgan", "--data", f"folder:{folder}", "--epochs", "1", "--batch-size", "10",
                            "--out", str(out), "--no-progress", "--no-report", "--no-diagnostics", *TINY_GAN])
    assert code == 0
    return out


def _ink_rows(image: Image.Image, columns: slice) -> np.ndarray:
    """Which pixel rows of ``columns`` hold dark (text) pixels."""
    a = np.asarray(image.convert("L"))[:, columns]
    return (a < 128).any(1)


# --------------------------------------------------------------------------- class names reach the model

def test_folder_class_names_reach_the_model_on_create_and_on_load(folder, cgan_run):
    data = genlab.load_data(f"folder:{folder}", "train")
    assert genlab.create("cgan", data=data).label_space.names == CLASSES
    unconditional = genlab.create("dcgan", data=data)
    assert unconditional.label_space is None and unconditional.class_names == CLASSES
    loaded = runs.load(cgan_run)
    assert loaded.label_space.names == CLASSES and loaded.class_names == CLASSES
    assert genlab.create("cgan", num_classes=3).label_space.names is None       # no data, no names
    # a categorical code's values are not classes: infogan keeps numbers even with data names
    assert genlab.create("infogan", data=data).label_space.names is None


def test_python_sample_takes_a_class_name(cgan_run):
    model = runs.load(cgan_run)
    by_name = model.sample(3, y="triangle", generator=torch.Generator().manual_seed(0))
    by_index = model.sample(3, y=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(by_name, by_index)
    assert model.label_index("square") == 1 and model.label_index("2") == 2


def test_label_by_name_or_number_on_the_command_line(cgan_run, tmp_path, capsys):
    paths = {label: tmp_path / f"{label}.png" for label in ("circle", "0", "square")}
    for label, path in paths.items():
        code, out, err = run(capsys, "sample", cgan_run, "--label", label, "--n", 4, "--out", path)
        assert code == 0, err
    assert paths["circle"].read_bytes() == paths["0"].read_bytes() != paths["square"].read_bytes()


def test_a_wrong_class_name_gets_a_did_you_mean(cgan_run, tmp_path, capsys):
    line = assert_user_error(capsys, "sample", cgan_run, "--label", "cirle", "--out", tmp_path / "s.png",
                             match="did you mean 'circle'?")
    assert "circle, square, triangle" in line
    line = assert_user_error(capsys, "sample", cgan_run, "--label", 5, "--out", tmp_path / "s.png",
                             match="out of range")
    assert "0…2" in line and "circle" in line
    assert not (tmp_path / "s.png").exists()


# --------------------------------------------------------------------------- pictures

def test_conditional_sample_without_label_is_one_named_row_per_class(cgan_run, tmp_path, capsys):
    path = tmp_path / "rows.png"
    code, out, err = run(capsys, "sample", cgan_run, "--n", 6, "--out", path)
    assert code == 0, err
    assert "one row per class, 2 images each" in out
    with Image.open(path) as im:
        picture = im.copy()
    plain = grid_image(torch.zeros(6, 3, 16, 16), nrow=2)                      # the same cells, unlabelled
    assert picture.height == plain.height                                      # 3 rows: one per class
    label_column = slice(0, picture.width - plain.width)
    assert picture.width > plain.width
    bands = np.array_split(_ink_rows(picture, label_column)[2:-2], 3)
    assert all(band.any() for band in bands)                                   # a name at each row start


def test_per_class_picks_one_image_of_each_class_in_turn():
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])                           # class-sorted, as held-out splits are
    data = ImageData(torch.arange(10.0).view(10, 1, 1, 1) / 10, y)
    assert per_class(data, 3).y.tolist() == [0, 1, 2]
    assert per_class(data, 7).y.tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert torch.equal(per_class(data, 4).x.flatten() * 10, torch.tensor([0.0, 4, 7, 1]))   # first of each class
    unlabelled = ImageData(data.x)
    assert len(per_class(unlabelled, 4)) == 4


def test_reconstruct_shows_every_class_and_writes_jpeg(trained_runs, tmp_path, capsys, monkeypatch):
    from genlab.apps import sections

    seen = {}
    original = sections.per_class

    def spy(data, n):
        picked = original(data, n)
        seen["y"] = picked.y.tolist()
        return picked

    monkeypatch.setattr(sections, "per_class", spy)
    path = tmp_path / "r.jpg"
    code, out, err = run(capsys, "reconstruct", trained_runs.get("vae"), "--n", 12, "--out", path)
    assert code == 0, err
    assert seen["y"] == list(range(10)) + [0, 1]                             # not 12 zeros
    assert path.read_bytes()[:2] == b"\xff\xd8"                               # JPEG, as the name says


def test_an_unknown_image_extension_is_refused_before_any_work(cgan_run, tmp_path, capsys):
    assert_user_error(capsys, "sample", cgan_run, "--out", tmp_path / "s.gif", match=".png, .jpg or .jpeg")
    assert_user_error(capsys, "manifold", cgan_run, "--out", tmp_path / "m", match="no extension")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match="'.webp'"):
        genlab.png.save_image(Image.new("L", (4, 4)), tmp_path / "x.webp")
    genlab.png.save_image(Image.new("RGBA", (4, 4)), tmp_path / "x.jpeg")   # alpha dropped for JPEG
    assert (tmp_path / "x.jpeg").read_bytes()[:2] == b"\xff\xd8"


def test_interpolation_strip_is_readable_with_named_ends(cgan_run, tmp_path, capsys):
    path = tmp_path / "i.png"
    code, out, err = run(capsys, "interpolate", cgan_run, "--classes", "0,2", "--steps", 6, "--out", path)
    assert code == 0, err
    assert "circle → triangle" in out
    with Image.open(path) as im:
        picture = im.convert("L")
    scale = picture.width // (6 * 18 + 2)                                     # 6 cells of 16 px + 2 px padding
    assert picture.width == (6 * 18 + 2) * scale and 16 * scale >= 64         # 16-px images upscaled
    a = np.asarray(picture)
    top = a[: a.shape[0] - 20 * scale]                                        # the band above the cells
    assert len(top) > 0
    ink = (top < 128).any(0)
    third = picture.width // 3
    assert ink[:third].any() and ink[-third:].any() and not ink[third:-third].any()  # the two ends only


def test_class_options_take_names_or_numbers(cgan_run, folder, tmp_path, capsys):
    by_name, by_number = tmp_path / "n.png", tmp_path / "k.png"
    assert run(capsys, "interpolate", cgan_run, "--classes", "circle,triangle", "--out", by_name)[0] == 0
    assert run(capsys, "interpolate", cgan_run, "--classes", "0,2", "--out", by_number)[0] == 0
    assert by_name.read_bytes() == by_number.read_bytes()
    assert_user_error(capsys, "interpolate", cgan_run, "--classes", "circle,triangel", "--out", by_name,
                      match="did you mean 'triangle'")
    # a class of the held-out images by name, for a model with an encoder
    ae = tmp_path / "ae"
    assert main(["train", "conv-ae", "--data", f"folder:{folder}", "--epochs", "1", "--out", str(ae),
                 "--no-progress", "--no-report"]) == 0
    code, out, err = run(capsys, "interpolate", ae, "--through", "square,circle,triangle", "--out", tmp_path / "t.png")
    assert code == 0 and "square → circle → triangle" in out, err
    code, out, err = run(capsys, "interpolate", ae, "--from-class", "triangle", "--to-class", "0",
                         "--out", tmp_path / "p.png")
    assert code == 0 and "triangle → class circle" in out, err
    assert_user_error(capsys, "interpolate", ae, "--through", "square,hexagon", "--out", tmp_path / "x.png",
                      match="--through: unknown class 'hexagon'")


def test_arithmetic_groups_take_class_names(folder):
    from genlab.errors import ConfigError

    data = genlab.load_data(f"folder:{folder}", "train")
    assert torch.equal(latent.group_mask(data, "square"), latent.group_mask(data, "1"))
    assert latent.group_mask(data, "square").sum() == (data.y == 1).sum() > 0
    with pytest.raises(ConfigError, match="did you mean 'square'"):
        latent.group_mask(data, "sqare")


def test_labelled_grid_puts_text_beside_rows_and_above_columns():
    rows = [torch.ones(3, 1, 8, 8), torch.ones(3, 1, 8, 8)]
    plain = labelled_grid(rows, scale=4)
    named = labelled_grid(rows, ["original", "reconstruction"], ["a", "", "c"], scale=4)
    assert named.width > plain.width and named.height > plain.height
    with pytest.raises(ValueError, match="column labels"):
        labelled_grid(rows, col_labels=["a"])


def test_epoch_preview_is_labelled(folder):
    from genlab.train.callbacks import RunFiles

    data = genlab.load_data(f"folder:{folder}", "train")
    vae = genlab.create("vae", data=data)
    pairs = RunFiles.picture(vae, 16, torch.rand(32, 3, 16, 16))             # 16 originals, 16 reconstructions
    plain = grid_image(torch.rand(32, 3, 16, 16), nrow=8)
    assert pairs.height == plain.height and pairs.width > plain.width          # 4 rows of 8, and a label column
    bands = np.array_split(_ink_rows(pairs, slice(0, pairs.width - plain.width))[2:-2], 4)
    assert all(band.any() for band in bands)                                   # "original" / "reconstruction"
    cgan = genlab.create("cgan", data=data)
    by_class = RunFiles.picture(cgan, 16, torch.rand(24, 3, 16, 16))          # 8 per class: one row each
    assert by_class.width > grid_image(torch.rand(24, 3, 16, 16), nrow=8).width
    assert RunFiles.picture(genlab.create("dcgan", data=data), 16, torch.rand(5, 3, 16, 16)).size == \
        grid_image(torch.rand(5, 3, 16, 16), nrow=8).size                    # an unknown layout stays plain


# --------------------------------------------------------------------------- typical codes, values in force

def test_gan_manifold_is_centred_on_a_prior_draw_not_zero():
    model = genlab.create("dcgan", latent_dim=64, g_width=8, d_width=8, image_shape=(1, 16, 16))
    seen = []
    model.decode = lambda z, y=None: (seen.append(z.cpu()), torch.zeros(len(z), 1, 16, 16))[1]
    m = latent.manifold(model, n=5, dims=(3, 7))
    z = seen[0]
    assert z.shape == (25, 64) and "prior draw" in m.axes
    others = z[:, [d for d in range(64) if d not in (3, 7)]]
    assert torch.equal(others, others[:1].expand_as(others))                 # one base for the whole grid
    assert others[0].norm() > 5                                              # a typical code (|z| ≈ √62), not 0
    assert torch.allclose(z.view(5, 5, 64)[0, :, 3], m.xs)                   # the grid spans the prior's quantiles


def test_report_configuration_shows_the_values_in_force(tmp_path):
    from genlab.apps.report import configuration
    from genlab.viz.report import Report

    model = genlab.create("dcgan", g_width=8, d_width=8, latent_dim=8)
    runs.write_config(tmp_path, model, {"spec": "mnist5k"}, {"epochs": 1}, ["0", "1"])
    report = Report("t")
    configuration(report, model, None, tmp_path)
    html = report.write(tmp_path / "r.html").read_text()
    assert "0.0002 (recipe)" in html and "0.5 (recipe)" in html and "batch (auto)" in html
    assert "None" not in html


def test_legends_and_ends_use_the_run_class_names():
    from genlab.apps.sections import class_names

    data = ImageData(torch.rand(6, 1, 4, 4), torch.tensor([0, 0, 1, 1, 2, 2]), classes=list(CLASSES))
    model = genlab.create("vae", latent_dim=2, image_shape=(1, 4, 4))
    assert class_names(model, data, 3) == list(CLASSES)                       # the data's names
    model.class_names = ("a", "b", "c")
    assert class_names(model, data, 3) == ["a", "b", "c"]                      # the run's own win
    assert class_names(genlab.create("vae", latent_dim=2), None, 3) == ["0", "1", "2"]
    # data without the default digits 7 and 8: its first two classes, named
    a, b, what = latent.pick_pair(data, names=list(CLASSES))
    assert what == "class circle → class square"
    assert torch.equal(a, data.x[0]) and torch.equal(b, data.x[2])


def test_text_the_default_font_cannot_draw_is_replaced():
    from genlab.png import drawable, load_font

    font = load_font(14)
    assert drawable("7 → 2, a − b", font) == "7 -> 2, a - b"
    assert drawable("café", font) == "cafe"
    assert drawable("plain text", font) == "plain text"
