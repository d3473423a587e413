import pytest
import torch

import genlab
from genlab.errors import ConfigError
from genlab.models.mae import MAEClassifier, masked_patch_loss
from genlab.nn import patchify, random_masking, sincos_2d, unpatchify


def _tiny(**config):
    values = dict(embed_dim=32, depth=2, heads=2, decoder_dim=32, decoder_depth=1, decoder_heads=2)
    values.update(config)
    return genlab.create("mae", **values)


def test_patchify_layout_and_round_trip():
    x = torch.rand(2, 3, 8, 12)
    p = patchify(x, 4)
    assert p.shape == (2, 6, 48)
    # patch 4 is row 1, column 1 of the 2×3 grid, flattened as (row, column, channel)
    assert torch.equal(p[:, 4].view(2, 4, 4, 3), x[:, :, 4:8, 4:8].permute(0, 2, 3, 1))
    assert torch.equal(unpatchify(p, 4, (2, 3), 3), x)
    table = sincos_2d(16, (7, 7))
    assert table.shape == (49, 16) and torch.unique(table, dim=0).shape[0] == 49


def test_random_masking_hides_exactly_the_ratio():
    g = torch.Generator().manual_seed(0)
    keep, mask, restore = random_masking(64, 49, 0.75, g)
    assert (mask.sum(1) == round(0.75 * 49)).all()              # 37 hidden, 12 visible per image
    assert keep.shape == (64, 12)
    assert torch.equal(torch.gather(mask, 1, keep), torch.zeros(64, 12))  # kept tokens are the visible ones
    assert len({tuple(r.tolist()) for r in mask}) > 60          # different images, different masks
    shuffle = restore.argsort(1)
    assert torch.equal(torch.gather(shuffle, 1, restore), torch.arange(49).expand(64, -1))


def test_loss_counts_hidden_patches_only():
    g = torch.Generator().manual_seed(1)
    target = torch.rand(3, 49, 16, generator=g)
    _, mask, _ = random_masking(3, 49, 0.75, g)
    visible = (1 - mask)[..., None]
    crafted = target + 5.0 * visible * torch.randn(3, 49, 16, generator=g)   # wrong on visible patches only
    assert masked_patch_loss(crafted, target, mask) == 0
    worse = crafted + 0.1 * (1 - visible)
    expected = 0.01 * 16 * 37                                     # per image: 37 hidden patches of 16 pixels
    assert masked_patch_loss(worse, target, mask).item() == pytest.approx(expected, rel=1e-5)


def test_model_loss_has_no_gradient_on_visible_patches():
    model = _tiny()
    outputs = []

    def keep(module, inputs, output):
        output.retain_grad()
        outputs.append(output)

    model.decoder.head.register_forward_hook(keep)
    model.loss({"x": torch.rand(4, 1, 28, 28)})["loss"].backward()
    touched = outputs[0].grad.abs().sum(-1) > 0
    assert (touched.sum(1) == 37).all()                           # only the 37 hidden patches


def test_encoder_sees_visible_tokens_only():
    model = _tiny()
    lengths = []
    model.encoder.transformer.register_forward_pre_hook(lambda m, args: lengths.append(args[0].shape[1]))
    model.loss({"x": torch.rand(2, 1, 28, 28)})
    assert lengths == [1 + 12]                                    # cls token + 12 visible patches
    model.encode(torch.rand(2, 1, 28, 28))
    assert lengths[-1] == 1 + 49                                  # encode: every patch, unmasked


def test_capabilities_shapes_and_determinism():
    model = _tiny().eval()
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        assert model.encode(x).shape == (5, 32)
        masked, recon, mask = model.mask_and_reconstruct(x, torch.Generator().manual_seed(0))
        assert masked.shape == recon.shape == x.shape and mask.shape == (5, 7, 7)
        pixels = mask.repeat_interleave(4, 1).repeat_interleave(4, 2)[:, None].bool()
        assert torch.equal(recon[~pixels], x[~pixels])              # visible patches pasted back
        assert torch.equal(masked[~pixels], x[~pixels]) and (masked[pixels] == 0.5).all()
        assert recon.min() >= 0 and recon.max() <= 1
        assert torch.equal(model.reconstruct(x), model.reconstruct(x))
        again = model.mask_and_reconstruct(x, torch.Generator().manual_seed(0))
        assert torch.equal(again[1], recon)
    assert model.backbone() is model.encoder
    assert model.backbone()(x).shape == (5, 50, 32)
    assert set(model.capabilities()) == {"encode", "reconstruct"}
    colour = _tiny(image_shape=(3, 32, 32), patch_size=8, pos_embed="learned", pool="cls", norm_pix_loss=True)
    y = torch.rand(2, 3, 32, 32)
    assert colour.reconstruct(y).shape == y.shape and colour.encode(y).shape == (2, 32)
    assert torch.isfinite(colour.loss({"x": y})["loss"])


def test_bad_configs_refused():
    with pytest.raises(ConfigError, match="patch_size=5"):
        genlab.create("mae", patch_size=5)
    with pytest.raises(ConfigError, match="embed_dim"):
        genlab.create("mae", embed_dim=30)
    with pytest.raises(ConfigError, match="mask_ratio"):
        genlab.create("mae", mask_ratio=1.0)
    with pytest.raises(ConfigError, match="steps_per_batch"):
        genlab.create("mae", steps_per_batch=0)


def test_training_learns_to_fill_in(small):
    train, test = small
    torch.manual_seed(0)
    model = _tiny()
    player = model.players()[0]

    def hidden_error():
        with torch.no_grad():
            _, recon, mask = model.mask_and_reconstruct(test.x, torch.Generator().manual_seed(0))
        hidden = mask.repeat_interleave(4, 1).repeat_interleave(4, 2)[:, None].bool()
        return float((recon - test.x)[hidden].pow(2).mean()), float(test.x[hidden].pow(2).mean())

    before, black = hidden_error()
    for epoch in range(8):
        for batch in train.batches(32):
            player.step(batch)
    after, _ = hidden_error()
    assert after < 0.5 * before and after < 0.8 * black     # black: predicting empty patches


def test_classifier_head_freezes_or_finetunes():
    model = _tiny()
    x, y = torch.rand(6, 1, 28, 28), torch.tensor([0, 1, 2, 0, 1, 2])
    probe = MAEClassifier(model, num_classes=3, freeze=True).train()
    torch.nn.functional.cross_entropy(probe(x), y).backward()
    assert all(p.grad is None for p in model.parameters()) and probe.head[1].weight.grad is not None
    assert not model.training                                    # a frozen backbone stays in eval mode
    tuned = MAEClassifier(_tiny(), num_classes=3).train()
    torch.nn.functional.cross_entropy(tuned(x), y).backward()
    assert tuned.mae.encoder.embed.weight.grad is not None
    assert tuned.mae.decoder.head.weight.grad is None             # the decoder plays no part
