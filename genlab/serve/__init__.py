"""`genlab serve`: a local web explorer of trained runs, after GAN Lab (Kahng et al. 2018) and the
Embedding Projector (Smilkov et al. 2016): samples, the latent map, code sliders, interpolation,
drawing, a real-or-generated quiz, side-by-side runs, a live training monitor and a toy GAN.

:func:`serve` opens the runs (genlab.apps.explore), builds the app (genlab.serve.app) and runs it
with uvicorn on one socket it binds itself, so a busy port is one line before anything starts.

Hosts: the default 127.0.0.1 is reachable from this machine only, and the app answers only
requests whose Host header names a loopback host (127.0.0.1, localhost, ::1), which stops DNS
rebinding. With any other ``host`` the explorer is reachable from the network: a warning says so,
and the allowed Host names add ``host`` itself and, for a wildcard (0.0.0.0 or ::), this machine's
host name, fully qualified name and their addresses.
"""
from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

__all__ = ["serve", "name_runs", "check_runs", "open_runs", "allowed_hosts", "listen"]


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


def allowed_hosts(host: str) -> tuple[str, ...]:
    """The Host header names the app accepts when it listens on ``host`` (see the module docstring)."""
    from .security import LOOPBACK

    hosts = list(LOOPBACK)
    if not _is_loopback(host):
        hosts.append(host.strip("[]"))
    if _is_wildcard(host):
        names = {socket.gethostname(), socket.getfqdn()}
        for name in list(names):
            try:
                names |= {info[4][0] for info in socket.getaddrinfo(name, None)}
            except OSError:
                pass
        hosts += sorted(n for n in names if n)
    return tuple(dict.fromkeys(h.lower() for h in hosts))


def name_runs(paths) -> dict[str, Path]:
    """Run folders → {name: folder}, named by folder name; a repeated name gets "-2", "-3", ..."""
    named: dict[str, Path] = {}
    for path in paths:
        path = Path(path)
        base = path.resolve().name or "run"
        name, k = base, 1
        while name in named:
            k += 1
            name = f"{base}-{k}"
        named[name] = path
    return named


def check_runs(run_dirs) -> dict[str, Path]:
    """{name: folder} of the run folders (named by folder, repeats "-2", ...); a missing folder or one
    that is no run is a RunFolderError (one line)."""
    from ..runs import read_config

    named = name_runs(run_dirs)
    for folder in named.values():
        read_config(folder)
    return named


def open_runs(named: dict[str, Path], log=print, map_method: str = "auto") -> dict:
    """{name: Explorer} of the runs with weights; a run folder still in its first epoch (config.json,
    no weights) is left out: it is served for its training monitor only. ``map_method``: how codes of
    more than two dimensions are placed on the latent map (auto/pca: principal components, tsne)."""
    from ..apps.explore import Explorer

    explorers = {}
    for name, folder in named.items():
        if not any((folder / f).is_file() for f in ("model.safetensors", "checkpoint.safetensors")):
            log(f"{name}: still in its first epoch (no weights yet): serving its training monitor only")
            continue
        explorers[name] = Explorer.open(folder, name=name, map_method=map_method)
    return explorers


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port), or a ConfigError in one line (port in use, no such host)."""
    from ..errors import ConfigError

    if not 1 <= int(port) <= 65535:
        raise ConfigError(f"--port must be in 1..65535, got {port}")
    bare = host.strip("[]")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        raise ConfigError(f"cannot listen on host {host!r}: no such address; pass --host 127.0.0.1") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as uvicorn does: restart without waiting
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):         # EADDRINUSE on Linux, macOS, Windows
            raise ConfigError(f"port {port} is in use; pass --port N") from None
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                          "pass another --host or --port") from None
    sock.set_inheritable(True)
    return sock


def serve(run_dirs, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, log=print,
          map_method: str = "auto") -> None:
    """Serve the explorer of ``run_dirs`` on http://host:port/ until Ctrl-C."""
    named = check_runs(run_dirs)             # the quick refusals first: no such run, port in use
    sock = listen(host, port)
    try:
        explorers = open_runs(named, log=log, map_method=map_method)
        import uvicorn

        from .app import create_app

        app = create_app(explorers, named, allowed_hosts=allowed_hosts(host))
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        url = f"http://{shown}:{port}/"
        if not _is_loopback(host):
            log(f"genlab serve: warning: listening on {host}: the explorer is reachable from the network, "
                "by anyone who can reach this machine; use --host 127.0.0.1 to keep it local")
        log(f"genlab explorer: {url}  (Ctrl-C stops)")
        if open_browser:
            import threading
            import webbrowser

            page = url if not _is_wildcard(host) else f"http://127.0.0.1:{port}/"
            threading.Timer(1.0, webbrowser.open, args=(page,)).start()
        class Server(uvicorn.Server):
            def handle_exit(self, sig, frame):
                app.state.live["closing"].set()          # open event streams end, so shutdown is quick
                super().handle_exit(sig, frame)

        server = Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3))
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:                    # uvicorn re-raises the Ctrl-C it has handled
            pass
        log("genlab explorer: stopped")
    finally:
        sock.close()
