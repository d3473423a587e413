"""Files genlab writes and reads: JSON and safetensors only, written atomically.

Nothing here unpickles: loading a file cannot run code from it.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .errors import CheckpointError

TREE_KEY = "genlab_tree"


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write via a temporary file in the same folder and ``os.replace``: a reader never sees a
    half-written file, and on failure an existing file at ``path`` is left as it was. The file
    gets the usual permissions (0666 less the umask), not ``mkstemp``'s 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def read_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
                              "restore it or delete the run folder and train again") from None


# --- nested state (checkpoints, optimiser state) <-> JSON skeleton + flat tensors -------------

def _encode(obj: Any, tensors: dict[str, torch.Tensor], where: str) -> Any:
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"$tensor": key}
    if isinstance(obj, dict):
        items = [[_encode(k, tensors, where), _encode(v, tensors, f"{where}.{k}")] for k, v in obj.items()]
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: v for (k, _), (_, v) in zip(obj.items(), items)}
        return {"$items": items}
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, tensors, where) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, tensors, where) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"cannot store {type(obj).__name__} at {where} in a safetensors checkpoint")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "$tensor" in obj:
            return tensors[obj["$tensor"]]
        if "$items" in obj:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["$items"]}
        if "$tuple" in obj:
            return tuple(_decode(v, tensors) for v in obj["$tuple"])
        return {k: _decode(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    return obj


def _save_safetensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_tree(tree: Any, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Store any nest of dicts/lists/tuples/scalars/tensors as one safetensors file."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _encode(tree, tensors, "checkpoint")
    return _save_safetensors(tensors, path, {TREE_KEY: json.dumps(skeleton), **(metadata or {})})


def save_tensors(tensors: dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    flat = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    return _save_safetensors(flat, path, metadata or {})


def _describe_bad_file(path: Path, reason: str) -> str:
    head = path.read_bytes()[:4] if path.is_file() else b""
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return (f"{path} is a pickle/PyTorch file, not safetensors; genlab never unpickles files "
                "(that can run code). Convert it with safetensors.torch.save_file on a machine you trust")
    return (f"{path} is not a readable safetensors file ({reason}); it is corrupt or truncated: "
            "restore it from a backup or train again")


def _open(path: Path):
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the run folder path")
    try:
        handle = safe_open(str(path), framework="pt")
        return handle, handle.metadata() or {}, {k: handle.get_tensor(k) for k in handle.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(_describe_bad_file(path, str(exc).splitlines()[0])) from None


def load_tree(path: str | Path) -> Any:
    path = Path(path)
    _, meta, tensors = _open(path)
    if TREE_KEY not in meta:
        raise CheckpointError(f"{path} is a safetensors file but not a genlab checkpoint (no {TREE_KEY} metadata)")
    try:
        return _decode(json.loads(meta[TREE_KEY]), tensors)
    except (json.JSONDecodeError, KeyError) as exc:
        raise CheckpointError(_describe_bad_file(path, f"bad state description: {exc}")) from None


def load_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    return _open(Path(path))[2]
