"""`genlab experiment pix2pix-losses` and `patch-size` on a tiny budget (64 pairs, one epoch, width 4)."""
import json

import pytest

from genlab.apps.pix2pix_experiments import LOSS_VARIANTS, pix2pix_losses
from tests.cli_run import run

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ("--limit", 64, "--n-eval", 32, "--epochs", 1, "--set", "width=4", "--set", "d_width=4")


def test_pix2pix_losses_trains_the_three_variants_and_scores_them(capsys, tmp_path, tiny_judges):
    out = tmp_path / "losses"
    code, stdout, err = run(capsys, "experiment", "pix2pix-losses", "--out", out, *TINY)
    assert code == 0, err
    result = json.loads((out / "pix2pix_losses.json").read_text())
    assert [r["variant"] for r in result["rows"]] == list(LOSS_VARIANTS)
    for r in result["rows"]:
        assert {"psnr", "ssim", "sharpness", "judge_fid", "judged_as_source"} <= set(r)
        assert 0 <= r["judged_as_source"] <= 1
    configs = [json.loads((out / f / "config.json").read_text())["config"]
               for f in ("l1-alone", "cgan-alone", "l1-cgan")]
    assert [c["gan_loss"] for c in configs] == ["none", "nonsaturating", "nonsaturating"]
    assert [c["recon_weight"] for c in configs] == [100.0, 0.0, 100.0]
    assert all(c["width"] == 4 and c["task"] == "edges" for c in configs)
    assert tiny_judges == [("mnist5k", (1, 28, 28))]            # the judge of the targets, not of edge maps
    assert (out / "pix2pix_losses.png").is_file() and "ℓ1 + cGAN" in stdout
    code, _, err = run(capsys, "experiment", "pix2pix-losses", "--out", out, *TINY)
    assert code == 2 and "--overwrite" in err


def test_patch_size_sets_each_discriminators_receptive_field(capsys, tmp_path, tiny_judges):
    out = tmp_path / "patch"
    code, stdout, err = run(capsys, "experiment", "patch-size", "--patches", "1,16", "--out", out, *TINY)
    assert code == 0, err
    result = json.loads((out / "patch_size.json").read_text())
    assert [r["config"]["patch"] for r in result["rows"]] == [1, 16]
    assert json.loads((out / "1x1-pixelgan" / "config.json").read_text())["config"]["patch"] == 1
    code, _, err = run(capsys, "experiment", "patch-size", "--patches", "1,50", "--out", tmp_path / "bad")
    assert code == 2 and "70" in err and not (tmp_path / "bad").exists()


def test_library_call_without_a_judge_for_unlabelled_targets(tmp_path, tiny_judges):
    result = pix2pix_losses(tmp_path / "photos", data="photos", task="colorize", epochs=1, limit=32, n_eval=16,
                            config={"width": 4, "d_width": 4}, log=lambda m: None)
    # photos are labelled by photograph, but the judge stays out of a colorization (its targets are ab maps)
    assert all("psnr" in r and "judge_fid" not in r for r in result["rows"]) and tiny_judges == []
