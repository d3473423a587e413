"""The package's layers, read from its source with ``ast``: every import of a genlab module, at
module level or inside a function, must go to the importer's own layer or one below it, no
modules may import each other in a circle, and no module imports another's ``_private`` names.

A package ``__init__`` that imports its submodules counts as importing them, so a submodule that
imports its own package ``__init__`` closes a circle. Importing a package's submodule
(``from genlab.models import vae``) goes to that submodule, not to the package ``__init__``.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import genlab

# Lowest first. An entry names the first part below ``genlab.`` (a subpackage or a top-level
# module); ``__init__`` is the package root. Modules of one entry may import each other.
LAYERS: list[tuple[str, set[str]]] = [
    ("ground", {"errors", "io", "png", "registry", "runs", "convmath", "_version"}),
    ("nn", {"nn"}),
    ("data", {"data"}),
    ("models", {"models"}),
    ("metrics", {"metrics"}),
    ("train", {"train"}),
    ("viz", {"viz"}),
    ("apps", {"apps"}),
    ("cli", {"cli", "serve"}),
    ("public face", {"__init__", "__main__"}),
]


@dataclass
class Findings:
    upward: list[str] = field(default_factory=list)
    cycles: list[str] = field(default_factory=list)
    private: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)

    def report(self) -> str:
        parts = []
        for title, items in (("imports from a higher layer", self.upward), ("import cycles", self.cycles),
                             ("imports of another module's private names", self.private),
                             ("modules in no layer (add them to LAYERS)", self.unplaced)):
            if items:
                parts.append(f"{title}:\n  " + "\n  ".join(items))
        return "\n".join(parts)

    def __bool__(self) -> bool:
        return bool(self.upward or self.cycles or self.private or self.unplaced)


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, modules: set[str]) -> list[tuple[str, str | None, int]]:
    """``(target module, imported name or None, line)`` for each import of a package module in the
    file: ``from pkg import sub`` targets ``pkg.sub`` when that is a module, else ``pkg`` with the name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = name.split(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == top]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != top:
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.append((sub, None, node.lineno) if sub in modules else (source, alias.name, node.lineno))
    return found


def private_attributes(path: Path, name: str, modules: set[str]) -> list[tuple[str, str, int]]:
    """``module._name`` attribute reads where ``module`` was bound by importing a package module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            source = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in modules:
                    bound[alias.asname] = alias.name
    return [(bound[n.value.id], n.attr, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in bound
            and _is_private(n.attr)]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def layer_of(module: str, layers=LAYERS) -> int | None:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    return next((i for i, (_, members) in enumerate(layers) if key in members), None)


def _private_module_outside(module: str, importer: str) -> bool:
    """``module`` is private (``pkg._blas``) and ``importer`` is not inside its package."""
    package, _, last = module.rpartition(".")
    return _is_private(last) and importer != package and not importer.startswith(package + ".")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                group = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.append(w)
                    if w == v:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def check(root: Path, layers=LAYERS) -> Findings:
    """Read every module of the package at ``root`` and list what breaks the rules."""
    files = module_files(root)
    modules = set(files)
    out = Findings()
    edges: dict[str, set[str]] = {m: set() for m in files}
    for name, path in files.items():
        where = f"{path.relative_to(root.parent)}"
        mine = layer_of(name, layers)
        if mine is None:
            out.unplaced.append(name)
        for target, attr, line in imports(name, path, modules):
            if target not in modules:
                continue                         # a name of the package root, e.g. genlab.__version__
            if target != name:
                edges[name].add(target)
            theirs = layer_of(target, layers)
            if mine is not None and theirs is not None and theirs > mine:
                out.upward.append(f"{where}:{line}: {name} ({layers[mine][0]}) imports {target} "
                                  f"({layers[theirs][0]})")
            if attr is not None and _is_private(attr) and target != name:
                out.private.append(f"{where}:{line}: {name} imports {attr} from {target}")
            elif _private_module_outside(target, name):
                out.private.append(f"{where}:{line}: {name} imports the private module {target}")
        for target, attr, line in private_attributes(path, name, modules):
            if target != name:
                out.private.append(f"{where}:{line}: {name} reads {target}.{attr}")
    out.cycles = [" <-> ".join(group) for group in cycles(edges)]
    return out


def test_genlab_keeps_its_layers():
    findings = check(Path(genlab.__file__).parent)
    assert not findings, "\n" + findings.report()


def test_the_registry_imports_the_built_in_models_on_first_lookup():
    import subprocess
    import sys

    code = ("import sys; from genlab.registry import get; get('vae'); "
            "print(get('dcgan').model_class.__module__, 'genlab.viz' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["genlab.models.gan.dcgan", "False"]   # and plotting stays unloaded


# --------------------------------------------------------------------------- the checker itself

def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "genlab"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


CLEAN = {
    "__init__.py": "from . import models\nfrom .train import train\n",
    "errors.py": "class GenlabError(Exception):\n    pass\n",
    "registry.py": "from .errors import GenlabError\n",
    "models/__init__.py": "from . import vae\n",
    "models/vae.py": "from ..registry import GenlabError\nfrom . import _parts\nfrom ._parts import block\n",
    "models/_parts.py": "def block():\n    pass\n",
    "train/__init__.py": "def train():\n    from ..models.vae import GenlabError\n",
}


def test_checker_passes_a_clean_package(tmp_path):
    findings = check(_package(tmp_path, CLEAN))
    assert not findings, findings.report()


def test_checker_finds_upward_imports_cycles_and_private_names(tmp_path):
    root = _package(tmp_path, {
        **CLEAN,
        # upward, inside a function: the registry reaching for the models
        "registry.py": "from .errors import GenlabError\n\ndef get():\n    from . import models\n",
        # a cycle through a package __init__ that re-exports its submodule
        "data/__init__.py": "from .sources import load\n",
        "data/sources.py": "from . import ImageData\n",
        # another module's private name, by name and by attribute
        "models/ae.py": "from .vae import _helper\nfrom . import vae\nvae._other()\n",
        "extras.py": "",
    })
    findings = check(root)
    assert findings.upward == ["genlab/registry.py:4: genlab.registry (ground) imports genlab.models (models)"]
    assert "genlab.data <-> genlab.data.sources" in findings.cycles
    assert "genlab.models <-> genlab.models.vae <-> genlab.registry" in findings.cycles
    assert findings.private == ["genlab/models/ae.py:1: genlab.models.ae imports _helper from genlab.models.vae",
                                "genlab/models/ae.py:3: genlab.models.ae reads genlab.models.vae._other"]
    assert findings.unplaced == ["genlab.extras"]


def test_a_private_module_of_another_package_is_refused(tmp_path):
    root = _package(tmp_path, {**CLEAN, "train/loop.py": "from ..models import _parts\nfrom ..models._parts import block\n"})
    assert check(root).private == ["genlab/train/loop.py:1: genlab.train.loop imports the private module genlab.models._parts",
                                   "genlab/train/loop.py:2: genlab.train.loop imports the private module genlab.models._parts"]


@pytest.mark.parametrize("layer", ["cli", "serve"])
def test_serve_sits_beside_cli(layer):
    assert layer_of(f"genlab.{layer}.app") == layer_of("genlab.cli.use")
    assert layer_of("genlab.apps.report") < layer_of(f"genlab.{layer}.app") < layer_of("genlab")
