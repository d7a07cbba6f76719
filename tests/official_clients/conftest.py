"""A fake with strict keys for the official clients, and a way to run their scenario scripts."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from mock_server import Auth, Timing
from mock_server.tls import CertificateAuthority
from tests.conftest import REAL_TIME, running_fake

HERE = Path(__file__).parent
KEY = "test-id:test-secret"
BAD_KEY = "test-id:wrong-secret"


@pytest.fixture(scope="session")
def strict_server_url(authority: CertificateAuthority) -> Iterator[str]:
    # Slower than REAL_TIME, so every client sees IN_PROGRESS even on a loaded machine.
    timing = Timing(queue_seconds=0.2, run_seconds=0.6, runners=2)
    settings = dataclasses.replace(REAL_TIME, timing=timing, auth=Auth(keys=frozenset({KEY})))
    with running_fake(settings, authority) as url:
        yield url


def run_scenarios(command: Sequence[str], env: Mapping[str, str]) -> dict[str, Any]:
    """Run a scenario script; its last stdout line is a JSON object of results."""
    finished = subprocess.run(
        command, env=dict(env), capture_output=True, text=True, timeout=120, cwd=HERE
    )
    assert finished.returncode == 0, finished.stderr
    results: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return results
