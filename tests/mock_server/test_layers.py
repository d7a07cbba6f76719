"""The package's layers, read from its imports: each rule names who may depend on whom.

- Only the web layer (`http/`), route modules, `app`, `runtime/server` and the pytest plugin import
  Starlette or uvicorn.
- The shared vocabulary at the top (`settings`, `clock`, `ids`, `errors`, `hosts`, `validation`)
  imports no folder.
- Below the routes, dependencies run one way: `media <- queue <- webhooks` and
  `queue <- endpoints`: the queue serves any endpoint and never imports one.
- The harness (scenarios, journal, control plane) is a leaf of the layers below the routes:
  queue, media and webhooks never import it.
- Only `app`, `cli` (with its parts in `commandline/`) and the pytest plugin import `runtime/`
  (and `runtime/` itself).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mock_server"
WEB = ("starlette", "uvicorn")
VOCABULARY = {"settings", "clock", "ids", "errors", "hosts", "validation"}
FOLDERS = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
ENTRY_POINTS = {"app", "cli", "pytest_plugin"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, at the top or inside functions (`falfake.` removed)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            yield name.removeprefix("falfake.") if name.startswith("falfake.") else name


def is_route_module(name: str) -> bool:
    return name.rpartition(".")[2] in {"routes"} or name.endswith("_routes")


def folder_of(name: str) -> str | None:
    first = name.split(".")[0]
    return first if first in FOLDERS and "." in name else None


def offences(rule: str) -> list[str]:
    found = []
    for name, path in modules().items():
        for imported in imports(path):
            if _breaks(rule, name, imported):
                found.append(f"{name} imports {imported}")
    return sorted(set(found))


def _breaks(rule: str, name: str, imported: str) -> bool:
    target = folder_of(imported)
    if rule == "web":
        allowed = (
            name.startswith("http.")
            or is_route_module(name)
            or name in {"app", "runtime.server", "pytest_plugin"}
        )
        return imported.split(".")[0] in WEB and not allowed
    if rule == "vocabulary":
        return name in VOCABULARY and target is not None
    below = not is_route_module(name)
    if rule == "one way":
        rank = {"media": 0, "queue": 1, "endpoints": 2, "webhooks": 2}
        mine, theirs = rank.get(folder_of(name) or ""), rank.get(target or "")
        return below and mine is not None and theirs is not None and theirs > mine
    if rule == "harness is a leaf":
        leaves = {"media", "queue", "endpoints", "webhooks"}
        return below and folder_of(name) in leaves and target == "harness"
    if rule == "runtime":
        return (
            target == "runtime"
            and name not in ENTRY_POINTS
            and folder_of(name) not in {"runtime", "commandline"}
        )
    raise AssertionError(rule)


@pytest.mark.parametrize("rule", ["web", "vocabulary", "one way", "harness is a leaf", "runtime"])
def test_the_layers_hold(rule: str) -> None:
    assert offences(rule) == []


def test_the_rules_see_every_module_and_their_imports() -> None:
    found = modules()
    assert {"app", "queue.store", "runtime.server", "http.ingress"} <= found.keys()
    assert "starlette.applications" in set(imports(found["app"]))
    assert "queue.store" in set(imports(found["fake"]))
