import gzip
import struct
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import load_data
from genlab.data.batches import stack_collate
from genlab.data.sources import open_stream, read_idx
from genlab.errors import DataError


def test_mnist5k_fixed_stratified_split():
    train, test = load_data("mnist5k", "train"), load_data("mnist5k", "test")
    assert train.x.shape == (4000, 1, 28, 28) and test.x.shape == (1000, 1, 28, 28)
    assert train.y.bincount().tolist() == [400] * 10 and test.y.bincount().tolist() == [100] * 10
    assert 0 <= float(train.x.min()) and float(train.x.max()) == 1.0
    assert torch.equal(load_data("mnist5k", "test").x, test.x)  # the same every time
    both = load_data("mnist5k", "all")
    assert len(both) == 5000
    # per digit the last 100 rows are the test digits
    zeros = both.x[both.y == 0]
    assert torch.equal(zeros[400:], test.x[test.y == 0])


def test_digits_shapes_photos():
    d = load_data("digits", "train")
    assert d.x.shape[1:] == (1, 8, 8) and d.num_classes == 10 and float(d.x.max()) == 1.0
    assert len(d) + len(load_data("digits", "test")) == 1797
    s = load_data("shapes", "train")
    assert s.x.shape == (2000, 3, 32, 32) and s.mask.shape == (2000, 32, 32)
    assert set(s.mask.unique().tolist()) == {0, 1, 2, 3}
    areas = torch.stack([(s.mask == k + 1).flatten(1).sum(1) for k in range(3)], 1)
    assert torch.equal(areas.argmax(1), s.y)  # the label is the largest shape's class
    assert torch.equal(load_data("shapes", "train").x, s.x)
    assert not torch.equal(load_data("shapes", "test").x[:10], s.x[:10])
    p = load_data("photos", "train")
    assert p.x.shape[1:] == (3, 32, 32) and len(p) > 1000 and 0 <= float(p.x.min()) <= float(p.x.max()) <= 1
    assert load_data("photos", "test").classes == ["rocket", "coins", "china", "flower"]


def test_resize_channels_limit():
    d = load_data("mnist5k", "test", image_size=32, channels=3, limit=20)
    assert d.x.shape == (20, 3, 32, 32)
    g = load_data("shapes", "test", channels=1, image_size=16)
    assert g.x.shape == (500, 1, 16, 16) and g.mask.shape == (500, 16, 16)


def test_unknown_spec():
    with pytest.raises(DataError, match="genlab datasets"):
        load_data("mnist6k")


def _idx_bytes(array: np.ndarray, magic_type=0x08) -> bytes:
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_idx_files(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (7, 5, 4))
    y = np.arange(7) % 3
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(x))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(y))
    d = load_data(f"idx:{tmp_path / 'train-images-idx3-ubyte'}")
    assert d.x.shape == (7, 1, 5, 4) and d.y.tolist() == y.tolist()
    assert torch.allclose(d.x[:, 0] * 255, torch.tensor(x, dtype=torch.float32))
    gz = tmp_path / "g-images-idx3-ubyte.gz"
    gz.write_bytes(gzip.compress(_idx_bytes(x)))
    assert load_data(f"idx:{gz}").y is None
    bad = tmp_path / "bad-images-idx3-ubyte"
    bad.write_bytes(b"\x12\x34" + _idx_bytes(x)[2:])
    with pytest.raises(DataError, match="wrong magic number"):
        load_data(f"idx:{bad}")
    short = tmp_path / "short-images-idx3-ubyte"
    short.write_bytes(_idx_bytes(x)[:-10])
    with pytest.raises(DataError, match="truncated"):
        load_data(f"idx:{short}")
    with pytest.raises(DataError, match="expected 3"):
        read_idx(tmp_path / "train-labels-idx1-ubyte", 3)


