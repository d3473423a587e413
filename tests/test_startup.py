"""Quick commands answer without torch or Lightning (issue 14: `genlab --version` took 4–6 s):
`import genlab` is lazy (PEP 562), the registry imports the built-in models on its first lookup, and
the CLI imports only the module of the command asked for. Each check runs in a fresh interpreter,
since this test process has torch loaded already."""
import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "lightning")


def fresh(code: str) -> str:
    """Run ``code`` in a new interpreter; its last stdout line."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["models"], ["models", "--config", "dcgan"],
                                  ["models", "--config", "vea"], ["datasets"],
                                  ["conv", "--size", "28", "--kernel", "3", "--stride", "2", "--padding", "1"],
                                  ["conv", "--explain"], ["models", "--help"]])
def test_quick_commands_import_no_torch(argv):
    code = ("import sys, json\nfrom genlab.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert json.loads(fresh(code)) == []


def test_import_genlab_is_lazy_and_the_public_names_still_work():
    code = ("import sys, json, genlab\n"
            "before = [m for m in ('torch', 'lightning', 'genlab.models') if m in sys.modules]\n"
            "names = sorted(n for n in genlab.__all__ if not hasattr(genlab, n))\n"   # each resolves
            "model = genlab.create('vae', latent_dim=3)\n"
            "print(json.dumps([before, names, type(model).__name__, 'vae' in genlab.list_models(),\n"
            "                  genlab.ImageData.__name__, callable(genlab.report), 'torch' in sys.modules]))")
    before, missing, model, listed, imagedata, report, torch_now = json.loads(fresh(code))
    assert before == [] and missing == []
    assert (model, listed, imagedata, report, torch_now) == ("VAE", True, "ImageData", True, True)


def test_registry_fills_itself_and_keeps_a_users_model():
    # registered before any lookup, from a module of the user's (plain classes: the registry needs no more)
    code = ("import sys, json\n"
            "from genlab.registry import register, names, get\n"
            "class MineConfig:\n    pass\n"
            "@register('mine', MineConfig, 'a user model')\nclass Mine:\n    pass\n"
            "loaded_early = 'genlab.models' in sys.modules\n"
            "print(json.dumps([loaded_early, 'mine' in names(), 'vae' in names(), get('dcgan').name]))")
    assert json.loads(fresh(code)) == [False, True, True, "dcgan"]


def test_unknown_attribute_is_an_attribute_error():
    assert fresh("import genlab\nprint(hasattr(genlab, 'no_such_name'))") == "False"


def test_lazy_help_lists_what_the_full_parser_lists():
    """`genlab --help` lists the commands from the catalogue; the text is the full parser's."""
    code = ("import contextlib, io\nfrom genlab.cli import build_parser\n"
            "lazy, full = io.StringIO(), io.StringIO()\n"
            "build_parser(['--help']).print_help(lazy)\nbuild_parser().print_help(full)\n"
            "print(lazy.getvalue() == full.getvalue())")
    assert fresh(code) == "True"
