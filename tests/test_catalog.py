"""The checked-in catalogue (genlab/cli/catalog.json) and the README's model table agree with the
registry; every config key of every registered model has a meaning; `genlab models --config NAME`
reads each key's meaning, type, allowed values, default and resolved default (issue 14)."""
import dataclasses
import json
from dataclasses import dataclass
from typing import Annotated, Literal, Optional

import pytest

from genlab.cli import catalog
from genlab.models.base import ModelConfig, Range, field_meanings
from genlab.registry import entries
from tests.cli_run import run

BUILTIN = catalog.builtin(entries())   # without models the tests themselves register
NAMES = [e.name for e in BUILTIN]
STALE = f"out of date with the registry; run `{catalog.REGENERATE}` and commit the result"


@pytest.fixture(scope="module")
def built():
    return json.loads(catalog.dumps(catalog.build()))   # through JSON, as it is stored


def test_catalog_json_is_what_the_registry_gives(built):
    stored = json.loads(catalog.CATALOG.read_text(encoding="utf-8"))
    for part in ("models", "datasets", "commands"):
        assert stored[part] == built[part], f"genlab/cli/catalog.json ({part}) is {STALE}"


def test_readme_model_table_is_what_the_registry_gives(built):
    text = catalog.README.read_text(encoding="utf-8")
    assert catalog.README_START in text and catalog.README_END in text
    assert catalog.readme_with_table(text, catalog.readme_table(built)) == text, f"README.md's model table is {STALE}"
    table = text[text.index(catalog.README_START):text.index(catalog.README_END)]
    assert [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")] == NAMES


def test_every_config_key_of_every_model_has_a_meaning_and_every_model_a_paper():
    missing = [f"{e.name}: {e.config_class.__name__}.{f.name}" for e in BUILTIN
               for f in dataclasses.fields(e.config_class) if not field_meanings(e.config_class).get(f.name)]
    assert missing == [], "add a trailing `# meaning` comment beside these config fields:\n" + "\n".join(missing)
    assert sorted(set(NAMES) - set(catalog.PAPERS)) == [], "add each model's paper to PAPERS in genlab/cli/catalog.py"


def test_catalog_entries_carry_types_ranges_choices_and_resolved_defaults(built):
    dcgan = {k["key"]: k for k in next(m for m in built["models"] if m["name"] == "dcgan")["keys"]}
    assert dcgan["lr"]["default"] is None and dcgan["lr"]["resolved"] == 2e-4
    assert dcgan["lr"]["resolved_note"] == "the nonsaturating loss's recipe"
    assert dcgan["beta1"]["range"] == "in [0, 1)" and dcgan["beta1"]["resolved"] == 0.5
    assert dcgan["d_norm"]["resolved"] == "batch" and dcgan["d_norm"]["choices"] == ["auto", "batch", "layer", "none"]
    assert dcgan["latent_dim"]["type"] == "int" and dcgan["latent_dim"]["range"] == "≥ 1"
    assert "resolved" not in dcgan["latent_dim"]           # a plain default resolves to itself
    vae = next(m for m in built["models"] if m["name"] == "vae")
    assert vae["capabilities"] == ["encode", "decode", "reconstruct", "sample"]
    assert {k["key"]: k["meaning"] for k in vae["keys"]}["kl_weight"] == "k2, the weight of kl_loss"
    assert built["datasets"]["mnist5k"].startswith("5,000 real MNIST digits")
    assert {"name": "models", "module": "info", "help": "registered models and their capabilities"} in built["commands"]


def test_models_config_reads_each_key(capsys):
    code, out, err = run(capsys, "models", "--config", "dcgan")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("dcgan: DCGAN") and "  paper: Radford, Metz & Chintala 2016" in lines
    lr = lines.index(next(line for line in lines if line.split()[:1] == ["lr"]))
    assert lines[lr].split(None, 1)[1] == "float or none, > 0; default None → 0.0002 (the nonsaturating loss's recipe)"
    assert lines[lr + 1].strip() == "G's learning rate (and D's unless lr_d); None: the loss's recipe"
    assert any(line.split()[:1] == ["loss"] and "one of 'minimax', 'nonsaturating'" in line for line in lines)
    assert "lr = None" not in out


def test_models_config_unknown_name_suggests(capsys):
    code, out, err = run(capsys, "models", "--config", "vea")
    assert code == 2 and err.strip() == f"genlab: error: unknown model 'vea'; did you mean 'vae'? " \
                                        f"(`genlab models` lists all {len(NAMES)})"


def test_models_and_datasets_list_from_the_catalogue(capsys):
    code, out, _ = run(capsys, "models")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == NAMES
    assert "[encode, decode, reconstruct, sample]" in next(line for line in out.splitlines() if line.startswith("vae "))
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and out.splitlines()[0].startswith("mnist5k")


# --- reading meanings and ranges from the source ------------------------------------------------

@dataclass
class _ParentConfig(ModelConfig):
    weight: Annotated[float, Range(0)] = 1.0      # w, the weight of the term
    # a comment block above a field
    # (two lines)
    rate: Annotated[Optional[float], Range(0, 1, low_open=True)] = None
    mode: Literal["a", "b"] = "a"  # beside it

    widths: tuple[int, ...] = ()


@dataclass
class _ChildConfig(_ParentConfig):
    weight: Annotated[float, Range(0)] = 2.0
    mode: Literal["a", "b"] = "b"                 # the child's own words


def test_meanings_come_from_beside_above_or_the_parent():
    meanings = field_meanings(_ChildConfig)
    assert meanings["weight"] == "w, the weight of the term"           # a new default keeps the parent's words
    assert meanings["rate"] == "a comment block above a field (two lines)"
    assert meanings["mode"] == "the child's own words"
    assert "widths" not in meanings                                    # a blank line ends the block above
    assert meanings["lr"] == "the optimiser's learning rate"


def test_range_words():
    assert [str(r) for r in (Range(0), Range(0, low_open=True), Range(0, 1), Range(0, 1, True, True),
                             Range(0, 1, high_open=True), Range(high=5))] == \
        ["≥ 0", "> 0", "in [0, 1]", "in (0, 1)", "in [0, 1)", "≤ 5"]
    assert 0 in Range(0) and 0 not in Range(0, low_open=True) and 1 not in Range(0, 1, high_open=True)
    assert 0.5 in Range(0, 1, True, True) and -0.1 not in Range(0, 1)
