"""How long a run trains by default, its short-run warning, early stopping, interrupts and what a
resumed run may change."""
import json
import signal
import warnings

import lightning as L
import pytest
import torch

import genlab
from genlab.errors import ConfigError, Interrupted, RunFolderError
from genlab.io import load_tensors, load_tree
from genlab.train import CALIBRATION_IMAGES, TrainingLengthWarning, training_length


def test_default_length_keeps_the_calibrated_optimiser_steps(small):
    train, _ = small
    vae = genlab.create("vae", data=train)
    infogan = genlab.create("infogan", data=train)
    # on the calibration data the defaults are unchanged
    assert CALIBRATION_IMAGES == len(genlab.load_data("mnist5k", "train"))
    on_mnist = training_length(vae, CALIBRATION_IMAGES)
    assert (on_mnist.epochs, on_mnist.batch_size, on_mnist.steps) == (30, 128, 960)
    assert training_length(infogan, CALIBRATION_IMAGES).epochs == infogan.default_epochs
    # 300 images: the batch is capped so that an epoch is several steps, and more epochs keep the steps
    small_run = training_length(vae, 300)
    assert small_run.batch_size == 37 and small_run.steps_per_epoch == 9
    assert small_run.epochs == 107 and 960 <= small_run.steps < 970
    assert training_length(vae, 40).batch_size == 16            # the floor
    assert training_length(vae, 10).batch_size == 10            # never above the data
    # a larger set: the same steps, at least one epoch
    assert training_length(vae, 60_000).epochs == 3 and training_length(vae, 200_000).epochs == 1
    # given values are kept
    assert (training_length(vae, 300, epochs=3, batch_size=64).epochs,
            training_length(vae, 300, epochs=3, batch_size=64).batch_size) == (3, 64)


def test_short_run_warns_once_before_training_and_the_default_does_not(small, tmp_path):
    train, _ = small
    model = genlab.create("ae", data=train, latent_dim=4)
    with pytest.warns(TrainingLengthWarning) as caught:
        genlab.train(model, train, epochs=1, progress=False)
    (w,) = caught
    message = str(w.message)
    # 400 images → batch 50 (n/8) → 8 steps an epoch; ae needs about half its 320 calibrated steps
    assert message.startswith("8 optimiser steps (1 epoch of 8 batches of 50); ae needs about 160: "
                              "pass --epochs 20 or more") and "\n" not in message
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingLengthWarning)
        result = genlab.train(genlab.create("ae", data=train, latent_dim=4), train, out=tmp_path / "run",
                              progress=False, max_seconds=1)    # the time budget ends it early
    info = json.loads((tmp_path / "run" / "config.json").read_text())
    assert info["train"]["epochs"] == 40 and info["train"]["batch_size"] == 50   # what was used, recorded
    assert result.epochs == 40


def test_early_stopping_keeps_the_best_epochs_weights(small, tmp_path):
    train, test = small
    model = genlab.create("ae", data=train, latent_dim=8, seed=0)
    # a rate this high makes the held-out loss wander, so patience 2 runs out well before 40 epochs
    result = genlab.train(model, train, epochs=40, batch_size=20, val_data=test, early_stop=2, lr=0.05,
                          out=tmp_path / "run", progress=False)
    assert result.stopped_early_at is not None and result.stopped_early_at < 40
    assert result.best_epoch == result.stopped_early_at - 2
    rows = [line.split(",") for line in (tmp_path / "run" / "metrics.csv").read_text().splitlines()]
    col = rows[0].index("val/loss")
    val = [float(r[col]) for r in rows[1:] if r[col]]
    assert len(val) == result.stopped_early_at
    assert min(val) == val[result.best_epoch - 1] < val[-1]
    # the returned model and model.safetensors are the best epoch's; its held-out loss says so
    saved = load_tensors(tmp_path / "run" / "model.safetensors")
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())
    with torch.no_grad():
        loss = sum(float(model.loss(b)["loss"]) * len(b["x"]) for b in test.loader(512, shuffle=False)) / len(test)
    assert loss == pytest.approx(val[result.best_epoch - 1], rel=1e-4)
    info = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert (info["early_stop"], info["stopped_early_at"], info["best_epoch"]) == \
        (2, result.stopped_early_at, result.best_epoch)
    with pytest.raises(ConfigError, match="stopped early at epoch"):
        genlab.resume(tmp_path / "run", data=train, val_data=test, progress=False)


def test_early_stopping_refuses_what_it_cannot_watch(small):
    train, test = small
    with pytest.raises(ConfigError, match="pass val_data"):
        genlab.train(genlab.create("ae", data=train), train, epochs=2, early_stop=2, progress=False)
    with pytest.raises(ConfigError, match="2 players with competing losses"):
        genlab.train(genlab.create("dcgan", data=train, g_width=8, d_width=8), train, epochs=2, val_data=test,
                     early_stop=2, progress=False)
    with pytest.raises(ConfigError, match="at least 1"):
        genlab.train(genlab.create("ae", data=train), train, epochs=2, val_data=test, early_stop=0, progress=False)


class _CtrlC(L.Callback):
    """Ctrl-C as Lightning sees it: a KeyboardInterrupt at the start of epoch ``at`` (from 1)."""

    def __init__(self, at: int):
        self.at = at

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch + 1 == self.at:
            raise KeyboardInterrupt


