"""Translation data: two unpaired domains (CycleGAN) and attribute-labelled images (StarGAN)."""
import hashlib
import http.server
import io
import threading
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import load_data
from genlab.data.domains import (
    by_domain,
    deskew,
    draw_attributes,
    rotate,
    tilt_angle,
    transform,
    with_attributes,
)
from genlab.data.download import MANIFEST, fetch
from genlab.data.sources import TASK_SEEDS
from genlab.errors import ConfigError, DataError

NORMAL, THIN, THICK = 1, 0, 2


@pytest.mark.parametrize("split", ["train", "test"])
def test_digits2mnist_domains_per_split(split):
    data = load_data("digits2mnist", split)
    digits, mnist = load_data("digits", split, image_size=28), load_data("mnist5k", split)
    assert data.x.shape == (len(digits) + len(mnist), 1, 28, 28)
    assert data.meta["domains"] == ["digits", "mnist"]
    assert data.domain.bincount().tolist() == [len(digits), len(mnist)]
    a, b = by_domain(data)
    assert torch.equal(a.x, digits.x) and torch.equal(b.x, mnist.x)   # each domain keeps its own split
    assert torch.equal(data.y, torch.cat([digits.y, mnist.y])) and data.classes == [str(d) for d in range(10)]
    assert data.batch(3)["domain"].tolist() == [0, 0, 0]


def test_grey2colour_disjoint_grey_and_colour_crops():
    train, test = load_data("grey2colour", "train"), load_data("grey2colour", "test")
    for data in (train, test):
        assert data.x.shape[1:] == (3, 32, 32) and data.meta["domains"] == ["grey", "colour"] and data.y is None
        grey, colour = by_domain(data)
        assert len(grey) > 300 and abs(len(grey) - len(colour)) <= 2
        assert torch.equal(grey.x[:, 0], grey.x[:, 1]) and torch.equal(grey.x[:, 1], grey.x[:, 2])
        spread = (colour.x.max(1).values - colour.x.min(1).values).mean()
        assert spread > 0.05   # colour crops really are in colour
        # no pairs: no textured grey crop is the luma of a colour crop (flat sky or black crops may repeat)
        luma = (colour.x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1).flatten(1)
        textured = grey.x[:, 0].flatten(1)
        textured = textured[textured.std(1) > 0.05]
        assert len(textured) > 100 and torch.cdist(textured, luma).min() > 0.1
    assert len(train) != len(test) or not torch.equal(train.x, test.x)


def test_domains_of_different_shapes_refused_then_resized():
    with pytest.raises(DataError) as info:
        load_data("domains:digits,mnist5k", "test")
    message = str(info.value)
    assert "\n" not in message and "1×8×8" in message and "1×28×28" in message
    assert "--image-size" in message and "--channels" in message
    data = load_data("domains:digits,mnist5k", "test", image_size=28)
    assert data.x.shape[1:] == (1, 28, 28) and data.meta["domains"] == ["digits", "mnist5k"]
    assert data.domain.bincount().tolist() == [len(load_data("digits", "test")), 1000] and data.y is not None
    mixed = load_data("domains:mnist5k,photos", "test", image_size=16, channels=3)
    assert mixed.x.shape[1:] == (3, 16, 16) and mixed.y is None   # digit and photograph labels must not mix
    few = load_data("domains:digits,mnist5k", "test", image_size=28, limit=7)
    assert few.domain.tolist() == [0, 0, 0, 0, 1, 1, 1]   # a limit keeps both domains


def test_attribute_groups_exactly_one_hot():
    data = load_data("attributes:mnist5k", "test")
    assert data.meta["attributes"] == ["thin", "normal", "thick", "upright", "tilted", "plain", "inverted"]
    assert data.meta["attribute_groups"] == [[0, 1, 2], [3, 4], [5, 6]]
    assert data.attributes.shape == (1000, 7) and set(data.attributes.unique().tolist()) == {0.0, 1.0}
    for group in data.meta["attribute_groups"]:
        assert torch.equal(data.attributes[:, group].sum(1), torch.ones(1000))
        share = data.attributes[:, group].mean(0)
        assert (share > 1 / len(group) - 0.07).all()   # every value drawn, about uniformly
    assert torch.equal(data.y, load_data("mnist5k", "test").y) and data.batch(2)["attributes"].shape == (2, 7)
    colour = load_data("attributes:photos", "test")
    assert colour.meta["attributes"][:3] == ["none", "red", "blue"]
    for group in colour.meta["attribute_groups"]:
        assert torch.equal(colour.attributes[:, group].sum(1), torch.ones(len(colour)))


