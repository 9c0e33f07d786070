"""What a module pulls in by its own imports, read from the source (scripts/measure_structure.py's
graph). Importing any `app.x` also runs the package's `app/__init__.py`, which builds the whole
application, so "is B in sys.modules after importing A" no longer says anything about layering:
the graph does, with the package itself left out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "measure_structure.py"


def reachable(*starts: str) -> set[str]:
    spec = importlib.util.spec_from_file_location("measure_structure", SCRIPT)
    assert spec is not None and spec.loader is not None
    measure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(measure)
    mods = measure.modules()
    known = set(mods)
    graph = {
        name: measure.imports_of(name, path, known, typing=False) for name, path in mods.items()
    }
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        name = todo.pop()
        if name in seen or name == "app":  # the package's __init__: the application factory
            continue
        seen.add(name)
        todo.extend(graph.get(name, ()))
    return seen
