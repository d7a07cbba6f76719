"""The fake as users run it: a real server on a free loopback port, and the command line."""

from __future__ import annotations

import gc
import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import APP, ENDPOINT, KEY, VALID_INPUT
from tests.loopback import QuietHandler, serving


@pytest.fixture
def http(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, headers=KEY, timeout=10) as client:
        yield client


def test_full_lifecycle_over_a_real_socket(http: httpx.Client, server_url: str) -> None:
    submitted = http.post(f"/queue/{ENDPOINT}", json=VALID_INPUT).json()
    assert submitted["status_url"].startswith(f"{server_url}/queue/{APP}/requests/")
    events = []
    with http.stream("GET", submitted["status_url"] + "/stream", params={"logs": 1}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    assert events[0]["status"] in {"IN_QUEUE", "IN_PROGRESS"}
    assert events[-1]["status"] == "COMPLETED"
    status = http.get(submitted["status_url"])
    assert status.status_code == 200
    result = http.get(submitted["response_url"])
    assert result.status_code == 200
    video = http.get(result.json()["video"]["url"])
    assert video.headers["content-type"] == "video/mp4"
    assert len(video.content) == result.json()["video"]["file_size"]


def test_cancel_over_a_real_socket(http: httpx.Client) -> None:
    submitted = http.post(f"/queue/{ENDPOINT}", json=VALID_INPUT).json()
    assert http.put(submitted["cancel_url"]).status_code == 202
    assert http.get(submitted["status_url"]).json()["error_type"] == "client_cancelled"
    assert http.get(submitted["response_url"]).status_code == 499


def test_a_fake_inside_a_test_run_leaves_the_runs_garbage_collector_alone(
    http: httpx.Client,
) -> None:
    assert http.get("/_falfake/clock").status_code == 200
    for thread in threading.enumerate():
        if thread.name == "falfake-settle":
            thread.join(timeout=60)
    # Only `falfake serve`, which owns its process, freezes what it loaded at start.
    assert gc.get_freeze_count() == 0


def test_command_line_prints_where_it_serves_and_serves(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "falfake", "serve", "--port", "0", "--run-seconds", "0.05"]
    command += ["--video-size", "64x36", "--ca-dir", str(tmp_path)]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stderr is not None
            first_line = process.stderr.readline()
            match = re.search(r"on (http://127\.0\.0\.1:\d+)$", first_line.strip())
            assert match, first_line
            with httpx.Client(base_url=match.group(1), headers=KEY, timeout=10) as client:
                response = client.post(f"/run/{ENDPOINT}", json=VALID_INPUT)
            assert response.status_code == 200
            assert response.json()["video"]["file_name"] == "output.mp4"
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.parametrize(
    ("flags", "answer"),
    [((), b"HTTP/1.1 200 Connection established"), (("--no-pass-through",), b"HTTP/1.1 403")],
)
def test_the_command_passes_other_hosts_through_unless_told_not_to(
    tmp_path: Path, flags: tuple[str, ...], answer: bytes
) -> None:
    command = [sys.executable, "-m", "falfake", "serve", "--port", "0", *flags]
    command += ["--ca-dir", str(tmp_path)]
    with (
        subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process,
        serving(QuietHandler) as other,
    ):
        try:
            assert process.stderr is not None
            match = re.search(r"on (http://127\.0\.0\.1:(\d+))$", process.stderr.readline().strip())
            assert match
            target = other.removeprefix("http://").encode()
            with socket.create_connection(("127.0.0.1", int(match.group(2))), timeout=10) as sock:
                sock.sendall(b"CONNECT " + target + b" HTTP/1.1\r\n\r\n")
                assert sock.recv(4096).startswith(answer)
            journal = httpx.get(f"{match.group(1)}/_falfake/requests", params={"method": "CONNECT"})
            passed = [(e["path"], e["status"]) for e in journal.json()["requests"]]
            assert passed == ([(target.decode(), 200)] if not flags else [])
        finally:
            process.terminate()
            process.wait(timeout=10)
