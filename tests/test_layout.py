"""The web side's layout (issue 16): role blueprints stand side by side, none imports another."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
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
