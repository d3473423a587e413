"""ImageData from the Python API: what it accepts (and how it converts it) and what it refuses in one line."""
import numpy as np
import pytest
import torch

import genlab
from genlab.errors import DataError


def test_uint8_tensor_and_array_are_scaled_to_unit_floats():
    raw = torch.tensor([0, 51, 255], dtype=torch.uint8).repeat(4 * 3 * 8 * 8 // 3 + 1)[: 4 * 3 * 8 * 8]
    raw = raw.view(4, 3, 8, 8)
    for given in (raw, raw.numpy()):
        data = genlab.ImageData(given)
        assert data.x.dtype == torch.float32 and data.shape == (3, 8, 8) and len(data) == 4
        assert torch.allclose(data.x, raw.float() / 255)
        assert float(data.x.max()) == 1.0 and float(data.x.min()) == 0.0


def test_float_images_in_unit_range_are_kept_as_given():
    x = torch.rand(5, 1, 6, 6)
    data = genlab.ImageData(x, y=torch.arange(5) % 2)
    assert torch.equal(data.x, x) and data.num_classes == 2


@pytest.mark.parametrize("x, hint", [(torch.rand(2, 1, 8, 8) * 255, "divide"), (torch.rand(2, 1, 8, 8) * 2 - 1, "(x + 1) / 2")])
def test_float_images_outside_unit_range_are_refused_in_one_line(x, hint):
    with pytest.raises(DataError, match=r"\[0, 1\]") as err:
        genlab.ImageData(x)
    text = str(err.value)
    assert "\n" not in text and hint in text and "uint8" in text


def test_channels_last_is_refused_with_the_permute_to_apply():
    with pytest.raises(DataError, match=r"channels-last") as err:
        genlab.ImageData(torch.rand(64, 32, 32, 3))
    assert "permute(0, 3, 1, 2)" in str(err.value) and "\n" not in str(err.value)
    # the permuted tensor is what it wanted
    assert genlab.ImageData(torch.rand(64, 32, 32, 3).permute(0, 3, 1, 2)).shape == (3, 32, 32)
    # small or channel-first shapes are not mistaken for channels-last
    assert genlab.ImageData(torch.rand(10, 1, 1, 2)).shape == (1, 1, 2)
    assert genlab.ImageData(torch.rand(10, 3, 32, 3)).shape == (3, 32, 3)


@pytest.mark.parametrize("shape", [(16, 784), (2, 3, 1, 8, 8), (8,)])
def test_wrong_ranks_are_refused_in_one_line(shape):
    with pytest.raises(DataError, match=r"4-D N×C×H×W") as err:
        genlab.ImageData(torch.rand(*shape))
    assert f"{len(shape)}-D" in str(err.value) and "\n" not in str(err.value)


def test_three_d_grey_images_gain_a_channel_unless_ambiguous():
    x = torch.rand(10, 28, 28)
    data = genlab.ImageData(x)
    assert data.shape == (1, 28, 28) and torch.equal(data.x[:, 0], x)
    assert genlab.ImageData(torch.rand(1, 5, 5)).shape == (1, 5, 5)
    with pytest.raises(DataError, match=r"ambiguous") as err:
        genlab.ImageData(torch.rand(3, 32, 32))
    assert "x[:, None]" in str(err.value) and "x[None]" in str(err.value)


def test_other_types_and_mismatched_labels_are_refused():
    with pytest.raises(DataError, match="torch tensor or numpy array"):
        genlab.ImageData([[0.5]])
    with pytest.raises(DataError, match="int64"):
        genlab.ImageData(torch.zeros(2, 1, 4, 4, dtype=torch.int64))
    with pytest.raises(DataError, match="3 images but 2 labels"):
        genlab.ImageData(torch.rand(3, 1, 4, 4), y=torch.tensor([0, 1]))


def test_repr_is_one_short_line():
    data = genlab.ImageData(torch.rand(300, 3, 32, 32), y=torch.arange(300) % 3, classes=["circle", "square", "star"],
                            name="shapes")
    text = repr(data)
    assert text == "ImageData('shapes', 300×3×32×32, 3 classes: circle, square, star)"
    many = genlab.ImageData(torch.rand(12, 1, 4, 4), y=torch.arange(12), classes=[str(i) for i in range(12)])
    assert repr(many) == "ImageData('unnamed', 12×1×4×4, 12 classes: 0, 1, 2, 3, 4, …)"
    assert repr(genlab.ImageData(torch.rand(2, 1, 4, 4))) == "ImageData('unnamed', 2×1×4×4)"


def test_subset_keeps_everything_and_the_loaders_still_load(mnist):
    train, _ = mnist
    assert train.x.dtype == torch.float32 and 0 <= float(train.x.min()) and float(train.x.max()) <= 1
    part = train.subset(range(0, 50, 5))
    assert len(part) == 10 and part.classes == train.classes and part.name == train.name
    assert torch.equal(part.y, train.y[0:50:5]) and torch.equal(part.x, train.x[0:50:5])
    assert repr(train).startswith(f"ImageData({train.name!r}, {len(train)}×1×28×28, 10 classes: 0, 1")
    assert np.isfinite(part.x.numpy()).all()
