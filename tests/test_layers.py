"""One direction of dependency for the whole tree, read from every import of every module.

Ranks, lowest first (STYLE.md): `falfake.contracts`; the vocabulary (`settings`, `errors`, `clock`,
`ids`, `hosts`, `validation`, one layer); the client (above the contracts, beside the rest); the
domain (`media` < `queue` < `endpoints`, `webhooks`, `harness` < `realtime`, `upstream`); the
storage interface and its memory engine (`storage`); `http/`; `fake`; the route modules wherever
they live (`*routes`, `ui/`); the storage engines (`runtime/` data directory, its records and
codec); the wiring (`app`); `runtime/`; the entry points (`cli`, `commandline/`, `pytest_plugin`,
`testing`, `__main__`, the package itself). A module imports its own rank or below, and another
folder only below its own; `falfake.client` imports only itself and the contracts. Also: no cycle
between modules or between folders; only `http/`, routes, the wiring, `runtime/` and the plugin
import Starlette or uvicorn; the storage engines know no endpoint. Imports inside functions count;
those under `if TYPE_CHECKING:` do not (they never run).
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"falfake": "mock_server", "falfake.client": "client", "falfake.contracts": "contracts"}
WEB = ("starlette", "uvicorn")
VOCABULARY = {"settings", "errors", "clock", "ids", "hosts", "validation"}
DOMAIN = {
    "media": 2.0,
    "queue": 2.1,
    "endpoints": 2.2,
    "webhooks": 2.2,
    "harness": 2.2,
    "realtime": 2.3,
    "upstream": 2.3,
}
STORAGE = {"runtime.data_dir", "runtime.sqlite_records", "runtime.codec"}
ENTRY_POINTS = {"cli", "pytest_plugin", "testing", "__main__", ""}


def module_names() -> dict[str, Path]:
    """Every module of the tree by its installed name."""
    found = {}
    for package, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            if package == "falfake" and parts and parts[0] in ("client", "contracts"):
                continue
            found[name] = path
    return found


MODULES = module_names()


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def imported(tree: ast.AST) -> Iterator[str]:
    """Each module an import statement in `tree` reaches: `from a import b` reaches `a.b` when
    that is a module of the tree, else `a` (relative imports keep their dots)."""
    for node in ast.iter_child_nodes(tree):
        if _type_checking(node):
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
        yield from imported(node)


def graph() -> dict[str, set[str]]:
    """Module -> the modules of the tree and the outside libraries it imports."""
    return {
        name: set(imported(ast.parse(path.read_text()))) - {name} for name, path in MODULES.items()
    }


def place(name: str) -> tuple[float, str]:
    """The rank of a module of the tree, and the folder (or layer) it belongs to."""
    if name.startswith("falfake.contracts"):
        return 0.0, "contracts"
    if name.startswith("falfake.client"):
        return 0.5, "client"
    inner = name.removeprefix("falfake").removeprefix(".")
    folder = inner.split(".")[0]
    last = inner.rpartition(".")[2]
    if last == "routes" or last.endswith("_routes") or folder == "ui":
        return 5.0, "routes"
    if inner in VOCABULARY:
        return 1.0, "vocabulary"
    if folder in DOMAIN:
        return DOMAIN[folder], folder
    if inner == "storage":
        return 2.5, "storage interface"
    if folder == "http":
        return 3.0, folder
    if inner == "fake":
        return 4.0, inner
    if inner in STORAGE or inner.startswith("runtime.postgres"):
        return 6.0, "storage"
    if inner == "app":
        return 7.0, inner
    if folder == "runtime":
        return 8.0, folder
    if inner in ENTRY_POINTS or folder == "commandline":
        return 9.0, "entry points"
    raise AssertionError(f"{name} has no rank: give it one in tests/test_layers.py")


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Every import that breaks a rule, and every cycle."""
    found = []
    for name, targets in edges.items():
        rank, folder = place(name)
        for target in targets:
            if target.startswith("."):
                found.append(f"{name} imports {target}: a relative import")
                continue
            if (
                target.split(".")[0] in WEB
                and folder
                not in (
                    "http",
                    "routes",
                    "app",
                    "runtime",
                )
                and not name.endswith("pytest_plugin")
            ):
                found.append(f"{name} imports {target}: only the web layers import Starlette")
            if target not in edges:
                continue
            their_rank, their_folder = place(target)
            if folder == "client" and their_folder not in ("client", "contracts"):
                found.append(f"{name} imports {target}: the client imports only the contracts")
            elif folder != "client" and their_folder == "client":
                found.append(f"{name} imports {target}: the fake never imports the client")
            elif folder == "contracts" and their_folder != "contracts":
                found.append(f"{name} imports {target}: the contracts import nothing of falfake")
            elif their_rank > rank or (their_rank == rank and their_folder != folder):
                found.append(f"{name} imports {target}: {their_folder} is not below {folder}")
            if folder == "storage" and their_folder == "endpoints":
                found.append(f"{name} imports {target}: a storage engine knows no endpoint")
    found += _cycles({n: {t for t in ts if t in edges} for n, ts in edges.items()}, "modules")
    folders: dict[str, set[str]] = {}
    for name, targets in edges.items():
        mine = place(name)[1]
        folders.setdefault(mine, set()).update(
            place(t)[1] for t in targets if t in edges and place(t)[1] != mine
        )
    return found + _cycles(folders, "folders")


