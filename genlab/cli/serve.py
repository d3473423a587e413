"""`genlab serve`: a local web explorer of trained runs (genlab.serve). FastAPI and uvicorn are
imported only when the command runs, so `genlab --help` stays fast."""
from __future__ import annotations

from .args import RUN_HELP


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve", help="explore runs in the browser: samples, latent map, sliders, drawing, live training, toy GAN",
        description="A local web explorer of trained runs, in the spirit of GAN Lab (Kahng et al. 2018) and the "
                    "Embedding Projector (Smilkov et al. 2016): samples, the latent map, code sliders, "
                    "interpolation, drawing your own digit, a real-or-generated quiz, runs side by side, the "
                    "training monitor of a run still training, and a toy GAN on 2-D points. It reads only the "
                    "run folders named here and binds 127.0.0.1 (this machine only) unless --host says otherwise.")
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help=f"{RUN_HELP}; several are served side by side, and a run still in its first epoch is "
                        "shown in the training monitor")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 makes the explorer "
                        "reachable from the network, with a warning)")
    p.add_argument("--open", action="store_true", help="open the page in the web browser")
    p.add_argument("--map", choices=("auto", "pca", "tsne"), default="auto",
                   help="the latent map of codes above 2-D: principal components (auto, pca) or t-SNE (van der Maaten "
                        "& Hinton 2008; slower to start: tens of seconds on 2 CPU cores)")
    p.set_defaults(func=run_serve)


def run_serve(args) -> int:
    from ..errors import ConfigError

    if not 1 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 1..65535, got {args.port}")
    from ..serve import serve

    serve(args.runs, host=args.host, port=args.port, open_browser=args.open, map_method=args.map)
    return 0
