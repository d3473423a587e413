import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.viz.grids import grid_image, labelled_rows, make_grid, png_data_uri, save_grid, strip


def _cell(grid, i, nrow, h, w, padding=2):
    r, c = divmod(i, nrow)
    top, left = padding + r * (h + padding), padding + c * (w + padding)
    return grid[top:top + h, left:left + w]


def test_make_grid_shape_arithmetic():
    grid = make_grid(torch.rand(10, 1, 28, 28), nrow=5, padding=2)
    assert grid.shape == (2 * 28 + 3 * 2, 5 * 28 + 6 * 2, 1)
    assert make_grid(torch.rand(3, 1, 5, 7), nrow=8, padding=0).shape == (5, 21, 1)   # fewer images than nrow


def test_make_grid_places_every_image_in_its_cell():
    torch.manual_seed(0)
    x = torch.rand(7, 1, 6, 4)
    grid = make_grid(x, nrow=3, padding=2, pad_value=-1.0)
    assert grid.shape == (3 * 8 + 2, 3 * 6 + 2, 1)
    for i in range(7):
        np.testing.assert_array_equal(_cell(grid, i, 3, 6, 4)[:, :, 0], x[i, 0].numpy())
    # the two unused cells and every border hold pad_value
    assert np.all(_cell(grid, 7, 3, 6, 4) == -1.0) and np.all(_cell(grid, 8, 3, 6, 4) == -1.0)
    assert np.all(grid[:2] == -1.0) and np.all(grid[:, -2:] == -1.0) and np.all(grid[8:10] == -1.0)
    assert (grid == -1.0).sum() == grid.size - 7 * 6 * 4


def test_make_grid_three_channels_and_channels_last():
    x = np.zeros((4, 3, 8, 8), dtype=np.float32)
    x[:, 0], x[:, 1], x[:, 2] = 0.1, 0.5, 0.9
    x[2, 1] = 0.25                                            # image 2 differs in green only
    grid = make_grid(x, nrow=2)
    assert grid.shape == (2 * 10 + 2, 2 * 10 + 2, 3)
    cell = _cell(grid, 2, 2, 8, 8)
    assert np.all(cell[..., 0] == np.float32(0.1)) and np.all(cell[..., 1] == 0.25)
    assert np.all(cell[..., 2] == np.float32(0.9))
    np.testing.assert_array_equal(make_grid(x.transpose(0, 2, 3, 1), nrow=2), grid)   # N×H×W×C accepted
    u8 = make_grid((x * 255).round().astype(np.uint8), nrow=2)                    # uint8 -> [0, 1]
    np.testing.assert_allclose(u8, grid, atol=1 / 255)


def test_make_grid_rejects_bad_input():
    with pytest.raises(ValueError):
        make_grid(torch.rand(4, 2, 8, 8))
    with pytest.raises(ValueError):
        make_grid(torch.rand(4, 1, 8, 8), nrow=0)
    with pytest.raises(ValueError):
        make_grid(torch.rand(0, 1, 8, 8))


def test_grid_image_modes_clamping_and_scale():
    x = torch.full((2, 1, 4, 4), 0.5)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = -3.0, 7.0
    im = grid_image(x, nrow=2, scale=3, padding=0)
    assert im.mode == "L" and im.size == (8 * 3, 4 * 3)
    a = np.asarray(im)
    assert a[0, 0] == 0 and a[0, 3] == 255 and a[0, 3 * 2 + 1] == 128                 # clamped, rounded
    assert np.all(a[:3, :3] == 0) and np.all(a[:3, 3:6] == 255)                        # nearest neighbour
    rgb = grid_image(torch.rand(2, 3, 4, 4), nrow=2, scale=1)
    assert rgb.mode == "RGB"
    auto = grid_image(torch.rand(16, 1, 28, 28), nrow=4)                                 # 122 px -> scale 3
    assert auto.width >= 256 and auto.width % 122 == 0
    with pytest.raises(ValueError):
        grid_image(x, scale=1.5)


def test_save_grid_writes_png_atomically(tmp_path):
    path = tmp_path / "runs" / "a" / "samples.png"
    for _ in range(2):                                        # the second call replaces the first
        out = save_grid(torch.rand(10, 1, 28, 28), path, nrow=5, scale=2)
    assert out == path
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == ((5 * 28 + 6 * 2) * 2, (2 * 28 + 3 * 2) * 2)
    assert [p.name for p in path.parent.iterdir()] == ["samples.png"]      # no temporary files left


def test_strip_stacks_rows():
    a, b = torch.zeros(5, 1, 6, 6), torch.ones(5, 3, 6, 6)
    im = strip([a, b], scale=1)
    assert im.mode == "RGB" and im.size == (5 * 8 + 2, 2 * 8 + 2)
    arr = np.asarray(im)
    assert np.all(arr[2:8, 2:8] == 0) and np.all(arr[10:16, 2:8] == 255)
    with pytest.raises(ValueError):
        strip([a, torch.zeros(4, 1, 6, 6)])


def test_labelled_rows_adds_a_label_column():
    rows = [torch.zeros(6, 1, 28, 28), torch.zeros(6, 1, 28, 28)]
    plain = strip(rows, scale=2)
    im = labelled_rows(rows, ["original", "reconstruction"], scale=2)
    assert im.mode == "L" and im.height == plain.height and im.width > plain.width
    label_w = im.width - plain.width
    arr = np.asarray(im)
    np.testing.assert_array_equal(arr[:, label_w:], np.asarray(plain))
    for k in range(2):                                        # dark text inside each row's band
        band = arr[(2 + 30 * k) * 2:(30 + 30 * k) * 2, :label_w]
        assert (band < 128).sum() > 10
    with pytest.raises(ValueError):
        labelled_rows(rows, ["only one"])


def test_png_data_uri(tmp_path):
    im = Image.new("RGB", (7, 5), (255, 0, 0))
    uri = png_data_uri(im)
    assert uri.startswith("data:image/png;base64,")
    back = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert back.format == "PNG" and back.size == (7, 5)
    im.save(tmp_path / "a.png")
    assert base64.b64decode(png_data_uri(tmp_path / "a.png").split(",", 1)[1]) == (tmp_path / "a.png").read_bytes()
    im.save(tmp_path / "a.jpg")
    jpg = base64.b64decode(png_data_uri(str(tmp_path / "a.jpg")).split(",", 1)[1])
    assert jpg.startswith(b"\x89PNG")
