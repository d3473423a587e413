"""`genlab train` as a user sees it: the per-epoch lines, the closing line, the short-run warning,
Ctrl-C and --resume in genlab's own words."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from genlab.io import load_tree
from tests.cli_run import run


def _folder(root, n=24, size=16):
    """``n`` images in each of 3 class sub-folders, with the stray files a real folder has."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(("circle", "square", "triangle")):
        (root / name).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 60, (size, size, 3)) + 60 * k
            Image.fromarray(pixels.astype("uint8")).save(root / name / f"{i:02d}.png")
    (root / "circle" / "notes.txt").write_text("where these came from")
    return root


@pytest.mark.filterwarnings("default::genlab.train.TrainingLengthWarning")   # pyproject silences it for fixtures
def test_epoch_lines_and_closing_line_when_output_is_not_a_terminal(tmp_path, capsys):
    code, out, err = run(capsys, "train", "ae", "--data", "digits", "--epochs", 2, "--out", tmp_path / "run",
                         "--no-report", "--set", "latent_dim=4")
    assert code == 0
    lines = out.splitlines()
    assert re.fullmatch(r"epoch 1/2  loss \d+(\.\d+)?  held-out loss \d+(\.\d+)?  \(\d+\.\d s\)", lines[0]), lines[0]
    assert lines[1].startswith("epoch 2/2  loss ")
    assert re.fullmatch(r"trained 2 epochs in \d+\.\d s \([\d,]+ images/s\): loss [\d.]+, held-out loss [\d.]+",
                        lines[2]), lines[2]
    assert "metrics.csv" in lines[3] and "report" in lines[3]
    assert "it/s" not in out + err and "\r" not in out + err          # no progress bar in a log
    assert "/" not in lines[2].split(":", 1)[1]                          # no raw keys
    assert not re.search(r"(?<![\w/-])-0(\.0+)?(?![\d.])", "\n".join(lines[:3]))   # no negative zero
    # the short run warns in one line before training
    assert re.search(r"^genlab: warning: \d+ optimiser steps \(2 epochs of \d+ batches of \d+\); ae needs about "
                     r"160: pass --epochs \d+ or more", err, re.M), err
    code, out, _ = run(capsys, "train", "--resume", tmp_path / "run", "--epochs", 3, "--no-progress", "--no-report")
    assert code == 0 and out.startswith("trained epoch 3 of 3 in ") and "epoch 3/3" not in out


def test_defaults_on_a_small_folder_train_enough_steps(tmp_path, capsys):
    data = _folder(tmp_path / "shapes")
    code, out, err = run(capsys, "train", "ae", "--data", f"folder:{data}", "--out", tmp_path / "run",
                         "--no-report", "--no-progress", "--set", "latent_dim=4")
    assert code == 0, err
    assert "optimiser steps" not in err                                  # the default needs no warning
    info = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    steps = max(int(dict(zip(rows[0].split(","), r.split(",")))["step"]) for r in rows[1:]) + 1
    import genlab

    n = len(genlab.load_data(f"folder:{data}", "train"))
    assert n < 128 and info["batch_size"] == 16                            # the floor, not 128
    assert 320 <= steps == info["epochs"] * -(-n // 16) < 320 + -(-n // 16)  # ae's calibrated 320 steps


def test_resume_refusals_are_one_line_each(trained_runs, tmp_path, capsys):
    run_dir = trained_runs.copy("cli-vae", tmp_path)                     # 1 epoch of vae on mnist5k
    stamp = (run_dir / "checkpoint.safetensors").read_bytes()
    capsys.readouterr()                                                   # the fixture's own training

    def refused(*argv):
        code, out, err = run(capsys, "train", *argv, "--no-progress", "--no-report")
        assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("genlab: error: "), err
        return err.removeprefix("genlab: error: ").strip()

    assert refused("--resume", run_dir) == (f"{run_dir} is already trained to 1 epoch; pass --epochs 2 "
                                            "(epochs=2), or any total above 1, to continue")
    assert refused("dcgan", "--resume", run_dir, "--epochs", 3).startswith(
        f"{run_dir} is a vae run: resuming it cannot train a dcgan; drop the model name")
    msg = refused("--resume", run_dir, "--epochs", 3, "--set", "latent_dim=5")
    assert msg.startswith("latent_dim=5 (the run has 4) cannot change on --resume") and "may change: lr" in msg
    assert refused("--resume", run_dir, "--epochs", 3, "--data", "digits").startswith(
        "--data digits differs from the data")
    assert refused("--resume", run_dir, "--epochs", 3, "--channels", 3).startswith("--channels 3 differs")
    assert "pass one of them" in refused("--resume", run_dir, "--epochs", 3, "--overwrite")
    assert (run_dir / "checkpoint.safetensors").read_bytes() == stamp
    code, out, _ = run(capsys, "train", "--resume", run_dir, "--epochs", 2, "--lr", 5e-4, "--set", "latent_dim=4",
                       "--no-progress", "--no-report")
    assert code == 0 and out.startswith("trained epoch 2 of 2 in ")
    assert "trained in 0.0s" not in out
    assert refused("--resume", run_dir, "--epochs", 1) == (f"{run_dir} has already trained 2 epochs; --epochs "
                                                           "(epochs=) is the total, pass more than 2")


def _genlab(*argv, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "genlab", *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)


def test_ctrl_c_saves_reports_and_resume_finishes(tmp_path):
    run_dir = tmp_path / "run"
    proc = _genlab("train", "vae", "--data", "digits", "--epochs", 500, "--out", run_dir, "--set", "latent_dim=2",
                   cwd=tmp_path)
    first = ""
    deadline = time.monotonic() + 240
    while not first.startswith("epoch 2/500") and time.monotonic() < deadline:   # two epochs finished
        first = proc.stdout.readline()
        assert first or proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    (line,) = [ln for ln in err.splitlines() if "interrupted" in ln]
    # the signal may land after epoch 2's line but before its checkpoint: then epoch 2 starts again
    match = re.fullmatch(rf"genlab: interrupted at epoch (\d+); resume with: genlab train --resume {run_dir} "
                         r"\(the checkpoint holds the (\d+) finished epochs?; epoch (\d+) starts again\)", line)
    assert match, line
    epoch, done, again = map(int, match.groups())
    assert done >= 1 and epoch == again == done + 1
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and "Lightning" not in err
    assert int(load_tree(run_dir / "checkpoint.safetensors")["epoch"]) + 1 == done
    assert (run_dir / "report.html").is_file() and "report:" in out
    proc = _genlab("train", "--resume", run_dir, "--epochs", done + 1, "--no-report", cwd=tmp_path)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert out.splitlines()[0].startswith(f"epoch {done + 1}/{done + 1}  loss ")
    assert f"trained epoch {done + 1} of {done + 1} in " in out
    assert json.loads((run_dir / "config.json").read_text())["train"]["epochs"] == done + 1


def test_early_stop_is_reported(tmp_path, capsys):
    code, out, err = run(capsys, "train", "ae", "--data", "digits", "--epochs", 60, "--early-stop", 1,
                         "--lr", 0.05, "--out", tmp_path / "run", "--no-report", "--no-progress")
    assert code == 0, err
    info = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert info["stopped_early_at"] < 60
    assert (f"training stopped after epoch {info['stopped_early_at']}; model.safetensors holds the weights of "
            f"epoch {info['best_epoch']}, the lowest held-out loss") in out
    code, _, err = run(capsys, "train", "dcgan", "--early-stop", 2, "--out", tmp_path / "gan", "--no-progress")
    assert code == 2 and "2 players with competing losses" in err
