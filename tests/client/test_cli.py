"""`python -m falfake.client generate`: a video on disk, or one readable line and a non-zero
exit."""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
import respx
from rich.console import Console

from falfake import Auth
from falfake.client.cli import main, parser
from falfake.runtime.tls import CertificateAuthority
from tests.conftest import REAL_TIME, png, running_fake

PNG = png()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "ref.png"
    path.write_bytes(PNG)
    return path


@pytest.fixture
def output() -> io.StringIO:
    return io.StringIO()


def generate(server_url: str, output: io.StringIO, *arguments: str) -> int:
    console = Console(file=output, width=200)
    return main(["generate", "--falfake", server_url, "--key", "id:secret", *arguments], console)


def test_generate_uploads_the_image_and_saves_a_playable_video(
    server_url: str, image: Path, tmp_path: Path, output: io.StringIO
) -> None:
    target = tmp_path / "out.mp4"
    arguments = ["--prompt", "A cat <IMAGE_REF_0>", "--image", str(image), "-o", str(target)]
    arguments += ["--duration", "3", "--aspect-ratio", "9:16"]
    assert generate(server_url, output, *arguments) == 0
    with av.open(str(target), mode="r") as container:
        stream = container.streams.video[0]
        assert stream.height > stream.width
    assert "Video generated" in output.getvalue()
    assert f"Saved {target}" in output.getvalue()


def test_invalid_input_exits_2_with_the_reason(
    server_url: str, image: Path, output: io.StringIO
) -> None:
    code = generate(server_url, output, "--prompt", "<IMAGE_REF_3>", "--image", str(image))
    assert code == 2
    assert "Rejected: prompt: Value error, <IMAGE_REF_3> refers to image 3" in output.getvalue()
    assert "Traceback" not in output.getvalue()


def test_a_missing_image_exits_1_without_a_traceback(
    server_url: str, tmp_path: Path, output: io.StringIO
) -> None:
    missing = tmp_path / "missing.png"
    assert generate(server_url, output, "--prompt", "p", "--image", str(missing)) == 1
    assert f"Failed: Cannot read {missing}: No such file or directory" in output.getvalue()


@pytest.fixture(scope="module")
def strict_server(authority: CertificateAuthority) -> Iterator[str]:
    settings = dataclasses.replace(REAL_TIME, auth=Auth(keys=frozenset({"other:key"})))
    with running_fake(settings, authority) as url:
        yield url


def test_an_unknown_key_exits_1_with_fals_message(
    strict_server: str, image: Path, output: io.StringIO
) -> None:
    assert generate(strict_server, output, "--prompt", "p", "--image", "https://x/y.png") == 1
    assert "fal answered 401: No user found for Key ID and Secret" in output.getvalue()


def test_the_module_runs_as_a_command() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "falfake.client", "generate", "--help"],
        capture_output=True,
        text=True,
    )
    assert finished.returncode == 0
    assert "--aspect-ratio" in finished.stdout


def readme_command() -> str:
    """The client command as the README shows it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (line,) = [line for line in readme.splitlines() if line.startswith(README_COMMAND_START)]
    return line


README_COMMAND_START = (
    ".venv/bin/python -m falfake.client generate --falfake http://127.0.0.1:8000 "
)


def without_keys(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET")}


def test_the_readme_command_needs_no_key_against_a_falfake(server_url: str, tmp_path: Path) -> None:
    # Run where a user runs it: a folder with the project's .venv and a cat.png. The only change
    # to the README's words is the fake's address (this test's fake has a free port, not 8000).
    (tmp_path / ".venv").symlink_to(sys.prefix)
    (tmp_path / "cat.png").write_bytes(PNG)
    command = readme_command().replace("http://127.0.0.1:8000", server_url)
    done = subprocess.run(
        shlex.split(command),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=without_keys(dict(os.environ)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("using the test key falfake-test-key") == 1
    with av.open(str(tmp_path / "cat.mp4"), mode="r") as container:
        assert container.streams.video[0].frames > 0


def test_falfake_url_in_the_environment_is_a_falfake_too(
    server_url: str,
    image: Path,
    tmp_path: Path,
    output: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FALFAKE_URL", server_url)
    target = tmp_path / "out.mp4"
    arguments = ["generate", "--prompt", "A cat <IMAGE_REF_0>", "--image", str(image)]
    assert main([*arguments, "--duration", "3", "-o", str(target)], Console(file=output)) == 0
    assert "using the test key falfake-test-key" in output.getvalue()
    assert target.stat().st_size > 0


def test_against_fal_a_missing_key_says_how_to_set_one(
    image: Path, output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "FALFAKE_URL"):
        monkeypatch.delenv(name, raising=False)
    # Nothing is sent: the key is looked for before any request (respx would refuse one).
    with respx.mock(assert_all_called=False):
        code = main(["generate", "--prompt", "p", "--image", str(image)], Console(file=output))
    assert code == 1
    assert output.getvalue().startswith("Failed: No fal key: pass --key KEY or set FAL_KEY")


def test_a_key_given_is_used_as_it_is_with_a_falfake(
    strict_server: str, image: Path, output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAL_KEY", raising=False)
    arguments = ["generate", "--falfake", strict_server, "--prompt", "p", "--image", str(image)]
    # The strict fake accepts only other:key, so the test key is not used in its place.
    assert main([*arguments, "--key", "other:key", "-o", "/dev/null"], Console(file=output)) == 0
    assert "test key" not in output.getvalue()


def test_every_option_says_what_it_does_and_its_default() -> None:
    (generate,) = [
        action.choices["generate"]
        for action in parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    for action in generate._actions:
        assert action.help, action.dest
        if not action.required and action.dest != "help":
            assert "[default: " in action.help, action.dest
