"""The package's layers (CONTRIBUTING.md, "Layout"): no module imports a package of a higher layer.

Every import counts, also those inside functions and under TYPE_CHECKING: an upward import anywhere
ties a lower layer to a higher one (and risks cycles).
"""

import ast
import pathlib
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tfrec_llm"
LAYERS = {  # dotted prefix -> layer; the longest matching prefix wins
    "tfrec_llm": 1,  # top-level helpers: keras_setup, progress, unit_vectors
    "tfrec_llm.experiment_config": 1,
    "tfrec_llm.config": 1,
    "tfrec_llm.evaluation": 1,
    "tfrec_llm.data": 1,
    "tfrec_llm.models": 2,
    "tfrec_llm.training": 3,
    "tfrec_llm.serving": 4,
    "tfrec_llm.queries": 5,
    "tfrec_llm.benchmark": 5,
    "tfrec_llm.cli": 6,
    "tfrec_llm.cli_adapt_update": 6,
    "tfrec_llm.cli_benchmarks": 6,
    "tfrec_llm.testing": 7,  # the test extra: may use anything, nothing in the package uses it
}


def layer_of(module: str) -> int:
    matches = [prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")]
    return LAYERS[max(matches, key=len)]


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: pathlib.Path):
    """(line, dotted name) of every tfrec_llm import in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            if name == "tfrec_llm" or name.startswith("tfrec_llm."):
                yield node.lineno, name


def upward_imports():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        for line, name in imported_modules(path):
            if layer_of(name) > layer_of(importer):
                where = f"{path.relative_to(PACKAGE.parent)}:{line}"
                found.append(f"{where} ({layer_of(importer)}) imports {name} ({layer_of(name)})")
    return found


def test_no_module_imports_a_higher_layer():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """A planted serving -> queries import is reported with its file and line."""
    fake = tmp_path / "tfrec_llm"
    (fake / "serving").mkdir(parents=True)
    (fake / "serving" / "bad.py").write_text("import os\n\ndef f():\n    from tfrec_llm.queries import x\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert upward_imports() == ["tfrec_llm/serving/bad.py:4 (4) imports tfrec_llm.queries (5)"]


@pytest.mark.parametrize("module, layer", [("tfrec_llm.serving.catalog.item_lookup", 4), ("tfrec_llm.cli", 6)])
def test_layer_of_takes_the_longest_prefix(module, layer):
    assert layer_of(module) == layer
