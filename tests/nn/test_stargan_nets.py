"""StarGAN's networks (genlab.nn.stargan): G(x, c) on the image and its tiled label, D's two heads."""
import pytest
import torch

from genlab.errors import ConfigError
from genlab.nn.stargan import StarDiscriminator, StarGenerator, down_size, tile_labels


def test_tiled_label_has_the_image_size_and_each_map_holds_its_label():
    c = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    maps = tile_labels(c, 5, 7)
    assert maps.shape == (2, 3, 5, 7)
    for n in range(2):
        for k in range(3):
            assert torch.equal(maps[n, k], torch.full((5, 7), float(c[n, k])))
    with pytest.raises(ConfigError, match="N×K"):
        tile_labels(torch.ones(3), 5, 7)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 16, 16)])
def test_generator_reads_the_image_and_the_tiled_label_as_c_plus_k_channels(shape):
    torch.manual_seed(0)
    c_img, h, w = shape
    k = 5
    g = StarGenerator(c_img, k, width=4, downs=2, blocks=1)
    assert g.stem[0].in_channels == c_img + k
    seen = []
    hook = g.stem[0].register_forward_pre_hook(lambda m, inp: seen.append(inp[0].detach()))
    x = torch.rand(3, *shape) * 2 - 1
    labels = torch.tensor([[1.0, 0, 0, 1, 0], [0, 1, 0, 0, 1], [0, 0, 1, 1, 1]])
    g(x, labels)
    hook.remove()
    (inp,) = seen
    assert inp.shape == (3, c_img + k, h, w)
    assert torch.equal(inp[:, :c_img], x)                          # the image first ...
    assert torch.equal(inp[:, c_img:], tile_labels(labels, h, w))  # ... then the label, spatially replicated


@pytest.mark.parametrize("size", [(28, 28), (13, 17), (8, 8), (5, 6)])
def test_generator_keeps_the_input_size_and_range(size):
    g = StarGenerator(1, 3, width=4, downs=2, blocks=1)
    x = torch.rand(2, 1, *size) * 2 - 1
    out = g(x, torch.eye(3)[:2])
    assert out.shape == x.shape
    assert float(out.detach().abs().max()) <= 1


def test_generator_output_depends_on_the_target_label():
    torch.manual_seed(0)
    g = StarGenerator(1, 2, width=4, blocks=1)
    x = torch.rand(1, 1, 12, 12) * 2 - 1
    assert not torch.allclose(g(x, torch.tensor([[1.0, 0.0]])), g(x, torch.tensor([[0.0, 1.0]])))


def test_generator_refuses_labels_of_the_wrong_shape():
    g = StarGenerator(1, 3, width=4, blocks=1)
    with pytest.raises(ConfigError, match="2×3"):
        g(torch.rand(2, 1, 8, 8), torch.ones(2, 4))
    with pytest.raises(ConfigError, match="N×1×H×W"):
        g(torch.rand(2, 3, 8, 8), torch.ones(2, 3))


@pytest.mark.parametrize("size,layers", [((28, 28), 3), ((32, 32), 4), ((13, 11), 3)])
def test_discriminator_has_a_patch_head_and_a_whole_image_classification_head(size, layers):
    d = StarDiscriminator(1, 7, size, width=4, layers=layers)
    src, cls = d(torch.rand(5, 1, *size))
    side = (down_size(size[0], layers), down_size(size[1], layers))
    assert src.shape == (5, 1, *side)                  # one realism score per patch
    assert cls.shape == (5, 7)                         # K logits per image
    assert d.cls.kernel_size == side                   # the classifier reads the whole last map
    assert down_size(28, 3) == 3 and down_size(32, 4) == 2


def test_discriminator_refuses_other_sizes_and_too_many_layers():
    d = StarDiscriminator(1, 3, (28, 28), width=4, layers=3)
    with pytest.raises(ConfigError, match="28×28"):
        d(torch.rand(2, 1, 32, 32))
    with pytest.raises(ConfigError, match="fewer d_layers"):
        StarDiscriminator(1, 3, (8, 8), width=4, layers=4)
