import csv
import json

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

import genlab
from genlab.errors import RunFolderError, TrainingDiverged
from genlab.models.base import Player


def _rows(run):
    with open(run / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_run_folder_save_load_identical(small, tmp_path):
    train, test = small
    model = genlab.create("vae", data=train, latent_dim=3)
    result = genlab.train(model, train, epochs=2, batch_size=64, out=tmp_path / "run", val_data=test, progress=False)
    run = result.run_dir
    names = {p.name for p in run.iterdir()}
    assert {"config.json", "model.safetensors", "checkpoint.safetensors", "metrics.csv", "samples"} <= names
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    info = json.loads((run / "config.json").read_text())
    assert info["model"] == "vae" and info["config"]["latent_dim"] == 3 and info["train"]["epochs"] == 2
    loaded = genlab.load(run)
    x = test.x[:16]
    with torch.no_grad():
        assert torch.equal(loaded.encode(x), model.encode(x))
        assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))
        torch.manual_seed(3)
        a = loaded.sample(4)
        torch.manual_seed(3)
        assert torch.equal(a, model.sample(4))


def test_epoch_means_are_what_the_epoch_logs(small, tmp_path):
    import lightning as L

    train, _ = small
    seen = []

    class Read(L.Callback):       # callbacks' epoch-end hooks run before the engine logs its means
        def on_train_epoch_end(self, trainer, pl_module):
            seen.append(pl_module.epoch_means())

    model = genlab.create("dcgan", data=train, g_width=8, d_width=8)
    genlab.train(model, train, epochs=2, batch_size=64, out=tmp_path / "run", progress=False, callbacks=[Read()],
                 diagnostics=False)
    with open(tmp_path / "run" / "metrics.csv") as f:
        logged = [r for r in csv.DictReader(f) if r.get("train/generator_loss_epoch")]
    assert len(seen) == len(logged) == 2
    for means, row in zip(seen, logged):
        assert {"discriminator_loss", "generator_loss", "generator_grad_norm"} <= set(means)
        for key, value in means.items():
            assert value == pytest.approx(float(row[f"train/{key}_epoch"]), rel=1e-5)


