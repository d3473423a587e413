"""StarGAN (genlab.models.stargan): the two-headed game, the classification terms, targets by name."""
import pytest
import torch
import torch.nn.functional as F

import genlab
from genlab.data import ImageData
from genlab.errors import ConfigError, DataError
from genlab.models.stargan import attribute_accuracy, classification_loss, shuffled_targets
from genlab.runs import create

NAMES = ["plain", "inverted", "upright", "flipped"]
GROUPS = [[0, 1], [2, 3]]
TINY = {"g_width": 8, "g_blocks": 1, "d_width": 8, "d_layers": 2}


def _toy(n=64, size=12, seed=0):
    """Dark images with one bright bar low in the frame, each plain or inverted (1 − x) and upright or
    flipped upside down: two exclusive groups, balanced, seeded."""
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n, 1, size, size), 0.1)
    for i in range(n):
        r = int(torch.randint(size // 2, size - 2, (1,), generator=g))
        c = int(torch.randint(0, size // 2, (1,), generator=g))
        x[i, 0, r:r + 2, c:c + size // 2] = 0.9
    inverted = (torch.arange(n) % 2).bool()
    flipped = ((torch.arange(n) // 2) % 2).bool()
    x = torch.where(flipped[:, None, None, None], torch.flip(x, dims=[-2]), x)
    x = torch.where(inverted[:, None, None, None], 1 - x, x)
    attributes = torch.stack([~inverted, inverted, ~flipped, flipped], 1).float()
    return ImageData(x, name="toy-attributes", attributes=attributes,
                     meta={"attributes": list(NAMES), "attribute_groups": [list(g) for g in GROUPS]})


def _model(data=None, **kw):
    return create("stargan", data=data if data is not None else _toy(8), seed=0, **{**TINY, **kw})


# ------------------------------------------------------------------ config and data

def test_config_takes_attributes_and_groups_from_the_data_and_refuses_data_without():
    model = _model()
    assert model.config.attributes == tuple(NAMES)
    assert model.config.attribute_groups == ((0, 1), (2, 3))
    assert model.config.image_shape == (1, 12, 12)
    space = model.label_space
    assert (space.kind, space.size, space.names) == ("attributes", 4, tuple(NAMES))
    assert model.capabilities() == ["translate"]
    plain = ImageData(torch.rand(4, 1, 12, 12), name="noise")
    with pytest.raises(DataError, match=r"noise has none; train it on --data attributes:SPEC"):
        create("stargan", data=plain)
    with pytest.raises(DataError, match="attributes:SPEC"):
        model.prepare(plain)


def test_defaults_are_the_papers_game_at_a_small_width():
    model = genlab.create("stargan")
    cfg = model.config
    assert (cfg.cls_weight, cfg.rec_weight, cfg.gp_weight, cfg.d_steps, cfg.lr, cfg.beta1, cfg.beta2) == \
        (1.0, 10.0, 10.0, 5, 1e-4, 0.5, 0.999)
    d, g = model.players()
    assert (d.name, d.steps, g.name, g.steps) == ("discriminator", 5, "generator", 1)
    assert d.optimizer.param_groups[0]["betas"] == (0.5, 0.999) and g.optimizer.param_groups[0]["lr"] == 1e-4
    assert {id(p) for p in d.parameters} == {id(p) for p in model.discriminator.parameters()}
    assert {id(p) for p in g.parameters} == {id(p) for p in model.generator.parameters()}
    assert d.lr_schedule(0.4) == 1.0 and d.lr_schedule(0.75) == pytest.approx(0.5)   # decay over the second half


def test_bad_attribute_groups_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="index 5.*0…3"):
        genlab.create("stargan", attributes=NAMES, attribute_groups=[[0, 5]])
    with pytest.raises(ConfigError, match="disjoint"):
        genlab.create("stargan", attributes=NAMES, attribute_groups=[[0, 1], [1, 2]])


# ------------------------------------------------------------------ the classification terms

def test_classification_loss_is_a_softmax_per_group_or_bce_per_attribute():
    torch.manual_seed(0)
    logits = torch.randn(6, 5)
    target = torch.tensor([[1, 0, 0, 1, 1], [0, 1, 0, 0, 0], [0, 0, 1, 1, 0]] * 2).float()
    groups = [[0, 1, 2]]                                   # attributes 3 and 4 in no group: yes/no each
    expected = (F.cross_entropy(logits[:, :3], target[:, :3].argmax(1))
                + F.binary_cross_entropy_with_logits(logits[:, 3:], target[:, 3:], reduction="sum") / 6)
    assert torch.allclose(classification_loss(logits, target, groups), expected)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(1).mean()
    assert torch.allclose(classification_loss(logits, target, groups, kind="bce"), bce)
    # confident right logits: loss near 0 and accuracy 1; wrong ones: large loss, accuracy 0
    right = (target * 2 - 1) * 20
    assert float(classification_loss(right, target, groups)) < 1e-6
    assert float(attribute_accuracy(right, target, groups)) == 1.0
    assert float(classification_loss(-right, target, groups)) > 20
    assert float(attribute_accuracy(-right, target, groups)) == 0.0


def test_targets_permute_the_batchs_own_attribute_vectors():
    c = torch.eye(6)
    t = shuffled_targets(c, torch.Generator().manual_seed(0))
    assert sorted(t.argmax(1).tolist()) == list(range(6)) and not torch.equal(t, c)


def _grads(loss, *tensors):
    return torch.autograd.grad(loss, list(tensors), allow_unused=True, retain_graph=True)


def test_d_classifies_real_images_with_their_labels_and_g_classifies_fakes_with_the_targets():
    model = _model().train()
    data = _toy(8)
    x = (data.x * 2 - 1).requires_grad_(True)
    c_org = data.attributes
    c_trg = c_org.flip(0)
    g_param, d_param = model.generator.stem[0].weight, model.discriminator.body[0].weight

    d = model.d_terms(x, c_org, c_trg)
    _, real_logits = model.discriminator(x)
    assert torch.allclose(d["cls"], classification_loss(real_logits, c_org, model.groups))   # real x, real c′
    gx, gg, gd = _grads(d["cls"], x, g_param, d_param)
    assert gx is not None and gx.abs().sum() > 0       # D's classification term reads the real images ...
    assert gg is None and gd.abs().sum() > 0           # ... trains D, and never reaches G
    gg, gd = _grads(d["adv"], g_param, d_param)
    assert gg is None and gd is not None               # the fakes D sees are made without G's gradient

    g = model.g_terms(x, c_org, c_trg)
    _, fake_logits = model.discriminator(model.generator(x, c_trg))
    assert torch.allclose(g["cls"], classification_loss(fake_logits, c_trg, model.groups))  # fakes, targets c
    assert not torch.allclose(g["cls"], classification_loss(fake_logits, c_org, model.groups))
    (gg,) = _grads(g["cls"], g_param)
    assert gg is not None and gg.abs().sum() > 0       # G learns from D_cls on its own translations
    back = model.generator(model.generator(x, c_trg), c_org)
    assert torch.allclose(g["rec"], (x - back).abs().mean())                                # ‖x − G(G(x, c), c′)‖₁


def test_a_training_step_runs_every_player_and_logs_the_terms():
    model = _model()
    batch = {"x": _toy(8).x, "attributes": _toy(8).attributes}
    d, g = model.players()
    out_d, out_g = d.step(batch), g.step(batch)
    assert {"d_real", "d_fake", "wasserstein", "gp", "cls_real", "cls_acc"} <= set(out_d)
    assert {"adv", "cls_fake", "rec", "cls_acc"} <= set(out_g)
    with pytest.raises(DataError, match="attributes:SPEC"):
        d.step({"x": batch["x"]})


# ------------------------------------------------------------------ targets by name and translation

def test_attribute_vector_by_names_fills_the_other_groups():
    model = _model()
    assert model.attribute_vector("inverted").tolist() == [0, 1, 1, 0]          # other group: its first value
    assert model.attribute_vector("flipped, inverted").tolist() == [0, 1, 0, 1]
    base = torch.tensor([[1.0, 0, 0, 1], [0, 1, 1, 0]])
    assert model.attribute_vector(["plain"], base).tolist() == [[1, 0, 0, 1], [1, 0, 1, 0]]   # the source's
    assert model.attribute_vector(3).tolist() == [1, 0, 0, 1]                    # an index names one too
    with pytest.raises(ConfigError) as caught:
        model.attribute_vector("inverted,thick")
    message = str(caught.value)
    assert "unknown attribute 'thick'" in message and "plain, inverted, upright, flipped" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="'plain' and 'inverted' are values of one exclusive group"):
        model.attribute_vector("plain,inverted")
    with pytest.raises(ConfigError, match="out of range.*0…3"):
        model.attribute_vector(4)


def test_translate_checks_its_targets_and_keeps_the_input_size():
    model = _model().eval()
    x = _toy(4).x
    with torch.no_grad():
        out = model.translate(x, torch.tensor([0.0, 1, 1, 0]))
        assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 1
        by_name = model.translate(x, "inverted")
        kept = model.read_attributes(x)
        assert torch.equal(by_name, model.translate(x, model.attribute_vector("inverted", kept)))
        back = model.cycle(x, "inverted", source=_toy(4).attributes)
        assert back[0].shape == back[1].shape == x.shape
    with pytest.raises(ConfigError, match="needs target attributes: name them"):
        model.translate(x)
    with pytest.raises(ConfigError, match="exactly one of plain, inverted"):
        model.translate(x, torch.tensor([1.0, 1, 1, 0]))
    with pytest.raises(ConfigError, match="N×4"):
        model.translate(x, torch.ones(4, 3))


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 16, 16), (1, 13, 11)])
def test_translation_keeps_the_input_size(shape):
    model = genlab.create("stargan", image_shape=shape, **TINY).eval()
    x = torch.rand(2, *shape)
    with torch.no_grad():
        assert model.translate(x, "thick,tilted").shape == x.shape


def _means(model, plain):
    """Mean intensity of plain images translated to "inverted" and to "plain" (the other group kept)."""
    with torch.no_grad():
        return float(model.eval().translate(plain, "inverted").mean()), float(model.translate(plain, "plain").mean())


def test_a_tiny_run_moves_translations_towards_the_requested_attribute():
    torch.manual_seed(0)
    data = _toy(64)
    plain = data.x[data.attributes[:, 0] == 1]
    target = float(data.x[data.attributes[:, 1] == 1].mean())        # inverted images are bright
    gap = target - float(plain.mean())
    model = _model(data, lr=1e-3, d_steps=2, lr_decay=0.0)
    inverted, kept = _means(model, plain)
    assert abs(inverted - kept) < 0.1 * gap                           # untrained: the target changes nothing
    model.train()
    d, g = model.players()
    for epoch in range(10):
        for batch in data.loader(16, seed=epoch):
            for _ in range(d.steps):
                d.step(batch)
            g.step(batch)
    inverted, kept = _means(model, plain)
    assert abs(target - inverted) < 0.5 * abs(gap), (inverted, target)  # "inverted" reaches the bright images
    assert inverted - kept > 0.5 * gap                                  # because of the target label
    assert abs(kept - float(plain.mean())) < 0.25 * abs(gap)            # "plain" leaves them dark


def test_save_and_load_round_trip(tmp_path):
    data = _toy(32)
    model = _model(data, d_steps=1)
    result = genlab.train(model, data, epochs=1, batch_size=16, out=tmp_path / "run", progress=False)
    loaded = genlab.load(result.run_dir)
    assert loaded.config.attributes == tuple(NAMES) and loaded.config.attribute_groups == ((0, 1), (2, 3))
    x = data.x[:4]
    with torch.no_grad():
        assert torch.equal(loaded.eval().translate(x, "flipped"), result.model.eval().translate(x, "flipped"))
    assert (tmp_path / "run" / "samples" / "epoch_001.png").is_file()


def test_preview_shows_the_inputs_then_one_row_per_target_attribute():
    data = _toy(8)
    model = _model(data).eval()
    batch = {"x": data.x, "attributes": data.attributes}
    with torch.no_grad():
        grid = model.preview(batch)
        assert grid.shape == (8 * (1 + len(NAMES)), 1, 12, 12)
        assert model.preview_rows == ("input", "→ plain", "→ inverted", "→ upright", "→ flipped")
        assert torch.equal(grid[:8], data.x)
        # the "→ flipped" row: each image flipped, its polarity kept from its own attributes
        expected = model.translate(data.x, model.attribute_vector("flipped", data.attributes))
        assert torch.allclose(grid[32:40], expected)
