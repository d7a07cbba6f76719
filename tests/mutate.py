"""`make mutate`: mutation testing of the riskiest modules with mutmut, and a score per module.

mutmut (configured under `[tool.mutmut]` in pyproject.toml) changes one small thing at a time in
the modules below and runs the in-process tests that reach the changed function; a mutant that no
test notices "survives". `tests/mutation_survivors.txt` lists the survivors reviewed and judged
equivalent (the change cannot be observed), each with the reason; they count as neither killed nor
survived; so do survivors that only change the case of an SQL statement (`case_only_sql`).
mutmut keeps its results in `mutants/`, so a second run only redoes what changed.

mutmut names a module by its file's path, while the tests import it by its installed name
(`mock_server/queue/store.py` is `falfake.queue.store`), so it runs in a stage, build/mutate/,
where the sources lie as the installed package does (`falfake/`, with `client/` and `contracts/`
in it), beside the tests; its `mutants/` is kept there.

    python -m tests.mutate [--max-children N] [--floor 85] [--report-only]
"""

from __future__ import annotations

import argparse
import ast
import collections
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

import tomli_w

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = ROOT / "tests" / "mutation_survivors.txt"
STAGE = ROOT / "build" / "mutate"
# Where each folder of the tree lies in the installed package.
INSTALLED = {"mock_server": "falfake", "client": "falfake/client", "contracts": "falfake/contracts"}


def staged(path: str) -> str:
    """A path of the tree (`mock_server/queue/store.py`) as it lies in the stage."""
    folder, _, rest = path.partition("/")
    return f"{INSTALLED[folder]}/{rest}"


def modules() -> list[str]:
    """The modules mutated, by their installed names."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return [staged(path).removesuffix(".py").replace("/", ".") for path in config["only_mutate"]]


def stage() -> None:
    """Lay the sources out as installed, with the tests and mutmut's settings, in STAGE (files
    that did not change keep their times, so mutmut redoes only what changed)."""
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", ".hypothesis")
    for folder, installed in INSTALLED.items():
        target = STAGE / installed
        shutil.copytree(ROOT / folder, target, ignore=ignore, dirs_exist_ok=True)
    for folder in ("tests", "mock_server"):  # tests read some files by their place in the tree
        shutil.copytree(ROOT / folder, STAGE / folder, ignore=ignore, dirs_exist_ok=True)
    for name in ("README.md", "Makefile"):
        shutil.copy2(ROOT / name, STAGE / name)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mutmut = project["tool"]["mutmut"]
    mutmut["source_paths"] = ["falfake"]
    mutmut["only_mutate"] = [staged(path) for path in mutmut["only_mutate"]]
    mutmut["also_copy"] = [*mutmut["also_copy"], "mock_server"]
    tools = {"pytest": project["tool"]["pytest"], "mutmut": mutmut}
    (STAGE / "pyproject.toml").write_text(tomli_w.dumps({"tool": tools}))


def equivalent() -> set[str]:
    """Mutant names judged equivalent: `name  # reason` lines."""
    names = set()
    for line in REVIEWED.read_text().splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            if not reason.strip():
                raise SystemExit(f"{REVIEWED}: {name.strip()} has no reason")
            names.add(name.strip())
    return names


def results() -> dict[str, str]:
    """Every mutant's name and outcome, as `mutmut results --all true` prints them."""
    shown = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=STAGE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    outcomes = {}
    for line in shown.splitlines():
        name, sep, outcome = line.strip().rpartition(": ")
        if sep:
            outcomes[name] = outcome
    return outcomes


_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA)\b", re.IGNORECASE)
_QUOTED = re.compile(r"'[^']*'")  # SQL string values, which do depend on case


def mutant_sources(module: str) -> dict[str, str]:
    """Each function of mutmut's copy of `module` (mutants and originals) by name, as source."""
    path = STAGE / "mutants" / (module.replace(".", "/") + ".py")
    text = path.read_text()
    lines = text.splitlines()
    return {
        node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno])
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name
    }


def case_only_sql(mutant: str, sources: dict[str, str]) -> bool:
    """A survivor that only changes the case of an SQL statement, its quoted values unchanged:
    SQLite reads keywords and names in any case, so no test can tell (judged once, here)."""
    name = mutant.rpartition(".")[2]
    changed = sources.get(name, "").splitlines()[1:]
    original = sources.get(name.rpartition("__mutmut_")[0] + "__mutmut_orig", "").splitlines()[1:]
    if len(changed) != len(original):
        return False
    differing = [(a, b) for a, b in zip(original, changed, strict=True) if a != b]
    return len(differing) == 1 and all(
        a.lower() == b.lower() and _SQL.search(a) and _QUOTED.findall(a) == _QUOTED.findall(b)
        for a, b in differing
    )


def module_of(mutant: str, names: list[str]) -> str | None:
    return next((name for name in names if mutant.startswith(name + ".")), None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutate", description=__doc__)
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants [2]")
    parser.add_argument("--floor", type=float, default=85.0, help="least score per module [85]")
    parser.add_argument(
        "--report-only", action="store_true", help="score what mutants/ holds, run nothing"
    )
    args = parser.parse_args(argv)
    if not args.report_only:
        stage()
        subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
            cwd=STAGE,
            check=False,
            stdout=subprocess.DEVNULL,
        )
    names, reviewed = modules(), equivalent()
    counts: dict[str, collections.Counter[str]] = {name: collections.Counter() for name in names}
    survivors = []
    sources = {name: mutant_sources(name) for name in names}
    for mutant, outcome in results().items():
        module = module_of(mutant, names)
        if module is None:
            continue
        if outcome == "survived" and (mutant in reviewed or case_only_sql(mutant, sources[module])):
            outcome = "equivalent"
        elif outcome == "survived":
            survivors.append(mutant)
        counts[module][outcome] += 1
    print(
        f"{'module':32} {'mutants':>8} {'killed':>7} {'survived':>9} {'equiv.':>7} "
        f"{'other':>6} {'score':>7}"
    )
    below = []
    for name in names:
        count = counts[name]
        killed, survived = count["killed"], count["survived"]
        other = sum(count.values()) - killed - survived - count["equivalent"]
        judged = killed + survived
        score = 100.0 * killed / judged if judged else 100.0
        if score < args.floor or other:
            below.append(name)
        print(
            f"{name:32} {sum(count.values()):8} {killed:7} {survived:9} "
            f"{count['equivalent']:7} {other:6} {score:6.1f}%"
        )
    print(f"\n{len(survivors)} survivors not reviewed (mutmut show NAME):")
    for mutant in survivors:
        print(f"  {mutant}")
    print("\n'other' counts mutants not run to a verdict (timeouts, not checked, suspicious).")
    return 1 if below else 0


if __name__ == "__main__":
    raise SystemExit(main())
