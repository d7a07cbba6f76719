"""`python -m client generate`: a video on disk, or one readable line and a non-zero exit."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
from rich.console import Console

from client.cli import main
from mock_server import Auth
from mock_server.tls import CertificateAuthority
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
        [sys.executable, "-m", "client", "generate", "--help"], capture_output=True, text=True
    )
    assert finished.returncode == 0
    assert "--aspect-ratio" in finished.stdout
