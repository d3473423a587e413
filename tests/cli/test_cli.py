"""End-to-end: the command line in a temporary folder, as a user drives it."""
import json
import os
import subprocess
import sys

import pytest
import torch

from tests.cli_run import run


def assert_user_error(capsys, *argv, match):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("genlab: error:"), err
    assert "Traceback" not in err
    assert match in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def ae_run(trained_runs):
    return trained_runs.get("cli-ae")


@pytest.fixture
def vae_run(trained_runs, tmp_path):
    """A private copy: the tests below rebuild its report and resume it."""
    return trained_runs.copy("cli-vae", tmp_path)


def test_train_writes_run_folder_and_report(ae_run):
    names = {p.name for p in ae_run.iterdir()}
    assert {"config.json", "model.safetensors", "checkpoint.safetensors", "metrics.csv", "report.html",
            "samples"} <= names
    assert (ae_run / "samples" / "epoch_001.png").is_file()
    assert json.loads((ae_run / "config.json").read_text())["config"]["latent_dim"] == 16
    html = (ae_run / "report.html").read_text()
    assert "Reconstructions" in html and "data:image/png;base64," in html


def test_use_commands(vae_run, tmp_path, capsys):
    from PIL import Image

    code, out, _ = run(capsys, "sample", vae_run, "--n", 16, "--out", tmp_path / "s.png")
    with Image.open(tmp_path / "s.png") as image:
        width, height = image.size
    assert code == 0 and width * 62 == height * 242       # 2 rows of 8 digits: (8·30 + 2) × (2·30 + 2) px, scaled
    code, out, _ = run(capsys, "reconstruct", vae_run, "--out", tmp_path / "r.png")
    assert code == 0 and (tmp_path / "r.png").is_file()
    code, out, _ = run(capsys, "interpolate", vae_run, "--steps", 10, "--out", tmp_path / "i.png")
    assert code == 0 and "class 7 → class 8" in out
    os.remove(vae_run / "report.html")
    code, out, _ = run(capsys, "report", vae_run)
    assert code == 0 and (vae_run / "report.html").is_file()
    html = (vae_run / "report.html").read_text()
    for section in ("Reconstructions", "Samples", "Latent space", "Interpolation", "Training curves"):
        assert section in html


def test_look_around(capsys):
    code, out, _ = run(capsys, "models")
    assert code == 0
    lines = {l.split()[0]: l for l in out.splitlines()}
    assert "sample" in lines["vae"] and "sample" not in lines["ae"]
    code, out, _ = run(capsys, "models", "--config", "acgan")
    assert code == 0 and "--epochs 24 --batch-size 128" in out and "class_weight" in out
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and "mnist5k" in out and "folder:PATH" in out
    code, out, _ = run(capsys, "summary", "conv-ae", "--data", "mnist5k")
    assert code == 0
    for shape in ("[1, 32, 14, 14]", "[1, 64, 7, 7]", "[1, 16]", "[1, 10]", "[1, 3136]", "[1, 1, 28, 28]"):
        assert shape in out
    assert "Total params: 159,355" in out


def test_sampling_an_autoencoder_is_refused(ae_run, capsys):
    assert_user_error(capsys, "sample", ae_run, match="cannot sample")


def test_bad_inputs_get_one_line(ae_run, tmp_path, capsys):
    assert_user_error(capsys, "train", "no-such-model", match="unknown model 'no-such-model'")
    assert_user_error(capsys, "train", "ae", "--data", "no-such-data", "--out", tmp_path / "x", match="no-such-data")
    assert_user_error(capsys, "train", "ae", "--data", f"folder:{tmp_path / 'nowhere'}", match="does not exist")
    assert_user_error(capsys, "sample", tmp_path / "nowhere", match="does not exist")
    assert_user_error(capsys, "train", "vae", "--set", "latnt_dim=3", match="unknown config key 'latnt_dim'")
    assert_user_error(capsys, "train", "vae", "--set", "latent_dim=big", match="expected int")
    assert_user_error(capsys, "train", "ae", "--out", ae_run, match="--overwrite")
    assert_user_error(capsys, "reconstruct", ae_run, "--data", "digits", match="shape")
    assert not (tmp_path / "x").exists()


def test_corrupt_weights_and_checkpoints(trained_runs, tmp_path, capsys):
    run_dir = trained_runs.copy("cli-ae", tmp_path)
    weights = run_dir / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 3])
    assert_user_error(capsys, "reconstruct", run_dir, match="corrupt or truncated")
    torch.save({"w": torch.ones(1)}, weights)
    assert_user_error(capsys, "reconstruct", run_dir, match="never unpickles")
    (run_dir / "checkpoint.safetensors").write_bytes(b"\x80\x04garbage")
    assert_user_error(capsys, "train", "--resume", run_dir, "--epochs", 2, match="checkpoint")


def test_resume_from_cli(vae_run, capsys):
    code, out, _ = run(capsys, "train", "--resume", vae_run, "--epochs", 2, "--no-progress", "--no-report")
    assert code == 0
    assert (vae_run / "samples" / "epoch_002.png").is_file()


def test_ddp_two_processes_on_cpu(tmp_path):
    out = tmp_path / "ddp"
    proc = subprocess.run(
        [sys.executable, "-m", "genlab", "train", "ae", "--epochs", "1", "--devices", "2", "--strategy", "ddp",
         "--accelerator", "cpu", "--out", str(out), "--no-progress", "--no-report"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = (out / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    last = dict(zip(header, rows[-1].split(",")))
    assert int(last["step"]) == 15  # 4000 digits / 2 processes / batch 128 → 16 steps per process
    assert (out / "model.safetensors").is_file()


def test_sample_label_is_checked_by_the_model_and_seed_reproduces(tmp_path, capsys):
    from pathlib import Path

    old = Path(__file__).parents[1] / "fixtures" / "runs-0.1"          # tiny runs: nothing to train
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    for out, seed, global_seed in ((a, 1, 10), (b, 1, 20), (c, 2, 10)):
        torch.manual_seed(global_seed)                                 # --seed alone decides the draw
        code, _, err = run(capsys, "sample", old / "cgan", "--n", 4, "--label", 3, "--seed", seed, "--out", out)
        assert code == 0, err
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert_user_error(capsys, "sample", old / "cgan", "--label", 12, "--out", c, match="0…9")
    assert_user_error(capsys, "sample", old / "dcgan", "--label", 3, "--out", c, match="takes no label")


def test_demo_is_reproducible_and_writes_a_report(tmp_path, capsys):
    """The same command twice trains the same model: the initial weights are seeded too."""
    from genlab.io import load_tensors

    for name in ("a", "b"):
        code, out, err = run(capsys, "demo", "--epochs", "1", "--batch-size", "512", "--no-progress",
                             "--out", tmp_path / name)
        assert code == 0, err
        assert (tmp_path / name / "report.html").is_file()
    a, b = (load_tensors(tmp_path / n / "model.safetensors") for n in ("a", "b"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    code, out, err = run(capsys, "demo", "--epochs", "1", "--batch-size", "512", "--no-progress", "--seed", "1",
                         "--out", tmp_path / "c")
    c = load_tensors(tmp_path / "c" / "model.safetensors")
    assert code == 0 and not all(torch.equal(a[k], c[k]) for k in a)