def test_npz(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 6, 6, 3), np.uint8), y=np.arange(4))
    d = load_data(f"npz:{tmp_path / 'a.npz'}")
    assert d.x.shape == (4, 3, 6, 6) and d.y.tolist() == [0, 1, 2, 3]
    np.savez(tmp_path / "b.npz", images=np.zeros((2, 3, 3)))
    with pytest.raises(DataError, match="no array named 'x'.*images"):
        load_data(f"npz:{tmp_path / 'b.npz'}")
    np.savez(tmp_path / "c.npz", x=np.array([object(), object()], dtype=object))
    with pytest.raises(DataError, match="never unpickles"):
        load_data(f"npz:{tmp_path / 'c.npz'}")
    np.savez(tmp_path / "d.npz", x=np.full((2, 4, 4), 3.0))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        load_data(f"npz:{tmp_path / 'd.npz'}")


def _png(path, size=(8, 8), value=128, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)


def test_folder_with_classes_and_flat(tmp_path):
    for c in ("cat", "dog"):
        for i in range(5):
            _png(tmp_path / "cls" / c / f"{i}.png", value=10 * i)
    d = load_data(f"folder:{tmp_path / 'cls'}", "all")
    assert d.x.shape == (10, 1, 8, 8) and d.classes == ["cat", "dog"] and d.y.tolist() == [0] * 5 + [1] * 5
    train, test = load_data(f"folder:{tmp_path / 'cls'}", "train"), load_data(f"folder:{tmp_path / 'cls'}", "test")
    assert len(train) == 8 and len(test) == 2 and test.y.tolist() == [0, 1]
    for i in range(3):
        _png(tmp_path / "flat" / f"{i}.png", mode="RGB")
    (tmp_path / "flat" / ".DS_Store").write_bytes(b"junk")
    f = load_data(f"folder:{tmp_path / 'flat'}", "all")
    assert f.x.shape == (3, 3, 8, 8) and f.y is None


def test_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="contains no images"):
        load_data(f"folder:{tmp_path / 'empty'}")
    _png(tmp_path / "mixed" / "a.png", (8, 8))
    _png(tmp_path / "mixed" / "b.png", (10, 6))
    with pytest.raises(DataError, match="--image-size"):
        load_data(f"folder:{tmp_path / 'mixed'}", "all")
    assert load_data(f"folder:{tmp_path / 'mixed'}", "all", image_size=12).x.shape == (2, 1, 12, 12)
    (tmp_path / "only-notes" / "sub").mkdir(parents=True)
    (tmp_path / "only-notes" / "sub" / "readme.txt").write_text("hello")
    (tmp_path / "only-notes" / "Thumbs.db").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"contains no images .*only 1 other file \(sub/readme.txt\)"):
        load_data(f"folder:{tmp_path / 'only-notes'}")
    _png(tmp_path / "corrupt" / "a.png")
    (tmp_path / "corrupt" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match="b.png is not a readable image"):
        load_data(f"folder:{tmp_path / 'corrupt'}")
    with pytest.raises(DataError, match="does not exist"):
        load_data(f"folder:{tmp_path / 'nowhere'}")