def test_interrupt_raises_interrupted_with_the_saved_epochs(small, tmp_path):
    train, test = small
    handler = signal.getsignal(signal.SIGINT)
    model = genlab.create("ae", data=train, latent_dim=4)
    with pytest.raises(Interrupted) as caught:
        genlab.train(model, train, epochs=5, batch_size=50, val_data=test, out=tmp_path / "run", progress=False,
                     callbacks=[_CtrlC(3)])
    exc = caught.value
    assert (exc.epoch, exc.epochs_done, exc.run_dir) == (3, 2, tmp_path / "run")
    assert str(exc).startswith(f"interrupted at epoch 3; resume with: genlab train --resume {tmp_path / 'run'}")
    assert int(load_tree(tmp_path / "run" / "checkpoint.safetensors")["epoch"]) + 1 == 2
    assert signal.getsignal(signal.SIGINT) is handler          # Lightning's SIG_IGN is undone
    result = genlab.resume(tmp_path / "run", data=train, val_data=test, progress=False)
    assert (result.first_epoch, result.last_epoch) == (3, 5)
    # before any epoch finished: nothing to resume, and it says so
    with pytest.raises(Interrupted, match="before any epoch finished: nothing was saved") as caught:
        genlab.train(genlab.create("ae", data=train), train, epochs=2, out=tmp_path / "early", progress=False,
                     callbacks=[_CtrlC(1)])
    assert caught.value.epochs_done == 0
    with pytest.raises(Interrupted, match="no run folder was written"):
        genlab.train(genlab.create("ae", data=train), train, epochs=2, progress=False, callbacks=[_CtrlC(2)])


@pytest.fixture
def four_epochs(small, tmp_path):
    train, test = small
    genlab.train(genlab.create("vae", data=train, latent_dim=2), train, epochs=4, batch_size=50, val_data=test,
                 out=tmp_path / "run", progress=False, data_info={"spec": "mnist5k"})
    return tmp_path / "run"


def test_resume_refuses_what_would_be_ignored(four_epochs, small):
    train, test = small
    run = four_epochs
    go = dict(data=train, val_data=test, progress=False)
    with pytest.raises(ConfigError, match=f"^{run} has already trained 4 epochs; --epochs \\(epochs=\\) is the "
                                          "total, pass more than 4$"):
        genlab.resume(run, epochs=3, **go)
    with pytest.raises(ConfigError, match=f"^{run} is already trained to 4 epochs; pass --epochs 8"):
        genlab.resume(run, **go)
    with pytest.raises(ConfigError, match=f"^{run} is already trained to 4 epochs"):
        genlab.resume(run, epochs=4, **go)
    with pytest.raises(ConfigError, match=f"{run} is a vae run: resuming it cannot train a dcgan"):
        genlab.resume(run, epochs=5, model="dcgan", **go)
    with pytest.raises(ConfigError, match="latent_dim=5 \\(the run has 2\\) cannot change on --resume.*"
                                          "keys that may change: lr;"):
        genlab.resume(run, epochs=5, config={"latent_dim": 5}, **go)
    with pytest.raises(ConfigError, match="--data digits differs from the data .* \\(mnist5k\\)"):
        genlab.resume(run, epochs=5, data_spec="digits", **go)
    with pytest.raises(ConfigError, match="--image-size 32 differs .*the images' own size"):
        genlab.resume(run, epochs=5, image_size=32, **go)
    stamp = (run / "checkpoint.safetensors").read_bytes()
    assert (run / "checkpoint.safetensors").read_bytes() == stamp          # nothing was touched
    # unchanged values and the learning rate are fine; the new rate is used from the first resumed step
    seen = []

    class Read(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx == 0:
                seen.append(trainer.optimizers[0].param_groups[0]["lr"])

    result = genlab.resume(run, epochs=5, config={"latent_dim": 2, "lr": 1e-4}, callbacks=[Read()], **go)
    assert seen == [pytest.approx(1e-4)] and (result.first_epoch, result.last_epoch) == (5, 5)
    assert json.loads((run / "config.json").read_text())["config"]["lr"] == pytest.approx(1e-4)


def test_resume_without_a_checkpoint_names_both_spellings(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "ae", "config": {}, "data": {"spec": "mnist5k"},
                                                 "train": {"epochs": 2, "batch_size": 8}}))
    with pytest.raises(RunFolderError, match="overwrite=True \\(--overwrite\\)"):
        genlab.resume(run)


def test_every_overwrite_refusal_names_both_spellings(tmp_path):
    from genlab import runs
    from genlab.apps.common import output_file, output_folder
    from genlab.apps.experiments import adam_vs_sgd
    from genlab.apps.sweep import sweep_kl

    full = tmp_path / "full"
    full.mkdir()
    (full / "x.png").write_bytes(b"x")
    (full / "config.json").write_text(json.dumps({"model": "ae", "config": {}}))   # no weights: never trained
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    refusals = [lambda: runs.prepare(full), lambda: runs.prepare(mine, overwrite=True),
                lambda: output_folder(full, tmp_path / "d"), lambda: output_file(full / "x.png", tmp_path / "d.png"),
                lambda: sweep_kl(out=full), lambda: adam_vs_sgd(out=full),
                lambda: runs.load(full)]
    for refuse in refusals:
        with pytest.raises(RunFolderError) as caught:
            refuse()
        message = str(caught.value)
        assert "overwrite=True" in message and "--overwrite" in message, message
    assert (mine / "thesis.txt").read_text() == "precious"
