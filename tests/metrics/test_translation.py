"""genlab.metrics.translation: judge-FID, label preservation, cycle error, attribute accuracy, colour drift."""
import pytest
import torch

import genlab
from genlab.metrics import translation as tr

GROUPS = [[0, 1, 2], [3, 4]]   # thin/normal/thick, upright/tilted


def test_fid_of_a_set_with_itself_is_zero_and_the_inputs_are_the_reference():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(400, 8, generator=g)
    inputs = torch.randn(400, 8, generator=g) + 3        # another domain: shifted by 3 in every feature
    fids = tr.judge_fids(target, target, inputs)
    assert fids["fid"] == pytest.approx(0, abs=1e-8)
    assert fids["input_fid"] == pytest.approx(8 * 9, rel=0.15)   # ‖Δμ‖² = 8·3², covariances alike
    half = tr.judge_fids(target, torch.randn(400, 8, generator=g) + 1.5, inputs)
    assert 0 < half["fid"] < half["input_fid"]


def test_label_kept_counts_the_judged_class_against_the_source_label(mnist):
    from tests.conftest import MeanJudge

    judge = MeanJudge(mnist[0])
    test = mnist[1].subset(range(0, 1000, 50))                         # 20 digits
    outputs = test.x.clone()
    outputs[:5] = mnist[1].x[torch.nonzero(mnist[1].y == 1)[0, 0]]     # five replaced by one "1"
    probs = judge.embed(outputs)[1]
    by_hand = sum(int(probs[i].argmax()) == int(test.y[i]) for i in range(20)) / 20
    assert tr.label_kept(probs, test.y) == by_hand
    assert tr.label_kept(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 1, 1])) == 0.5
    with pytest.raises(ValueError, match="labels"):
        tr.label_kept(probs, test.y[:3])


def test_cycle_error_is_the_mean_absolute_difference():
    x = torch.zeros(2, 1, 4, 4)
    back = x.clone()
    back[0, 0, :2] = 0.5                                  # 8 of 32 pixels off by 0.5
    assert tr.cycle_error(x, back) == pytest.approx(8 * 0.5 / 32)
    assert tr.cycle_error(x, x) == 0
    with pytest.raises(ValueError, match="shape"):
        tr.cycle_error(x, back[:, :, :3])


def test_attribute_accuracy_reads_the_requested_group_only():
    target = torch.tensor([[0, 0, 1, 1, 0],     # thick, upright
                           [1, 0, 0, 0, 1],     # thin, tilted
                           [0, 1, 0, 1, 0],     # normal, upright
                           [0, 0, 1, 0, 1]]).float()
    read = torch.tensor([[0, 0, 1, 0, 1],       # stroke right, tilt wrong
                         [1, 0, 0, 0, 1],       # both right
                         [1, 0, 0, 1, 0],       # stroke wrong, tilt right
                         [0, 0.2, 0.7, 0.9, 0.1]])   # scores: thick (right), upright (wrong)
    requested = torch.tensor([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=torch.bool)   # stroke, tilt, stroke, tilt
    assert tr.attribute_accuracy(read, target, GROUPS, requested) == 2 / 4      # rows 0 and 1 reached theirs
    assert tr.attributes_kept(read, target, GROUPS, requested) == 3 / 4         # row 0's tilt was not kept
    assert tr.attribute_accuracy(read, target, GROUPS) == 1 / 4                 # every group: row 1 alone
    # thick asked once (row 0, reached), normal once (row 2, missed), tilted twice (rows 1 ✓ and 3 ✗)
    assert tr.per_attribute_accuracy(read, target, GROUPS, requested) == {1: 0.0, 2: 1.0, 4: 0.5}
    hits = tr.attribute_hits(read, target, GROUPS)
    assert hits.tolist() == [[True, False], [True, True], [False, True], [True, False]]


def test_changed_targets_change_exactly_one_group_to_each_other_value():
    source = torch.tensor([[1, 0, 0, 1, 0], [0, 0, 1, 0, 1]]).float()
    rows, targets, requested = tr.changed_targets(source, GROUPS)
    assert len(rows) == 2 * (2 + 1)                         # per image: 2 other strokes, 1 other tilt
    values_s, values_t = tr.group_values(source[rows], GROUPS), tr.group_values(targets, GROUPS)
    assert torch.equal(values_s != values_t, requested)     # the requested group, and only it, differs
    assert (targets[:, :3].sum(1) == 1).all() and (targets[:, 3:].sum(1) == 1).all()
    # reading the targets back perfectly: all reached, all others kept; reading the sources: none reached
    assert tr.attribute_accuracy(targets, targets, GROUPS, requested) == 1.0
    assert tr.attributes_kept(source[rows], targets, GROUPS, requested) == 1.0
    assert tr.attribute_accuracy(source[rows], targets, GROUPS, requested) == 0.0
    per = tr.per_attribute_accuracy(targets, targets, GROUPS, requested)
    assert set(per) == {0, 1, 2, 3, 4} and all(v == 1.0 for v in per.values())


def test_colour_drift_measures_the_mean_colour_and_luma_the_brightness():
    colour = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    grey = tr.luma(colour).expand(-1, 3, -1, -1)
    assert tr.luma_drift(grey, colour) == pytest.approx(0, abs=1e-6)   # grey2colour's grey keeps the luma
    assert tr.colour_drift(colour, colour) == 0
    red = colour.clone()
    red[:, 0] = (red[:, 0] + 0.3).clamp(max=1)
    moved = (red[:, 0].mean((1, 2)) - colour[:, 0].mean((1, 2))).abs().mean() / 3
    assert tr.colour_drift(red, colour) == pytest.approx(float(moved))
    assert tr.luma_drift(red, colour) == pytest.approx(0.299 * float(moved) * 3)


def test_the_attribute_classifier_learns_the_attributes_and_is_cached(monkeypatch, tmp_path, one_thread):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    data = genlab.load_data("attributes:digits", "train")
    test = genlab.load_data("attributes:digits", "test")
    groups = data.meta["attribute_groups"]
    net = tr.train_attribute_classifier(data, groups, epochs=3, width=8)
    acc = tr.group_accuracy(net, test, groups, data.meta["attributes"])
    assert acc["plain/inverted"] >= 0.95                       # chance: 0.5
    assert acc["thin/normal/thick"] >= 0.6                     # chance: 0.34
    read = tr.read_attributes(net, test.x, groups)
    assert ((read[:, :3].sum(1) == 1) & (read[:, 3:5].sum(1) == 1)).all()

    first, _ = tr.get_attribute_classifier("attributes:digits", (1, 8, 8), epochs=1)
    assert (tr.attribute_classifier_path("attributes:digits", (1, 8, 8)) / "judge.json").is_file()
    again, info2 = tr.get_attribute_classifier("attributes:digits", (1, 8, 8), train_if_missing=False)
    assert torch.equal(tr.read_attributes(first, test.x, groups), tr.read_attributes(again, test.x, groups))
    assert info2["attributes"] == data.meta["attributes"] and set(info2["test_accuracy"]) == set(acc)
    with pytest.raises(genlab.GenlabError, match="no attribute classifier"):
        tr.get_attribute_classifier("attributes:digits", (1, 16, 16), train_if_missing=False)
