"""Round-trip latency of the web explorer (`genlab serve`) on the demo VAE: milliseconds per slider
decode (POST /api/runs/RUN/decode.png with a code) and per map-point decode (GET point.png?u=&v=),
median and 95th percentile over 200 requests each (and per drawing: POST /draw with a 280×280
canvas PNG, as the page sends it; and per toy-GAN frame: POST /api/toygan/ID/step of 5 steps with
the state the page draws), measured with httpx against uvicorn on a free
port of 127.0.0.1 (the true HTTP round trip: JSON in, model decode, PNG out), after 10 warm-up
requests. The codes and points are drawn uniformly over the slider range and the map's bounds.

Without --run it trains the demo's model (`genlab demo`: a convolutional VAE with a 2-D latent on
mnist5k, KL warm-up) for --epochs epochs (default 1: latency does not depend on how well it is
trained) into a temporary folder. Prints one JSON line; --out appends it to
benchmarks/results/serve-cpuN-YYYY-MM-DD.jsonl (N: the CPUs this process may use).

    python benchmarks/serve_latency.py [--run RUN] [--epochs 1] [--n 200] [--out [FILE]]
"""
from __future__ import annotations

import argparse
import base64
import datetime
import io
import json
import os
import random
import socket
import statistics
import tempfile
import threading
import time
import warnings
from pathlib import Path

import httpx
import torch
from PIL import Image, ImageDraw

RESULTS = Path(__file__).parent / "results"


def demo_run(out: Path, epochs: int) -> Path:
    """The model `genlab demo` trains, for ``epochs`` epochs, in ``out``."""
    from genlab.data import load_data
    from genlab.runs import create
    from genlab.train import train

    data, val = load_data("mnist5k", "train"), load_data("mnist5k", "test")
    model = create("vae", data=data, seed=0, latent_dim=2, kl_warmup_epochs=5)
    train(model, data, epochs=epochs, batch_size=64, out=out, val_data=val, data_info={"spec": "mnist5k"},
          progress=False)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed_ms(fn, n: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="a trained run folder (default: train the demo VAE)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the demo VAE when --run is not given")
    parser.add_argument("--n", type=int, default=200, help="requests per kind")
    parser.add_argument("--out", nargs="?", const="", default=None,
                        help="append the JSON line to this file (default benchmarks/results/serve-cpuN-DATE.jsonl)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import uvicorn

    from genlab.apps.explore import Explorer
    from genlab.serve.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = Path(args.run) if args.run else demo_run(Path(tmp) / "demo", args.epochs)
        train_s = time.perf_counter() - start if not args.run else None
        explorer = Explorer.open(run, name="demo")
        info = explorer.info()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app({"demo": explorer}, {"demo": run}), host="127.0.0.1",
                                               port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        rng = random.Random(0)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                lo, hi = http.get("/api/runs/demo/code").json()["range"]
                umin, umax, vmin, vmax = http.get("/api/runs/demo/map").json()["bounds"]
                dim = info["latent_dim"]

                def slider():
                    r = http.post("/api/runs/demo/decode.png", json={"code": [rng.uniform(lo, hi) for _ in range(dim)]})
                    r.raise_for_status()

                def point():
                    r = http.get("/api/runs/demo/point.png", params={"u": rng.uniform(umin, umax),
                                                                      "v": rng.uniform(vmin, vmax)})
                    r.raise_for_status()

                canvas = Image.new("L", (280, 280), 0)          # a 7 drawn on the page's canvas
                ImageDraw.Draw(canvas).line([(70, 60), (220, 60), (120, 250)], fill=255, width=18)
                buffer = io.BytesIO()
                canvas.save(buffer, "PNG")
                drawn = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

                def draw():
                    http.post("/api/runs/demo/draw", json={"image": drawn}).raise_for_status()

                game = http.post("/api/toygan", json={}).json()["id"]

                def toy_frame():
                    http.post(f"/api/toygan/{game}/step", json={"steps": 5}).raise_for_status()

                decode_ms, point_ms = timed_ms(slider, args.n), timed_ms(point, args.n)
                draw_ms, toy_ms = timed_ms(draw, max(1, args.n // 4)), timed_ms(toy_frame, max(1, args.n // 4))
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    line = {
        "bench": "serve_latency", "model": info["model"], "latent_dim": info["latent_dim"],
        "map_method": info["map_method"], "run": str(args.run) if args.run else f"demo VAE, {args.epochs} epoch(s)",
        "transport": "uvicorn + httpx keep-alive on 127.0.0.1", "n": args.n,
        "slider_decode_median_ms": round(statistics.median(decode_ms), 2),
        "slider_decode_p95_ms": round(p95(decode_ms), 2),
        "map_point_median_ms": round(statistics.median(point_ms), 2),
        "map_point_p95_ms": round(p95(point_ms), 2),
        "draw_median_ms": round(statistics.median(draw_ms), 2), "draw_p95_ms": round(p95(draw_ms), 2),
        "toygan_frame_median_ms": round(statistics.median(toy_ms), 2), "toygan_frame_p95_ms": round(p95(toy_ms), 2),
        "device": f"cpu x{torch.get_num_threads()}", "cpus": cpus, "load_avg": round(os.getloadavg()[0], 2),
        "train_s": round(train_s, 1) if train_s is not None else None,
        "date": datetime.date.today().isoformat(),
    }
    text = json.dumps(line)
    print(text, flush=True)
    if args.out is not None:
        out = Path(args.out) if args.out else RESULTS / f"serve-cpu{cpus}-{line['date']}.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
