"""Binarised data: a fixed threshold x = [g > t], and dynamic binarisation x ~ Bernoulli(g) drawn afresh
for every training batch (Burda et al. 2016) with the held-out split drawn once (Salakhutdinov & Murray
2008); through load_data, load_spec, the batch iterator, the engine and `genlab train --binarize`."""
import json

import pytest
import torch

from genlab.data import DATASETS, load_data, load_spec, parse_binarize
from genlab.errors import ConfigError, DataError
from tests.cli_run import run

pytestmark = pytest.mark.usefixtures("one_thread")


def _binary(x) -> bool:
    return bool(((x == 0) | (x == 1)).all())


def test_fixed_threshold_is_exactly_zero_or_one_with_two_levels():
    grey = load_data("mnist5k", "test", limit=200)
    data = load_data("mnist5k", "test", limit=200, binarize=0.3)
    assert _binary(data.x) and torch.equal(data.x, (grey.x > 0.3).float())
    assert data.meta == {"levels": 2, "binarize": 0.3}
    assert data.y is not None and torch.equal(data.y, grey.y) and data.classes == grey.classes
    # the threshold matters: a higher one turns fewer pixels on
    assert data.x.sum() > load_data("mnist5k", "test", limit=200, binarize=0.8).x.sum()
    # the batch iterator yields the thresholded images as they are, every time
    assert not data.redraws and torch.equal(data.batch(50)["x"], data.x[:50])


def test_mnist5k_bin_is_mnist5k_thresholded_at_half():
    assert "mnist5k-bin" in DATASETS
    for split in ("train", "test"):
        b, g = load_data("mnist5k-bin", split), load_data("mnist5k", split)
        assert torch.equal(b.x, (g.x > 0.5).float()) and torch.equal(b.y, g.y)
        assert b.meta == {"levels": 2, "binarize": 0.5} and b.name == "mnist5k-bin"
    assert len(load_data("mnist5k-bin", "train")) == 4000
    # resized before thresholding: still binary
    assert _binary(load_data("mnist5k-bin", "test", image_size=14, limit=20).x)
    assert torch.equal(load_data("mnist5k-bin", "test", binarize=0.5).x, load_data("mnist5k-bin", "test").x)
    with pytest.raises(ConfigError, match="already binarised at 0.5.*--data mnist5k --binarize dynamic"):
        load_data("mnist5k-bin", binarize="dynamic")


def test_dynamic_batches_are_fresh_bernoulli_draws_of_the_grey_images(small):
    grey = small[0]
    data = load_data("mnist5k", "train", binarize="dynamic").subset(range(0, 4000, 10))
    assert torch.equal(data.x, grey.x)                      # the split keeps its grey values
    assert data.meta == {"levels": 2, "binarize": "dynamic"} and data.redraws
    loader = data.loader(100, shuffle=False)
    first, second = [b["x"] for b in loader], [b["x"] for b in loader]
    assert all(_binary(x) for x in first + second)
    assert not any(torch.equal(a, b) for a, b in zip(first, second))   # a new draw every epoch
    drawn = torch.cat(first)
    assert abs(float(drawn.mean()) - float(grey.x.mean())) < 0.005     # E[x] = g over 314k pixels
    # per pixel the average of many draws approaches g, which no threshold does on mid-grey pixels
    g = grey.x[:20]
    mean = torch.stack([data.batch(20)["x"] for _ in range(300)]).mean(0)
    mid = (g > 0.2) & (g < 0.8)
    assert mid.sum() > 200
    assert float((mean - g)[mid].abs().mean()) < 0.04
    assert float(((g > 0.5).float() - g)[mid].abs().mean()) > 0.15
    # drawn from torch's global generator: the engine's seeding makes the draws reproducible
    torch.manual_seed(7)
    a = next(iter(data.loader(50, shuffle=False)))["x"]
    torch.manual_seed(7)
    assert torch.equal(a, next(iter(data.loader(50, shuffle=False)))["x"])
    # subset and spread keep the meta (and so the draws); a subset's meta is its own dict
    part = data.spread(8)
    assert part.meta == data.meta and part.meta is not data.meta and part.redraws
    assert _binary(part.batch()["x"]) and not torch.equal(part.batch()["x"], part.x)


def test_dynamic_test_split_is_one_fixed_draw():
    first, again = load_data("mnist5k", "test", binarize="dynamic"), load_data("mnist5k", "test", binarize="dynamic")
    grey = load_data("mnist5k", "test")
    assert _binary(first.x) and torch.equal(first.x, again.x)           # the same at every load
    assert not torch.equal(first.x, (grey.x > 0.5).float())             # a draw, not a threshold
    assert abs(float(first.x.mean()) - float(grey.x.mean())) < 0.005
    assert first.meta == {"levels": 2, "binarize": "dynamic"} and not first.redraws
    assert torch.equal(first.batch(30)["x"], first.x[:30])              # held out: no further draws
    # a limit takes the first images of the same draw
    assert torch.equal(load_data("mnist5k", "test", limit=10, binarize="dynamic").x, first.x[:10])


def test_bad_values_colour_and_tasks_are_refused_in_one_line():
    for bad in ("half", 0, 1, 1.5, -0.2, "1", True):
        with pytest.raises(ConfigError, match=r"takes a threshold between 0 and 1 \(e.g. 0.5\) or 'dynamic'"):
            load_data("digits", "test", binarize=bad)
    assert parse_binarize("0.25") == 0.25 and parse_binarize("dynamic") == "dynamic" and parse_binarize(None) is None
    with pytest.raises(DataError, match="binarize needs grey images; shapes has 3 channels: add --channels 1"):
        load_data("shapes", "test", binarize=0.5)
    grey_shapes = load_data("shapes", "test", channels=1, binarize="dynamic")
    assert grey_shapes.x.shape[1] == 1 and grey_shapes.meta["levels"] == 2
    with pytest.raises(ConfigError, match="--binarize and --task denoise:gaussian:0.3 do not combine"):
        load_data("digits", "test", binarize=0.5, task="denoise:gaussian:0.3")
    with pytest.raises(ConfigError, match="--task superres:4 does not combine with binarised data"):
        load_data("mnist5k-bin", "test", task="superres:4")