def _choice(n, stroke=NORMAL, tilt=0, invert=0):
    return torch.tensor([[stroke, tilt, invert]]).expand(n, 3)


def test_thick_strokes_more_ink_thin_less():
    x = load_data("mnist5k", "test").x[::5]
    n = len(x)
    normal = transform(x, _choice(n))
    assert torch.equal(normal, deskew(x))          # grey digits are deskewed before any attribute
    thin, thick = transform(x, _choice(n, THIN)), transform(x, _choice(n, THICK))
    assert thick.mean() > 1.3 * normal.mean() and thin.mean() < 0.7 * normal.mean()
    per_image = (thick.flatten(1).mean(1) > normal.flatten(1).mean(1)) & (thin.flatten(1).mean(1) < normal.flatten(1).mean(1))
    assert per_image.all()
    assert (thin.flatten(1).max(1).values > 0.5).all()   # thinning keeps every digit


def test_inverted_is_one_minus_x_and_tilted_is_rotated():
    x = load_data("mnist5k", "test").x[::10]
    n = len(x)
    assert torch.equal(transform(x, _choice(n, invert=1)), 1 - deskew(x))
    tilted = transform(x, _choice(n, tilt=1), angles=torch.full((n,), -30.0))
    assert (tilted - deskew(x)).abs().flatten(1).mean(1).min() > 0.02   # every tilted image differs from upright
    bar = torch.zeros(2, 1, 28, 28)
    bar[:, :, 4:24, 13:15] = 1
    measured = tilt_angle(rotate(bar, torch.tensor([17.0, -16.0])))
    assert torch.allclose(measured, torch.tensor([17.0, -16.0]), atol=0.5)
    # in the data set: plain, normal, upright images are the deskewed originals; inverted ones 1 − x; tilted
    # ones lean clockwise by 25–35°
    data, original = load_data("attributes:mnist5k", "test"), load_data("mnist5k", "test")
    upright = deskew(original.x)
    a = data.attributes.bool()
    plain = a[:, 1] & a[:, 3] & a[:, 5]
    inverted = a[:, 1] & a[:, 3] & a[:, 6]
    assert plain.sum() > 30 and torch.equal(data.x[plain], upright[plain])
    assert inverted.sum() > 30 and torch.equal(data.x[inverted], 1 - upright[inverted])
    ones = a[:, 1] & a[:, 4] & a[:, 5] & (data.y == 1)   # long strokes: their lean is measurable
    change = tilt_angle(data.x[ones]) - tilt_angle(upright[ones])
    choice, angles = draw_attributes(len(data), seed=TASK_SEEDS["test"])   # the test split's draws
    assert torch.equal(choice[:, 1] == 1, a[:, 4])
    assert ones.sum() > 5 and (change - angles[ones]).abs().median() < 3
    assert angles.min() >= -35 and angles.max() <= -25


def test_deskew_straightens_a_slanted_stroke_and_leaves_blank_images():
    bar = torch.zeros(3, 1, 28, 28)
    for r in range(4, 24):                     # a stroke leaning right by 0.4 px per row, drawn by hand
        c = round(14 + 0.4 * (r - 14))
        bar[0, 0, r, c - 1:c + 1] = 1
    bar[1] = bar[0].flip(-1)                   # leaning left
    straight = deskew(bar)
    assert tilt_angle(bar[:2]).abs().min() > 15
    assert tilt_angle(straight[:2]).abs().max() < 3
    assert torch.equal(straight[2], bar[2])    # no ink: nothing to measure, nothing moved
    # on handwriting the ink's column no longer follows its row
    x = load_data("mnist5k", "test").x[::4]
    def slant(images):
        m = images.mean(1).flatten(1)
        m = m / m.sum(1, keepdim=True)
        r, c = (t.flatten().float() for t in torch.meshgrid(torch.arange(28), torch.arange(28), indexing="ij"))
        dr, dc = r - (m * r).sum(1, keepdim=True), c - (m * c).sum(1, keepdim=True)
        return ((m * dr * dc).sum(1) / (m * dr * dr).sum(1)).abs()
    assert slant(x).median() > 0.1 and slant(deskew(x)).median() < 0.03