def _cycles(edges: dict[str, set[str]], what: str) -> list[str]:
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as exc:
        return [f"a cycle between {what}: {' -> '.join(exc.args[1])}"]
    return []


def test_every_module_has_a_place_and_the_rules_hold() -> None:
    assert violations(graph()) == []


def test_the_graph_sees_every_module_and_every_kind_of_import() -> None:
    edges = graph()
    assert {"falfake.app", "falfake.client.sync", "falfake.contracts.runner"} <= edges.keys()
    assert "falfake.harness.routes" in edges
    assert "starlette.applications" in edges["falfake.app"]
    assert "falfake.queue.requests" in edges["falfake.fake"]
    # Inside a function: the plan's models load with the first submit.
    assert "falfake.http.bodies" in edges["falfake.harness.routes"]
    # Under TYPE_CHECKING: never run, not counted.
    assert "falfake.app" not in edges["falfake"]


PLANTED = [
    pytest.param("falfake.queue.store", "falfake.app", "app is not below queue", id="up-to-app"),
    pytest.param(
        "falfake.queue.store", "falfake.http.render", "http is not below queue", id="up-to-http"
    ),
    pytest.param("falfake.media.files", "falfake.fake", "fake is not below media", id="to-fake"),
    pytest.param(
        "falfake.media.images", "falfake.ui.views", "routes is not below media", id="to-ui"
    ),
    pytest.param(
        "falfake.runtime.codec",
        "falfake.endpoints.reference_to_video",
        "a storage engine knows no endpoint",
        id="codec-to-endpoint",
    ),
    pytest.param(
        "falfake.contracts.runner",
        "falfake.app",
        "the contracts import nothing of falfake",
        id="contracts-to-fake",
    ),
    pytest.param(
        "falfake.client.sync",
        "falfake.settings",
        "the client imports only the contracts",
        id="client-to-fake",
    ),
    pytest.param(
        "falfake.clock", "falfake.queue.models", "queue is not below vocabulary", id="vocabulary"
    ),
    pytest.param(
        "falfake.queue.store",
        "falfake.client.retry",
        "the fake never imports the client",
        id="fake-to-client",
    ),
    pytest.param(
        "falfake.webhooks.delivery",
        "falfake.harness.journal",
        "harness is not below webhooks",
        id="same-rank",
    ),
    pytest.param(
        "falfake.queue.models", "starlette.responses", "only the web layers", id="starlette"
    ),
    pytest.param("falfake.media.files", ".images", "a relative import", id="relative"),
    pytest.param(
        "falfake.media.work",
        "falfake.media.outputs",
        "a cycle between modules: ",
        id="module-cycle",
    ),
]


@pytest.mark.parametrize(("importer", "target", "message"), PLANTED)
def test_a_planted_violation_is_found(importer: str, target: str, message: str) -> None:
    edges = graph()
    edges[importer] = edges[importer] | {target}
    assert any(message in found for found in violations(edges)), violations(edges)


def test_a_cycle_between_folders_is_found() -> None:
    edges = graph()
    # Each import alone points down a rank; together the two folders depend on each other.
    edges["falfake.media.work"] = edges["falfake.media.work"] | {"falfake.queue.models"}
    assert any("a cycle between folders" in found for found in violations(edges))


def test_a_module_without_a_place_is_named() -> None:
    with pytest.raises(AssertionError, match=r"falfake\.newfolder\.thing has no rank"):
        place("falfake.newfolder.thing")
