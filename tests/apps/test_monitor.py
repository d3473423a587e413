"""A run's progress read from its folder (genlab.apps.monitor): growing and half-written
metrics.csv, the waiting → training → finished states, and watch yielding on change."""
import json
import os
import threading

import pytest

from genlab.apps import monitor

HEADER = "epoch,step,train/loss_step,train/loss_epoch,val/loss\n"


def write_config(run, epochs=2, **train):
    (run / "config.json").write_text(json.dumps({"model": "vae", "config": {}, "data": {"spec": "mnist5k"},
                                                 "train": {"epochs": epochs, "batch_size": 50, **train}}))


def touch(path, ns):
    """Set a file's modification time (ns since the epoch), so the order of writes is explicit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(b"x")
    os.utime(path, ns=(ns, ns))


T = 1_700_000_000 * 10**9


def test_an_empty_or_missing_folder_is_waiting(tmp_path):
    for run in (tmp_path, tmp_path / "not-yet"):
        p = monitor.progress(run)
        assert p["state"] == "waiting" and p["epoch"] == 0 and p["metrics"] == {} and p["preview"] is None
        assert monitor.preview_path(run) is None
    write_config(tmp_path)
    (tmp_path / "samples").mkdir()                                   # an empty samples folder
    (tmp_path / "metrics.csv").write_text("epoch,st")                # not even a whole header
    assert monitor.progress(tmp_path)["state"] == "waiting"
    (tmp_path / "config.json").write_text('{"model": "va')           # config.json being written
    assert monitor.progress(tmp_path)["state"] == "waiting"


def test_growing_metrics_with_a_half_written_last_line(tmp_path):
    write_config(tmp_path)
    csv = tmp_path / "metrics.csv"
    csv.write_text(HEADER + "0,9,5.5,,\n")
    first = monitor.progress(tmp_path)
    assert first["state"] == "training" and first["metrics"] == {"train/loss_step": [[9.0, 5.5]]}
    with open(csv, "a") as f:
        f.write("0,19,4.5,,\n0,19,,5.0,6.25\n1,29,3.")            # the last line is still being appended
    second = monitor.progress(tmp_path)
    assert second["metrics"] == {"train/loss_step": [[9.0, 5.5], [19.0, 4.5]],
                                 "train/loss_epoch": [[1.0, 5.0]],     # keyed by epochs finished
                                 "val/loss": [[1.0, 6.25]]}
    assert second["stamp"] != first["stamp"]
    with open(csv, "a") as f:
        f.write("5,,\n1,39,nan,4.0,inf\n")
    third = monitor.progress(tmp_path)
    assert third["metrics"]["train/loss_step"][-1] == [29.0, 3.5]
    assert third["metrics"]["train/loss_epoch"][-1] == [2.0, 4.0]
    assert len(third["metrics"]["val/loss"]) == 1                       # inf dropped
    assert len(third["metrics"]["train/loss_step"]) == 3                 # nan dropped
    json.dumps(third, allow_nan=False)                                   # serialisable as strict JSON
    assert monitor.progress(tmp_path)["stamp"] == third["stamp"]         # nothing changed, same stamp


def test_state_follows_the_files(tmp_path):
    write_config(tmp_path, epochs=2)
    assert monitor.progress(tmp_path)["state"] == "waiting"
    touch(tmp_path / "samples" / "epoch_001.png", T)
    p = monitor.progress(tmp_path)
    assert p["state"] == "training" and p["epoch"] == 1 and p["preview"] == "epoch_001.png"
    touch(tmp_path / "model.safetensors", T + 10)
    assert monitor.progress(tmp_path)["state"] == "training"             # 1 of 2 epochs
    touch(tmp_path / "samples" / "epoch_002.png", T + 20)
    p = monitor.progress(tmp_path)
    assert p["state"] == "training" and p["epoch"] == 2                  # the last weights are not saved yet
    assert monitor.preview_path(tmp_path) == tmp_path / "samples" / "epoch_002.png"
    stamp = p["stamp"]
    touch(tmp_path / "checkpoint.safetensors", T + 30)
    p = monitor.progress(tmp_path)
    assert p["state"] == "finished" and p["stamp"] != stamp
    # a resume asks for more epochs: training again
    write_config(tmp_path, epochs=4)
    assert monitor.progress(tmp_path)["state"] == "training"


def test_early_stopping_and_the_report_end_a_run(tmp_path):
    write_config(tmp_path, epochs=10, stopped_early_at=3)
    touch(tmp_path / "samples" / "epoch_003.png", T)
    assert monitor.progress(tmp_path)["state"] == "finished"
    other = tmp_path / "interrupted"
    other.mkdir()
    write_config(other, epochs=10)
    touch(other / "config.json", T)
    (other / "metrics.csv").write_text(HEADER + "0,9,5.5,,\n")
    touch(other / "metrics.csv", T + 10)
    touch(other / "samples" / "epoch_001.png", T + 5)
    assert monitor.progress(other)["state"] == "training"
    touch(other / "report.html", T + 20)                                 # written after Ctrl-C
    assert monitor.progress(other)["state"] == "finished"
    touch(other / "metrics.csv", T + 30)                                 # resumed: the log grows again
    assert monitor.progress(other)["state"] == "training"


def test_a_trained_run_reads_finished(trained_runs):
    p = monitor.progress(trained_runs.get("vae"))
    assert p["state"] == "finished" and p["epoch"] == 1 and p["preview"] == "epoch_001.png"
    assert [x for x, _ in p["metrics"]["train/loss_epoch"]] == [1.0]


def test_watch_yields_at_once_and_on_each_change(tmp_path):
    write_config(tmp_path)
    csv = tmp_path / "metrics.csv"
    csv.write_text(HEADER)
    stop = threading.Event()
    seen = monitor.watch(tmp_path, interval=0.01, stop=stop)
    first = next(seen)
    assert first["state"] == "waiting"
    with open(csv, "a") as f:
        f.write("0,9,5.5,,\n")
    second = next(seen)
    assert second["state"] == "training" and second["stamp"] != first["stamp"]
    touch(tmp_path / "samples" / "epoch_001.png", T)
    assert next(seen)["preview"] == "epoch_001.png"
    stop.set()
    assert list(seen) == []
    calls = []
    assert len(list(monitor.watch(tmp_path, interval=0.01, stop=lambda: calls.append(1) or len(calls) > 3))) == 1


def test_watch_refuses_a_bad_interval(tmp_path):
    from genlab.errors import ConfigError

    with pytest.raises(ConfigError, match="interval"):
        next(monitor.watch(tmp_path, interval=0))
