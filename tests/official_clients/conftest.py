"""A fake with strict keys for the official clients, and a way to run their scenario scripts."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from falfake import Auth, Timing
from falfake.runtime.tls import CertificateAuthority
from tests.conftest import REAL_TIME, running_fake

HERE = Path(__file__).parent
KEY = "test-id:test-secret"
BAD_KEY = "test-id:wrong-secret"


@pytest.fixture(scope="session")
def strict_server_url(authority: CertificateAuthority) -> Iterator[str]:
    # Slower than REAL_TIME, so every client sees IN_PROGRESS even on a loaded machine.
    timing = Timing(queue_seconds=0.2, run_seconds=1.0, runners=2)
    settings = dataclasses.replace(REAL_TIME, timing=timing, auth=Auth(keys=frozenset({KEY})))
    with running_fake(settings, authority) as url:
        yield url


@contextlib.contextmanager
def scenarios_running(
    command: Sequence[str], env: Mapping[str, str]
) -> Iterator[Callable[[], dict[str, Any]]]:
    """A scenario script in the background; what it yields returns its results once it ends."""
    process = subprocess.Popen(
        command, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE
    )
    outcome: dict[str, Any] = {}

    def results() -> dict[str, Any]:
        return outcome

    try:
        yield results
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, stderr
    outcome.update(json.loads(stdout.strip().splitlines()[-1]))


def journal(server_url: str, **filters: str) -> list[dict[str, Any]]:
    """What the fake at `server_url` received (`GET /_falfake/requests`)."""
    reply = httpx.get(f"{server_url}/_falfake/requests", params=filters, timeout=30)
    entries: list[dict[str, Any]] = reply.json()["requests"]
    return entries


def run_scenarios(command: Sequence[str], env: Mapping[str, str]) -> dict[str, Any]:
    """Run a scenario script; its last stdout line is a JSON object of results."""
    finished = subprocess.run(
        command, env=dict(env), capture_output=True, text=True, timeout=120, cwd=HERE
    )
    assert finished.returncode == 0, finished.stderr
    results: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return results