def test_model_families_contribute_training_callbacks(small, tmp_path, monkeypatch):
    import lightning as L

    from genlab.models.autoencoders import Autoencoder
    from genlab.train import callbacks, training_callbacks

    monkeypatch.setattr(callbacks, "_CONTRIBUTED", list(callbacks._CONTRIBUTED))
    train, _ = small
    seen = []

    class Epochs(L.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            seen.append(("epoch", trainer.current_epoch))

    @training_callbacks(Autoencoder)      # a class covers its subclasses (ae, conv-ae, ...)
    def contribute(model, context):
        seen.append((type(model).__name__, context.run_dir, context.spec, context.diagnostics))
        return [Epochs()]

    genlab.train(genlab.create("ae", data=train), train, epochs=2, batch_size=100, out=tmp_path / "run",
                 progress=False)
    assert seen == [("AE", tmp_path / "run", train.name, True), ("epoch", 0), ("epoch", 1)]
    seen.clear()
    genlab.train(genlab.create("conv-ae", data=train), train, epochs=1, batch_size=100, progress=False)
    assert seen == [("ConvAE", None, train.name, True), ("epoch", 0)]
    seen.clear()
    genlab.train(genlab.create("ae", data=train), train, epochs=1, batch_size=100, progress=False, diagnostics=False)
    genlab.train(genlab.create("pca", data=train, latent_dim=4), train, epochs=1, progress=False)
    assert seen == []                                  # switched off; not an Autoencoder


def test_gans_contribute_their_diagnostics_to_runs_with_a_folder(small, tmp_path):
    from genlab.train.callbacks import TrainingContext, contributed_callbacks
    from genlab.train.diagnostics import GAN_DIAGNOSTIC_SAMPLES, GANDiagnostics, Thresholds

    train, _ = small
    gan = genlab.create("dcgan", data=train, g_width=8, d_width=8)
    (cb,) = contributed_callbacks(gan, TrainingContext(tmp_path, train, "mnist5k"))
    assert isinstance(cb, GANDiagnostics) and cb.run_dir == tmp_path and cb.data_spec == "mnist5k"
    assert cb.n == GAN_DIAGNOSTIC_SAMPLES and len(cb.real) == min(GAN_DIAGNOSTIC_SAMPLES, len(train))
    assert cb.thresholds == Thresholds()
    strict = Thresholds(warmup_steps=3)
    (cb,) = contributed_callbacks(gan, TrainingContext(tmp_path, train, "mnist5k", strict))
    assert cb.thresholds is strict
    assert contributed_callbacks(gan, TrainingContext(None, train, "mnist5k")) == []
    assert contributed_callbacks(gan, TrainingContext(tmp_path, train, "mnist5k", False)) == []
    assert contributed_callbacks(genlab.create("vae", data=train), TrainingContext(tmp_path, train, "mnist5k")) == []


def test_batch_size_defaults_to_the_models(small, tmp_path):
    train, _ = small
    model = genlab.create("ae", data=train, latent_dim=4)
    model.default_batch_size = 40
    genlab.train(model, train, epochs=1, out=tmp_path / "run", progress=False)
    info = json.loads((tmp_path / "run" / "config.json").read_text())
    assert info["train"]["batch_size"] == 40
    assert genlab.create("infogan", data=train).default_batch_size == 32


def test_resume_continues_from_saved_step(small, tmp_path):
    train, test = small
    model = genlab.create("conv-ae", data=train)
    first = genlab.train(model, train, epochs=2, batch_size=50, out=tmp_path / "run", val_data=test, progress=False)
    steps_per_epoch = len(train) // 50
    before = _rows(first.run_dir)
    val_before = [float(r["val/loss"]) for r in before if r.get("val/loss")]
    assert len(val_before) == 2
    genlab.resume(first.run_dir, epochs=4, data=train, val_data=test, progress=False)
    rows = _rows(first.run_dir)
    assert rows[: len(before)] == [{k: r.get(k, "") for k in rows[0]} for r in before]  # old curve kept
    epochs = [int(r["epoch"]) for r in rows if r.get("val/loss")]
    assert epochs == [0, 1, 2, 3]
    steps = [int(r["step"]) for r in rows if r.get("train/loss_epoch")]
    assert steps == [steps_per_epoch * k - 1 for k in (1, 2, 3, 4)]
    val = [float(r["val/loss"]) for r in rows if r.get("val/loss")]
    assert val[3] < val[1]  # the curve goes on downwards, not from scratch
    assert json.loads((first.run_dir / "config.json").read_text())["train"]["epochs"] == 4


def test_lr_schedule_is_applied_each_epoch_and_continues_on_resume(small, tmp_path):
    import lightning as L

    from genlab.models.gan.game import linear_decay

    assert [linear_decay(0.5)(e / 10) for e in (0, 4, 5, 6, 9)] == pytest.approx([1, 1, 1, 0.8, 0.2])
    train, _ = small
    seen = []

    class Read(L.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if batch_idx == 0:
                seen.append([opt.param_groups[0]["lr"] for opt in trainer.optimizers])

    model = genlab.create("dcgan", data=train, g_width=8, d_width=8, lr_decay=1.0, lr_d=4e-4)
    genlab.train(model, train, epochs=2, batch_size=100, out=tmp_path / "run", progress=False, callbacks=[Read()],
                 diagnostics=False)
    # 2 epochs, decay over all of them: factors 1, 1/2 of D's 4e-4 and G's 2e-4
    assert seen == [pytest.approx([4e-4, 2e-4]), pytest.approx([2e-4, 1e-4])]
    seen.clear()
    genlab.resume(tmp_path / "run", epochs=4, data=train, progress=False, callbacks=[Read()], diagnostics=False)
    # the schedule is recomputed for 4 epochs from the first rates, not from the decayed ones saved
    assert seen == [pytest.approx([2e-4, 1e-4]), pytest.approx([1e-4, 5e-5])]
    with pytest.raises(genlab.errors.ConfigError, match="lr_decay"):
        genlab.create("dcgan", data=train, lr_decay=1.5)


def test_existing_run_folder_refused_then_overwritten(small, tmp_path):
    train, _ = small
    out = tmp_path / "run"
    genlab.train(genlab.create("ae", data=train), train, epochs=1, out=out, progress=False)
    stamp = (out / "model.safetensors").read_bytes()
    with pytest.raises(RunFolderError, match="--overwrite"):
        genlab.train(genlab.create("ae", data=train), train, epochs=1, out=out, progress=False)
    assert (out / "model.safetensors").read_bytes() == stamp
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    with pytest.raises(RunFolderError, match="not a genlab run folder"):
        genlab.train(genlab.create("ae", data=train), train, epochs=1, out=mine, overwrite=True, progress=False)
    assert (mine / "thesis.txt").read_text() == "precious"
    genlab.train(genlab.create("ae", data=train), train, epochs=1, out=out, overwrite=True, progress=False)


def test_nan_guard_names_player_and_step(small):
    train, _ = small
    model = genlab.create("ae", data=train)
    original = model.players

    def exploding():
        (p,) = original()
        calls = {"n": 0}

        def loss(batch):
            calls["n"] += 1
            out = p.loss(batch)
            if calls["n"] == 3:
                out["loss"] = out["loss"] * float("nan")
            return out
        return [Player(p.name, p.parameters, p.optimizer, loss)]

    model.players = exploding
    with pytest.raises(TrainingDiverged, match=r"player 'ae' loss became nan at step 2"):
        genlab.train(model, train, epochs=1, batch_size=32, progress=False)


@pytest.mark.slow
def test_conv_ae_beats_pca_at_same_code_size(mnist):
    train, test = mnist
    model = genlab.create("conv-ae", data=train, latent_dim=10, lr=2e-3)
    genlab.train(model, train, epochs=8, batch_size=64, progress=False)
    with torch.no_grad():
        ae_mse = float(((model.reconstruct(test.x) - test.x) ** 2).mean())
    X, V = train.x.flatten(1).numpy(), test.x.flatten(1).numpy()
    pca = PCA(10).fit(X)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(V)) - V) ** 2))
    assert ae_mse < 0.9 * pca_mse, (ae_mse, pca_mse)


def test_vae_learns_beyond_untrained(mnist):
    train, test = mnist
    model = genlab.create("vae", data=train, latent_dim=4)
    with torch.no_grad():
        before = model.loss({"x": test.x})["loss"].item()
    genlab.train(model, train, epochs=3, batch_size=64, progress=False)
    torch.manual_seed(0)
    with torch.no_grad():
        after = model.loss({"x": test.x})
    assert after["loss"].item() < 0.7 * before
    assert after["kl"].item() > 0.5  # the posterior carries information (no collapse to the prior)
