"""Start-up time of the quick commands: wall seconds of a fresh process, median of several runs.

Each command runs once to warm the file cache, then ``--runs`` times; prints one JSON line per
command, with the interpreter's own start (``python -c pass``) as the floor and the 1-minute load
average, since a busy machine slows every run alike:

    python benchmarks/startup.py [--runs 5] [--note "machine shared with other jobs"]
    python benchmarks/startup.py --source /tmp/old-genlab --code "before"   # another checkout, for comparison

The target (issue 14) is under 1 s for --version, --help, models, datasets and conv.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [["--version"], ["--help"], ["models"], ["models", "--config", "dcgan"], ["datasets"],
            ["conv", "--size", "28", "--kernel", "3", "--stride", "2", "--padding", "1"]]


def genlab_command() -> list[str]:
    """The installed ``genlab`` script beside this interpreter, as a user runs it; else ``python -m genlab``."""
    script = Path(sys.executable).with_name("genlab")
    if script.is_file():
        return [str(script)]
    found = shutil.which("genlab")
    return [found] if found else [sys.executable, "-m", "genlab"]


def wall(argv: list[str], env: dict | None, cwd: str | None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env, cwd=cwd)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--note", default="", help="said in every line, e.g. what else ran on the machine")
    parser.add_argument("--source", default=None, help="time the genlab package in this folder (python -m genlab)")
    parser.add_argument("--code", default="this checkout", help="names the code measured in every line")
    args = parser.parse_args()
    env = cwd = None
    genlab = genlab_command()
    if args.source:   # run from that folder: the working directory comes first on sys.path
        cwd = str(Path(args.source).resolve())
        env = {**os.environ, "PYTHONPATH": cwd}
        genlab = [sys.executable, "-m", "genlab"]
    cases = [("python -c pass", [sys.executable, "-c", "pass"]),
             ('python -c "import genlab"', [sys.executable, "-c", "import genlab"])]
    cases += [(" ".join(["genlab", *c]), genlab + c) for c in COMMANDS]
    version = subprocess.run([*genlab, "--version"], capture_output=True, text=True, env=env, cwd=cwd).stdout.split()[-1]
    for label, argv in cases:
        wall(argv, env, cwd)   # warm-up: file cache, .pyc files
        times = [wall(argv, env, cwd) for _ in range(args.runs)]
        print(json.dumps({
            "bench": "startup", "command": label, "runs": args.runs,
            "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3), "under_1s": statistics.median(times) < 1.0,
            "device": f"cpu x{os.cpu_count()}", "load_avg_1m": round(os.getloadavg()[0], 2),
            "code": args.code, "note": args.note, "genlab": version, "python": platform.python_version(),
        }, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
