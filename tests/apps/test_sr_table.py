"""`genlab experiment sr-table`: Ledig et al.'s comparison on a tiny budget (64 images, one epoch, width 4)
writes sr_table.{json,md,png} with the five rows, SRGANs initialised from the SRResNet run; photos are
scored on the whole held-out photographs; an existing folder is refused without --overwrite."""
import json

import pytest
from PIL import Image

from genlab.apps.superres_table import METHODS, sr_table
from genlab.errors import ConfigError, RunFolderError
from tests.cli_run import run

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = ("--limit", 64, "--n-eval", 32, "--epochs", 1, "--width", 4, "--blocks", 1)


def test_sr_table_on_mnist5k_writes_the_five_rows(capsys, tmp_path, tiny_judges):
    out = tmp_path / "sr"
    code, stdout, _ = run(capsys, "experiment", "sr-table", "--scale", 4, "--out", out, *TINY)
    assert code == 0
    for name in ("sr_table.json", "sr_table.md", "sr_table.png"):
        assert (out / name).is_file(), name
    table = json.loads((out / "sr_table.json").read_text())
    assert [r["method"] for r in table["rows"]] == list(METHODS)
    assert table["settings"]["image_size"] == 32 and table["settings"]["n_train"] == 64
    for r in table["rows"]:
        assert {"psnr", "ssim", "sharpness", "judge_fid"} <= set(r) and r["judge_fid"] >= 0
    rows = {r["method"]: r for r in table["rows"]}
    assert rows["bicubic"]["psnr"] > rows["nearest"]["psnr"]            # Keys' cubic beats pixel copies
    assert rows["nearest"]["sharpness"] > rows["bicubic"]["sharpness"]  # ... which are blocky, "sharp" edges
    assert table["reference"]["sharpness"] > rows["bicubic"]["sharpness"]
    # both SRGANs start from the SRResNet run, as the paper initialises them
    assert table["runs"]["SRGAN-MSE"]["init_from"] == str(out / "srresnet")
    assert table["runs"]["SRGAN-features"]["content"] == "features"
    # φ of the features run and the FIDs: the judge of the 32×32 targets
    assert set(tiny_judges) == {("mnist5k", (1, 32, 32))}
    md = (out / "sr_table.md").read_text()
    assert sum(line.startswith(f"| {m} |") for m in METHODS for line in md.splitlines()) == 5
    assert "| SRGAN-features |" in stdout and "sr_table.png" in stdout
    img = Image.open(out / "sr_table.png")
    assert img.width > 6 * 32 and img.height > 6 * 32        # five methods and the ground truth, six digits

    code, _, err = run(capsys, "experiment", "sr-table", "--out", out, *TINY)
    assert code != 0 and "--overwrite" in err


def test_photos_are_scored_on_the_whole_held_out_photographs(tmp_path, tiny_judges):
    table = sr_table(tmp_path / "p", data="photos", scale=4, epochs=1, limit=32, n_eval=32, width=4, blocks=1,
                     log=lambda m: None)
    assert "424×640" in table["settings"]["evaluated_on"] and "296×384" in table["settings"]["evaluated_on"]
    assert [r["method"] for r in table["rows"]] == list(METHODS)
    assert all(r.get("judge_fid") is None for r in table["rows"])       # two photographs: no FID
    assert ("photos", (3, 32, 32)) in tiny_judges                        # φ of the features run
    assert Image.open(tmp_path / "p" / "sr_table.png").height > 2 * 96   # one 96×96 crop row per photograph


def test_sr_table_refuses_other_data_and_factors(tmp_path):
    with pytest.raises(ConfigError, match="--data mnist5k"):
        sr_table(tmp_path / "x", data="cifar10")
    with pytest.raises(ConfigError, match="2, 4 or 8"):
        sr_table(tmp_path / "x", scale=3)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(RunFolderError, match="--overwrite"):
        sr_table(tmp_path / "full")
