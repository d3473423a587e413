"""A run's progress read from its folder while it trains, without touching the trainer.

    state = waiting    no metrics row and no preview grid yet
            finished   training has ended (below)
            training   otherwise
    epoch = the number of preview grids written (samples/epoch_NNN.png, one per finished epoch)

A run has *finished* when any of these holds:

  1. config.json records ``train.stopped_early_at`` (early stopping ended it);
  2. the previews reach ``train.epochs`` of config.json (the total asked for; a resume rewrites
     it) and the weights (model.safetensors or checkpoint.safetensors), saved after each epoch's
     preview, are at least as new as the last preview;
  3. report.html is at least as new as metrics.csv and config.json (``genlab train`` writes the
     report once training ends, also after Ctrl-C; a resume rewrites config.json first).

A run stopped by a time or step budget, or killed, without a report, stays "training".

metrics.csv is read as Lightning appends to it (and rewrites it when a new column appears): only
complete lines count, a half-written last line is left for the next read, and non-numeric or
non-finite cells are dropped. Epoch-level columns (``*_epoch``, ``val*``, ``test*``) are keyed by
the epochs finished (1 for the first epoch, as the preview files count), the others by the step.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .. import runs

PREVIEW = re.compile(r"^epoch_(\d+)\.png$")


def _stat(path: Path) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, or None when it is missing."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _previews(run_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, path) of every preview grid, in epoch order."""
    try:
        entries = list((run_dir / "samples").iterdir())
    except OSError:
        return []
    found = []
    for p in entries:
        match = PREVIEW.match(p.name)
        if match and p.is_file():
            found.append((int(match.group(1)), p))
    return sorted(found)


def preview_path(run_dir) -> Path | None:
    """The newest preview grid of the run (samples/epoch_NNN.png with the largest NNN), or None."""
    found = _previews(Path(run_dir))
    return found[-1][1] if found else None


def _epoch_level(column: str) -> bool:
    # Lightning's naming: ``*_epoch`` are epoch means, ``val*`` / ``test*`` are logged once an epoch
    return column.endswith("_epoch") or column.startswith(("val", "test"))


def _number(cell) -> float | None:
    if cell is None:
        return None
    try:
        value = float(str(cell).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_metrics(path) -> dict[str, list[list[float]]]:
    """metrics.csv as ``{column: [[x, value], ...]}`` (see the module's docstring); {} for a missing,
    empty or header-only file."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return {}
    end = raw.rfind(b"\n")
    if end < 0:
        return {}                  # not even a whole header yet
    text = raw[:end + 1].decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        return {}
    at = {name: i for i, name in enumerate(header)}
    columns = [c for c in header if c and c not in ("epoch", "step")]
    out: dict[str, list[list[float]]] = {c: [] for c in columns}
    for row_number, row in enumerate(reader):
        if len(row) != len(header):
            continue               # a row cut short while the file was being rewritten
        epoch = _number(row[at["epoch"]]) if "epoch" in at else None
        step = _number(row[at["step"]]) if "step" in at else None
        for c in columns:
            value = _number(row[at[c]])
            if value is None:
                continue
            if _epoch_level(c):
                x = epoch + 1 if epoch is not None else float(row_number)
            else:
                x = step if step is not None else float(row_number)
            out[c].append([x, value])
    return {c: pts for c, pts in out.items() if pts}


def _config(run_dir: Path) -> dict:
    try:
        info = json.loads((run_dir / runs.CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}                  # missing, or being written
    return info if isinstance(info, dict) else {}


def _newer(a: tuple[int, int] | None, *others: tuple[int, int] | None) -> bool:
    """Whether the file of stat ``a`` exists and is at least as new as each existing other."""
    return a is not None and all(o is None or a[1] >= o[1] for o in others)


def progress(run_dir) -> dict:
    """The run's state, epochs done, curves, newest preview and a stamp that changes whenever
    metrics.csv, the newest preview, config.json, the weights or the report change."""
    run_dir = Path(run_dir)
    info = _config(run_dir)
    train = info.get("train") if isinstance(info.get("train"), dict) else {}
    previews = _previews(run_dir)
    epoch, preview = (previews[-1][0], previews[-1][1]) if previews else (0, None)
    files = {name: _stat(run_dir / name) for name in
             (runs.METRICS, runs.CONFIG, runs.WEIGHTS, runs.CHECKPOINT, runs.REPORT)}
    files["preview"] = _stat(preview) if preview is not None else None
    metrics = read_metrics(run_dir / runs.METRICS) if files[runs.METRICS] else {}
    weights = max((s for s in (files[runs.WEIGHTS], files[runs.CHECKPOINT]) if s), key=lambda s: s[1], default=None)
    target = train.get("epochs")
    if train.get("stopped_early_at"):
        state = "finished"
    elif isinstance(target, int) and previews and len(previews) >= target and _newer(weights, files["preview"]):
        state = "finished"
    elif _newer(files[runs.REPORT], files[runs.METRICS], files[runs.CONFIG]) and (metrics or previews):
        state = "finished"
    elif not metrics and not previews:
        state = "waiting"
    else:
        state = "training"
    stamp = ";".join(f"{k}={v[0]}:{v[1]}" if v else f"{k}=-" for k, v in sorted(files.items()))
    stamp += f";{preview.name if preview is not None else '-'}"
    return {"state": state, "epoch": epoch, "epochs": target if isinstance(target, int) else None,
            "metrics": metrics, "preview": preview.name if preview is not None else None, "stamp": stamp}


def watch(run_dir, interval: float = 0.5, stop=None) -> Iterator[dict]:
    """:func:`progress` now, then again each time its stamp changes (polled every ``interval``
    seconds) until ``stop`` (a threading.Event, or a callable returning True) says to end."""
    if interval <= 0:
        from ..errors import ConfigError

        raise ConfigError(f"interval must be positive seconds, got {interval}")
    stopped: Callable[[], bool]
    if stop is None:
        stopped = lambda: False
    elif hasattr(stop, "is_set"):
        stopped = stop.is_set
    else:
        stopped = stop
    last = progress(run_dir)
    yield last
    while not stopped():
        if hasattr(stop, "wait"):
            stop.wait(interval)         # wakes at once when the event is set
        else:
            time.sleep(interval)
        if stopped():
            return
        now = progress(run_dir)
        if now["stamp"] != last["stamp"]:
            last = now
            yield now


__all__ = ["preview_path", "progress", "read_metrics", "watch"]