def test_load_spec_reads_binarize():
    info = {"spec": "digits", "image_size": None, "channels": None, "binarize": 0.5}
    assert torch.equal(load_spec(info, "test").x, load_data("digits", "test", binarize=0.5).x)
    assert load_spec({**info, "binarize": "dynamic"}, "train").redraws
    assert "binarize" not in load_spec({"spec": "digits"}, "test").meta


def test_train_binarize_end_to_end_and_resume_keeps_it(tmp_path, capsys):
    def refused(*argv):
        code, out, err = run(capsys, "train", *argv, "--no-progress", "--no-report")
        assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("genlab: error: "), err
        return err.removeprefix("genlab: error: ").strip()

    run_dir = tmp_path / "run"
    assert "takes a threshold between 0 and 1" in refused("fvsbn", "--data", "digits", "--binarize", "2",
                                                          "--out", run_dir)
    assert "binarize needs grey images" in refused("fvsbn", "--data", "shapes", "--binarize", "0.5",
                                                   "--out", run_dir)
    assert not run_dir.exists()
    code, out, err = run(capsys, "train", "fvsbn", "--data", "digits", "--binarize", "dynamic", "--epochs", 1,
                         "--batch-size", 64, "--out", run_dir, "--no-progress", "--no-report")
    assert code == 0, err
    info = json.loads((run_dir / "config.json").read_text())
    assert info["data"]["binarize"] == "dynamic" and info["config"]["levels"] == 2
    # eval, report and resume reload the same data from config.json
    import genlab
    from genlab.apps.common import run_data

    model = genlab.runs.load(run_dir)
    held_out = run_data(model)
    assert _binary(held_out.x) and torch.equal(held_out.x, load_data("digits", "test", binarize="dynamic").x)
    assert refused("--resume", run_dir, "--epochs", 2, "--binarize", "0.5").startswith(
        "--binarize 0.5 differs from the data")
    assert "(binarize dynamic)" in refused("--resume", run_dir, "--epochs", 2, "--binarize", "0.5")
    assert "takes a threshold" in refused("--resume", run_dir, "--epochs", 2, "--binarize", "yes")
    code, out, err = run(capsys, "train", "--resume", run_dir, "--epochs", 2, "--binarize", "dynamic",
                         "--no-progress", "--no-report")
    assert code == 0 and out.startswith("trained epoch 2 of 2 in "), err


def test_resume_refuses_binarize_on_a_grey_run(tmp_path, capsys):
    run_dir = tmp_path / "grey"
    code, _, err = run(capsys, "train", "fvsbn", "--data", "digits", "--epochs", 1, "--batch-size", 64,
                       "--out", run_dir, "--no-progress", "--no-report")
    assert code == 0, err
    assert "binarize" not in json.loads((run_dir / "config.json").read_text())["data"]
    code, _, err = run(capsys, "train", "--resume", run_dir, "--epochs", 2, "--binarize", "dynamic",
                       "--no-progress", "--no-report")
    assert code == 2 and err.strip() == (f"genlab: error: --binarize dynamic differs from the data {run_dir} was "
                                         "trained on (grey images, not binarised); a resumed run continues on its "
                                         "own data: drop --binarize, or train a new run (--out)")


def test_the_engine_trains_on_fresh_draws_and_its_seed_repeats_them():
    """What the model's loss sees in training: binary batches, new each epoch, the same for the same seed."""
    import lightning as L

    import genlab
    from genlab.train import train

    data = load_data("digits", "train", binarize="dynamic").subset(range(128))

    class Seen(L.Callback):
        def __init__(self):
            self.batches = []

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.batches.append(batch["x"].clone())

    def seen(seed):
        cb = Seen()
        model = genlab.runs.create("fvsbn", data=data, seed=0)
        train(model, data, epochs=2, batch_size=128, seed=seed, progress=False, callbacks=[cb])
        return cb.batches

    first = seen(3)
    assert len(first) == 2 and all(_binary(x) for x in first)
    assert not torch.equal(first[0], first[1])                          # epoch 2 draws anew
    assert all(torch.equal(a, b) for a, b in zip(first, seen(3)))       # the seed repeats the draws
    assert not torch.equal(first[0], seen(4)[0])


def test_resume_of_a_binarised_spec_knows_its_threshold(tmp_path, capsys):
    run_dir = tmp_path / "bin"
    code, _, err = run(capsys, "train", "fvsbn", "--data", "mnist5k-bin", "--epochs", 1, "--batch-size", 256,
                       "--out", run_dir, "--no-progress", "--no-report")
    assert code == 0, err
    assert json.loads((run_dir / "config.json").read_text())["config"]["levels"] == 2
    code, _, err = run(capsys, "train", "--resume", run_dir, "--epochs", 2, "--binarize", "dynamic",
                       "--no-progress", "--no-report")
    assert code == 2 and "--binarize dynamic differs from the data" in err and "(binarize 0.5)" in err
    code, out, err = run(capsys, "train", "--resume", run_dir, "--epochs", 2, "--binarize", "0.5",
                         "--no-progress", "--no-report")
    assert code == 0 and out.startswith("trained epoch 2 of 2 in "), err