def test_colour_tints_shift_the_colour():
    data = load_data("attributes:photos", "test")
    a = data.attributes.bool()
    red_minus_blue = data.x[:, 0].flatten(1).mean(1) - data.x[:, 2].flatten(1).mean(1)
    none, red, blue = (red_minus_blue[a[:, k] & a[:, 5]].mean() for k in range(3))
    assert red > none + 0.2 and blue < none - 0.2


def test_same_seed_same_data():
    base = load_data("digits", "test")
    one, two, other = with_attributes(base, seed=3), with_attributes(base, seed=3), with_attributes(base, seed=4)
    assert torch.equal(one.x, two.x) and torch.equal(one.attributes, two.attributes)
    assert not torch.equal(one.attributes, other.attributes)
    first = load_data("attributes:digits", "test")
    assert torch.equal(first.x, load_data("attributes:digits", "test").x)
    assert torch.equal(load_data("attributes:digits", "test", limit=20).x, first.x[:20])   # a limit: a prefix
    assert not torch.equal(load_data("attributes:digits", "train").attributes[:50], first.attributes[:50])


def test_unknown_names_and_flags():
    for spec, hint in (("digits2mnst", "did you mean 'digits2mnist'"),
                       ("atributes:mnist5k", "did you mean 'attributes:mnist5k'"),
                       ("domain:mnist5k,digits", "did you mean 'domains:mnist5k,digits'"),
                       ("cyclegan:horse2zebr", "did you mean 'cyclegan:horse2zebra'"),
                       ("domains:mnist5k", "domains:SPEC_A,SPEC_B"),
                       ("domains:mnist5k,digts", "did you mean 'digits'")):
        with pytest.raises(DataError, match=hint):
            load_data(spec)
    with pytest.raises(ConfigError, match="drop --task"):
        load_data("digits2mnist", task="superres:2")
    with pytest.raises(ConfigError, match="drop --binarize"):
        load_data("attributes:mnist5k", binarize=0.5)


# --- cyclegan:NAME against a local server ----------------------------------------------------------

def _zip(counts):
    buffer, rng = io.BytesIO(), np.random.default_rng(0)
    with zipfile.ZipFile(buffer, "w") as zf:
        for folder, n in counts.items():
            for i in range(n):
                png = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(png, "PNG")
                zf.writestr(f"horse2zebra/{folder}/{i:03d}.png", png.getvalue())
        zf.writestr("horse2zebra/README.txt", "not an image")
    return buffer.getvalue()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "horse2zebra.zip").write_bytes(_zip({"trainA": 5, "trainB": 4, "testA": 2, "testB": 3}))
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *args):
            hits.append(self.path)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", root, hits
    httpd.shutdown()


def test_cyclegan_downloaded_once(server, tmp_path, monkeypatch):
    url, root, hits = server
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GENLAB_MIRROR", url)
    train = load_data("cyclegan:horse2zebra", "train")
    assert train.x.shape == (9, 3, 12, 12) and train.domain.bincount().tolist() == [5, 4]
    assert train.meta["domains"] == ["horse", "zebra"] and train.y is None and train.name == "cyclegan:horse2zebra"
    test = load_data("cyclegan:horse2zebra", "test", image_size=8)
    assert test.x.shape == (5, 3, 8, 8) and test.domain.tolist() == [0, 0, 1, 1, 1]
    assert len(hits) == 1   # fetched once, then read from the cache
    folder = tmp_path / "cache" / "datasets" / "cyclegan-horse2zebra"
    digest = hashlib.sha256((root / "horse2zebra.zip").read_bytes()).hexdigest()
    assert (folder / MANIFEST).read_text().split() == [digest, "horse2zebra.zip"]
    with Image.open(io.BytesIO(zipfile.ZipFile(root / "horse2zebra.zip").read("horse2zebra/trainA/000.png"))) as im:
        assert torch.equal(train.x[0], torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255)


def test_cyclegan_checksum_mismatch_refused(server, tmp_path, monkeypatch):
    url, _, _ = server
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError, match="checksum mismatch for horse2zebra.zip"):
        fetch("cyclegan-horse2zebra", base_url=url, checksums={"horse2zebra.zip": "sha256:" + "0" * 64})
    folder = tmp_path / "cache" / "datasets" / "cyclegan-horse2zebra"
    assert not (folder / "horse2zebra.zip").exists() and not [p for p in folder.iterdir() if p.suffix == ".part"]