def _messy_folder(root):
    """3 class sub-folders of PNGs plus the litter a real folder collects."""
    for c, n in (("circle", 4), ("square", 5), ("triangle", 6)):
        for i in range(n):
            _png(root / c / f"{i}.png", value=20 * i)
    (root / "circle" / "notes.txt").write_text("drawn by hand")
    (root / "square" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0 thumbnail cache")
    (root / "square" / "desktop.ini").write_text("[.ShellClassInfo]")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "triangle" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "triangle" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # not a PNG at all
    _png(root / ".thumbnails" / "0.png")  # hidden folder: not a class
    _png(root / "__MACOSX" / "circle" / "._0.png")  # archiver litter: not a class
    (root / "__MACOSX" / "circle" / "notes.txt").write_text("x")


def test_folder_skips_system_files_and_warns_once_about_strays(tmp_path):
    _messy_folder(tmp_path / "shapes")
    with pytest.warns(UserWarning) as record:
        d = load_data(f"folder:{tmp_path / 'shapes'}", "all")
    assert d.classes == ["circle", "square", "triangle"] and len(d) == 15
    assert d.y.tolist() == [0] * 4 + [1] * 5 + [2] * 6
    assert all(".DS_Store" not in f and "__MACOSX" not in f and ".thumbnails" not in f for f in d.meta["files"])
    assert len(record) == 1, [str(w.message) for w in record]
    message = str(record[0].message)
    assert "skipped 1 file that is not an image" in message and "circle/notes.txt" in message
    assert ".png" in message  # says what genlab does read
    for silent in ("Thumbs.db", "desktop.ini", ".DS_Store", "._0.png", "__MACOSX", ".thumbnails"):
        assert silent not in message
    # loading the train and test splits of the same folder does not repeat the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train = load_data(f"folder:{tmp_path / 'shapes'}", "train")
        test = load_data(f"folder:{tmp_path / 'shapes'}", "test")
    assert len(train) == 4 + 4 + 5 and len(test) == 2 and test.y.tolist() == [1, 2]
    # a new stray file changes the message, so it is said again, with the new count
    (tmp_path / "shapes" / "square" / "readme.md").write_text("x")
    expected = r"skipped 2 files that are not images .*\(circle/notes.txt, square/readme.md\)"
    with pytest.warns(UserWarning, match=expected):
        load_data(f"folder:{tmp_path / 'shapes'}", "train")


def test_folder_warning_counts_and_limits_examples(tmp_path):
    for i in range(3):
        _png(tmp_path / "flat" / f"{i}.png", mode="RGB")
    for name in ("a.csv", "b.md", "c.txt", "d.json", "e.txt"):
        (tmp_path / "flat" / name).write_text("x")
    (tmp_path / "flat" / "Thumbs.db").write_bytes(b"junk")
    with pytest.warns(UserWarning) as record:
        d = load_data(f"folder:{tmp_path / 'flat'}", "all")
    assert d.x.shape == (3, 3, 8, 8) and d.y is None
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 5 files that are not images" in message and "(a.csv, b.md, c.txt, …)" in message
    assert "d.json" not in message and "Thumbs.db" not in message
    # a clean folder warns about nothing
    (tmp_path / "clean").mkdir()
    for i in range(2):
        _png(tmp_path / "clean" / f"{i}.png")
    (tmp_path / "clean" / ".DS_Store").write_bytes(b"junk")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_data(f"folder:{tmp_path / 'clean'}", "all")) == 2


def test_folder_sub_folders_without_images_are_not_classes(tmp_path):
    for c in ("cat", "dog"):
        _png(tmp_path / c / "0.png")
    (tmp_path / "empty").mkdir()
    _png(tmp_path / "stray.png")
    with pytest.warns(UserWarning) as record:
        d = load_data(f"folder:{tmp_path}", "all")
    assert d.classes == ["cat", "dog"] and d.y.tolist() == [0, 1]
    assert len(record) == 1
    message = str(record[0].message)
    assert "1 image beside the class sub-folders" in message and "stray.png" in message
    assert "empty/" in message and "not a class" in message


def test_folder_corrupt_image_is_an_error_naming_it(tmp_path):
    _messy_folder(tmp_path / "shapes")
    (tmp_path / "shapes" / "square" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.warns(UserWarning), pytest.raises(DataError, match=r"square/broken\.png is not a readable image"):
        load_data(f"folder:{tmp_path / 'shapes'}", "all")
    stream_root = tmp_path / "stream"
    _png(stream_root / "a" / "0.png")
    (stream_root / "a" / "1.png").write_bytes(b"not a png")
    stream = open_stream(f"folder:{stream_root}")
    with pytest.raises(DataError, match=r"a/1\.png is not a readable image"):
        stream[1]


def test_folder_stream_with_dataloader(tmp_path):
    for c in ("a", "b"):
        for i in range(3):
            _png(tmp_path / c / f"{i}.png", (6, 6), value=40 * i)
    stream = open_stream(f"folder:{tmp_path}", image_size=4)
    loader = torch.utils.data.DataLoader(stream, batch_size=4, collate_fn=stack_collate)
    batches = list(loader)
    assert batches[0]["x"].shape == (4, 1, 4, 4) and batches[1]["y"].tolist() == [1, 1]
