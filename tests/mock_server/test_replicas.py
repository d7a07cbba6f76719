"""Replicas of one fake behind a real load balancer (Debian's HAProxy, round robin), driven by
the unmodified Python fal-client; one replica is SIGKILLed mid-run."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from falfake.runtime.tls import CertificateAuthority
from tests.postgres import Cluster, free_port

INSTALL = "apt-get install haproxy"
KEY = "test-id:test-secret"
SUBMIT = """
import json, fal_client
# A client each: one connection each, which the balancer hands out in turn.
handles = [fal_client.SyncClient().submit("google/gemini-omni-flash/reference-to-video",
    {"prompt": f"A cat {n} <IMAGE_REF_0>", "image_urls": ["https://example.com/cat.png"]})
    for n in range(6)]
print(json.dumps([h.request_id for h in handles]))
"""
FOLLOW = """
import json, sys, fal_client
app = "google/gemini-omni-flash/reference-to-video"
results = [fal_client.result(app, request_id) for request_id in json.loads(sys.argv[1])]
print(json.dumps([r["video"]["url"] for r in results]))
"""


def haproxy() -> str:
    found = shutil.which("haproxy")
    if found is None:
        if os.environ.get("FALFAKE_REQUIRE_HAPROXY"):
            pytest.fail(f"CI needs HAProxy for the replica tests: {INSTALL}")
        pytest.skip(f"no HAProxy for the replica tests; install it with: {INSTALL}")
    return found


@contextlib.contextmanager
def replica(database: str, ca_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    log = ca_dir.parent / f"replica-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "falfake",
                "serve",
                "--port",
                str(port),
                "--ca-dir",
                str(ca_dir),
                "--database",
                database,
                "--key",
                KEY,
                "--queue-seconds",
                "0.5",
                "--run-seconds",
                "1.5",
                "--runners",
                "2",
                "--video-size",
                "64x36",
            ],
            stderr=output,
        )
    try:
        answering(f"http://127.0.0.1:{port}/_falfake/health", process)
        yield process, port
    finally:
        process.kill()
        process.wait()


def answering(url: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until `url` answers (each try waits on the connection, not on a sleep)."""
    with httpx.Client(timeout=5) as http:
        for _ in range(300):
            assert process.poll() is None, "it exited before it served"
            with contextlib.suppress(httpx.TransportError):
                http.get(url)
                return
            process_waited(process)
    raise AssertionError(f"{url} never answered")


def process_waited(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=0.05)


@contextlib.contextmanager
def balancer(ports: list[int]) -> Iterator[int]:
    """HAProxy in TCP mode, so CONNECT tunnels reach a replica whole; a replica that stops
    answering its health check (or refuses a connection) is passed over."""
    port = free_port()
    servers = "\n".join(
        f"    server r{n} 127.0.0.1:{p} check inter 200ms fall 1 rise 2"
        for n, p in enumerate(ports)
    )
    config = f"""
defaults
    mode tcp
    timeout connect 500ms
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
listen falfake
    bind 127.0.0.1:{port}
    balance roundrobin
    option httpchk GET /_falfake/health
{servers}
"""
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as file:
        file.write(config)
    process = subprocess.Popen([haproxy(), "-db", "-f", file.name], stderr=subprocess.DEVNULL)
    try:
        answering(f"http://127.0.0.1:{port}/_falfake/health", process)
        yield port
    finally:
        process.kill()
        process.wait()
        os.unlink(file.name)


def client_env(port: int, authority: CertificateAuthority) -> dict[str, str]:
    proxy = f"http://127.0.0.1:{port}"
    return {
        **os.environ,
        "FAL_KEY": KEY,
        "HTTPS_PROXY": proxy,
        "https_proxy": proxy,
        "SSL_CERT_FILE": str(authority.bundle_path),
        "NO_PROXY": "",
    }


def test_the_python_client_runs_through_a_balancer_while_a_replica_is_killed(
    pg: Cluster, tmp_path: Path
) -> None:
    database = pg.database()
    authority = CertificateAuthority(tmp_path / "ca").ensure()  # one CA for both replicas
    with (
        replica(database, tmp_path / "ca") as (first, first_port),
        replica(database, tmp_path / "ca") as (_, second_port),
        balancer([first_port, second_port]) as port,
    ):
        env = client_env(port, authority)
        submitted = subprocess.run(
            [sys.executable, "-c", SUBMIT], env=env, capture_output=True, text=True, timeout=60
        )
        assert submitted.returncode == 0, submitted.stderr
        request_ids = json.loads(submitted.stdout)
        first.send_signal(signal.SIGKILL)  # mid-lifecycle: queued and running requests
        followed = subprocess.run(
            [sys.executable, "-c", FOLLOW, json.dumps(request_ids)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert followed.returncode == 0, followed.stderr
        assert len(json.loads(followed.stdout)) == len(request_ids)
        journal = httpx.get(
            f"http://127.0.0.1:{second_port}/_falfake/requests", params={"method": "POST"}
        ).json()["requests"]
        # The survivor took only some of the submits: the killed replica's were finished too.
        taken_here = [e for e in journal if e["path"].endswith("/reference-to-video")]
        assert 0 < len(taken_here) < len(request_ids)
