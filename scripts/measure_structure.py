"""Structure figures for the web side (issue 16): import loops, imports in functions, long views.

Run: ``.venv/bin/python scripts/measure_structure.py`` (add ``-v`` to list every finding).

- *import loops*: strongly connected groups of ``app`` modules in the import graph built from every
  ``import`` statement, wherever it stands (a loop hidden behind a function-level import is still a
  loop), each printed as one short cycle through it; loops that close only through imports under
  ``if TYPE_CHECKING:`` (never run) are counted apart. A package's ``__init__`` is its own module
  and ``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``.
- *imports inside functions*: ``import`` statements under a ``def`` in ``app/`` (``TYPE_CHECKING``
  blocks at module level are not inside functions).
- *views over 15 lines*: functions decorated with a blueprint route (``@bp.route/get/post/...``),
  counted from the ``def`` line to the last line of the body (decorators not counted).

The duplicate pairs and mypy findings come from their own tools (see the README, Architecture).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "app"
ROUTE_METHODS = {"route", "get", "post", "put", "patch", "delete"}
MAX_VIEW_LINES = 15


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    drop = node.level - 1 if is_package else node.level
    base = base[: len(base) - drop] if drop else base
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes under `if TYPE_CHECKING:` (never run: no loop at run time)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return hidden


def imports_of(name: str, path: Path, known: set[str], *, typing: bool) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    hidden = set() if typing else _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(name, path.name == "__init__.py", node)
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                for alias in node.names
            ]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; returns the groups of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                group.append(item)
                if item == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def shortest_cycle(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """The shortest cycle through the group (breadth first from each member)."""
    members = set(group)
    best: list[str] = []
    for start in group:
        paths = {start: [start]}
        frontier = [start]
        while frontier:
            next_frontier = []
            for node in frontier:
                for nxt in sorted(graph[node] & members):
                    if nxt == start and (not best or len(paths[node]) + 1 < len(best)):
                        best = paths[node] + [start]
                    elif nxt not in paths:
                        paths[nxt] = paths[node] + [nxt]
                        next_frontier.append(nxt)
            frontier = next_frontier
    return best


def import_loops(*, typing: bool = False) -> list[list[str]]:
    """Loops at run time; with `typing`, also through imports only the type checker follows."""
    mods = modules()
    known = set(mods)
    graph = {name: imports_of(name, path, known, typing=typing) for name, path in mods.items()}
    return [
        shortest_cycle(graph, group) + [f"({len(group)} modules in the loop)"]
        for group in strongly_connected(graph)
    ]


def imports_inside_functions() -> list[str]:
    found: dict[tuple[str, int], str] = {}
    for _name, path in modules().items():
        tree = ast.parse(path.read_text(), str(path))
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(func):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        # A nested function's import is counted once, under the innermost def.
                        found[(str(path.relative_to(ROOT)), node.lineno)] = func.name
    return [f"{where}:{line} in {func}" for (where, line), func in sorted(found.items())]


def _is_route(decorator: ast.expr) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in ROUTE_METHODS
    )


def long_views() -> list[tuple[str, int]]:
    found = []
    for _name, path in modules().items():
        tree = ast.parse(path.read_text(), str(path))
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef) and any(map(_is_route, func.decorator_list)):
                length = (func.end_lineno or func.lineno) - func.lineno + 1
                if length > MAX_VIEW_LINES:
                    found.append((f"{path.relative_to(ROOT)}:{func.lineno} {func.name}", length))
    return sorted(found, key=lambda item: -item[1])


def main() -> None:
    verbose = "-v" in sys.argv
    loops = import_loops()
    typing_only = [loop for loop in import_loops(typing=True) if loop not in loops]
    inside = imports_inside_functions()
    views = long_views()
    print(f"import loops: {len(loops)} at run time, {len(typing_only)} more under TYPE_CHECKING")
    for loop in loops:
        print("  " + " -> ".join(loop[:-1]) + " " + loop[-1])
    for loop in typing_only:
        print("  " + " -> ".join(loop[:-1]) + " " + loop[-1] + ", TYPE_CHECKING only")
    print(f"imports inside functions: {len(inside)}")
    if verbose:
        for item in inside:
            print("  " + item)
    print(f"views over {MAX_VIEW_LINES} lines: {len(views)}")
    if verbose:
        for where, length in views:
            print(f"  {length:4d}  {where}")


if __name__ == "__main__":
    main()
