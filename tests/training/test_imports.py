"""training/ is a plain package: no Django, no flywheel, and no heavy library at import time."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys

import training
from tests.training.conftest import ROOT

MODULES = sorted(
    f"training.{m.name}" for m in pkgutil.iter_modules(training.__path__) if m.name != "__main__"
)


def imported_after(modules: list[str]) -> set[str]:
    code = (
        "import json, sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True, cwd=ROOT
    )
    return {name.split(".")[0] for name in json.loads(done.stdout)}


def test_every_training_module_is_covered() -> None:
    assert {
        "training.cli",
        "training.release",
        "training.runner",
        "training.sft",
        "training.dpo",
        "training.gate",
    } <= set(MODULES)


def test_no_training_module_imports_django_or_flywheel() -> None:
    loaded = imported_after(MODULES)
    assert "django" not in loaded and "flywheel" not in loaded and "annotate" not in loaded
    # Heavy libraries load inside the functions that need them (instant --help, light imports).
    assert not loaded & {"torch", "transformers", "trl", "peft", "datasets", "matplotlib"}


def test_no_training_source_imports_django_or_flywheel_even_inside_a_function() -> None:
    # Lazy imports inside functions escape the sys.modules check above; the syntax tree does not.
    for path in sorted((ROOT / "training").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"django", "flywheel", "annotate"}, f"{path}: imports {name}"
