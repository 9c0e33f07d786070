"""The web side's layout (issue 16): role blueprints side by side, imports at the top, no loops."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
SCRIPT = APP.parent / "scripts" / "measure_structure.py"
ROLE_BLUEPRINTS = ("auth", "students", "smes", "coordinators", "matches", "main", "api")


def _app_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("app.")}


def test_no_role_blueprint_imports_another() -> None:
    crossings = []
    for role in ROLE_BLUEPRINTS:
        for path in sorted((APP / role).rglob("*.py")):
            for name in _app_imports(path):
                other = name.split(".")[1]
                if other in ROLE_BLUEPRINTS and other != role:
                    crossings.append(f"{path.relative_to(APP)} imports {name}")
    assert crossings == []


def _measure() -> ModuleType:
    spec = importlib.util.spec_from_file_location("measure_structure", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_loops_at_run_time() -> None:
    """Issue 16: a shared piece sits a layer below its users, so no module imports itself back."""
    assert _measure().import_loops() == []


def test_imports_stand_at_the_top() -> None:
    assert _measure().imports_inside_functions() == []


@pytest.mark.parametrize(
    "module",
    ["app.models", "app.services.mail", "app.services.explanations", "app.transaction"],
)
def test_each_module_imports_alone(module: str) -> None:
    """In a fresh interpreter: a module that only worked after another was imported would fail."""
    # The command is this interpreter and a module name from the list above.
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, timeout=300)  # noqa: S603
