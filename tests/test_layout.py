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


# Who may commit (issue 16): the request boundary, and each job or command at its own. A service
# commits only where it is a unit of work of its own, run outside any request's transaction.
COMMITTING = {
    "transaction.py": "the request boundary",
    "errors.py": "error handlers: the audit of a refusal outlives its rollback",
    "jobs.py": "each job commits its own unit of work",
    "cli.py": "each command commits its own unit of work",
    "services/cycles.py": "a cycle commits as it goes: claim, lock, one save transaction",
    "services/cycle_lock.py": "the lock's own connection",
    "services/mail.py": "delivery commits per message, off the request path",
    "services/delivery.py": "the mail worker, after the request's commit",
    "services/notifications.py": "the mail worker, after the request's commit",
    "services/health.py": "/healthz proves a write commits",
    "services/backup.py": "no transaction of ours may hold SQLite's lock during the copy",
    "services/demo.py": "seed-demo commits in batches",
}


def _session_commits(path: Path) -> list[int]:
    """Lines calling `<something>.session.commit()` (a savepoint's or a connection's commit is
    part of the caller's own transaction, not a boundary)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "session"
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_boundaries_commit() -> None:
    """Views, blueprints and services flush; the request boundary (or a job, a command) commits."""
    found = [
        f"{path.relative_to(APP)}:{line}"
        for path in sorted(APP.rglob("*.py"))
        if str(path.relative_to(APP)) not in COMMITTING
        for line in _session_commits(path)
    ]
    assert found == []


def test_every_early_commit_says_why() -> None:
    """`commit_now()` keeps something a failing request would roll back: each call says what."""
    silent = []
    for path in sorted(APP.rglob("*.py")):
        if path.name == "transaction.py":  # where it is defined and described
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "commit_now()" in line and "#" not in line:
                silent.append(f"{path.relative_to(APP)}:{number}")
    assert silent == []


def test_mail_goes_only_through_the_after_commit_hook() -> None:
    """No view or blueprint sends: a service asks `mail.send_after_commit()` and the boundary
    wakes the delivery worker once the request's transaction has committed."""
    senders = ("send_pending", "deliver_pending", "delivery.work", "delivery.kick")
    calls = [
        f"{path.relative_to(APP)} calls {name}"
        for role in ROLE_BLUEPRINTS
        for path in sorted((APP / role).rglob("*.py"))
        for name in senders
        if f"{name}(" in path.read_text()
    ]
    calls += [
        f"web.py calls {name}" for name in senders if f"{name}(" in (APP / "web.py").read_text()
    ]
    assert calls == []


def test_every_view_is_fifteen_lines_at_most() -> None:
    """Issue 16: a view reads its input, calls a service, answers; the rest lives in services or
    small helpers. Counted as scripts/measure_structure.py counts (def line to last line)."""
    assert _measure().long_views() == []


@pytest.mark.parametrize(
    "module",
    ["app.models", "app.services.mail", "app.services.explanations", "app.transaction"],
)
def test_each_module_imports_alone(module: str) -> None:
    """In a fresh interpreter: a module that only worked after another was imported would fail."""
    # The command is this interpreter and a module name from the list above.
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, timeout=300)  # noqa: S603
