"""Installing falfake adds one name, `falfake`, and a user's own `contracts/` and `client.py`
keep working beside it: the wheel is built and installed into a fresh environment next to such a
project, which runs the README's pytest examples."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"falfake": "mock_server", "falfake.client": "client", "falfake.contracts": "contracts"}


def test_every_folder_of_the_tree_is_a_package_of_the_wheel() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert declared["package-dir"] == FOLDERS
    found = set()
    for name, folder in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            inside = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *inside)))
    assert set(declared["packages"]) == found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel` builds from a copy of the sources (the tree stays clean)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    for folder in FOLDERS.values():
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("falfake-*.whl")
    return path


def test_the_wheel_installs_one_top_level_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        entry_points = archive.read(
            next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        ).decode()
    assert {top for top in tops if not top.endswith(".dist-info")} == {"falfake"}
    assert "falfake = falfake.cli:main" in entry_points
    assert "falfake = falfake.pytest_plugin" in entry_points
    assert "falfake/contracts/openapi.json" in set(zipfile.ZipFile(wheel).namelist())


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with the wheel alone installed in it; its dependencies (and pytest and
    fal-client) are read from this run's environment, so nothing is downloaded."""
    home = tmp_path_factory.mktemp("env")
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A plain path line: this run's packages are found, its .pth files (the editable install of
    # falfake among them) are not run.
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            wheel,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    return python


USERS_CONFTEST = """\
import client
import contracts


def test_the_projects_own_modules_are_its_own() -> None:
    assert (client.WHO, contracts.WHO) == ("the user's client.py", "the user's contracts/")
"""


def test_a_user_project_with_its_own_contracts_and_client_runs_the_readme_examples(
    installed: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    (project / "contracts").mkdir(parents=True)
    (project / "contracts" / "__init__.py").write_text('WHO = "the user\'s contracts/"\n')
    (project / "contracts" / "documents.py").write_text("")
    (project / "client.py").write_text('WHO = "the user\'s client.py"\n')
    (project / "tests").mkdir()
    examples = ROOT / "tests" / "examples"
    shutil.copy(examples / "test_examples.py", project / "tests" / "test_examples.py")
    shutil.copy(examples / "test_pipeline.py", project / "tests" / "test_pipeline.py")
    (project / "tests" / "test_own_modules.py").write_text(USERS_CONFTEST)
    ran = subprocess.run(
        [str(installed), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "6 passed" in ran.stdout
    where = subprocess.run(
        [str(installed), "-c", "import falfake, falfake.client; print(falfake.__file__)"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(installed.parents[1]))


def test_the_installed_command_serves(installed: Path, tmp_path: Path) -> None:
    command = [str(installed.parent / "falfake"), "serve", "--port", "0", "--ca-dir", str(tmp_path)]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stderr is not None
            match = re.search(r"on (http://127\.0\.0\.1:\d+)$", process.stderr.readline().strip())
            assert match
            health = httpx.get(f"{match.group(1)}/_falfake/health", timeout=10)
            assert health.json()["storage"] == "memory"
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_no_module_imports_the_folders_by_their_tree_names() -> None:
    """From the repository's root `import contracts` would still work (the folder is there), and
    would load a second copy of the code; installed, it would fail or find the user's own."""
    found = []
    for folder in (*FOLDERS.values(), "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and node.level == 0
                    else []
                )
                found += [f"{path}: {n}" for n in names if n.split(".")[0] in FOLDERS.values()]
                # Code run in a subprocess, as a string.
                code = node.value if isinstance(node, ast.Constant) else None
                if isinstance(code, str) and path != Path(__file__) and _OLD_IMPORT.search(code):
                    found.append(f"{path}: {code!r}")
    assert found == []


_OLD_IMPORT = re.compile(r"(^|\n)\s*(from|import) (mock_server|client|contracts)\b")
