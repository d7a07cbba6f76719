"""Replicas of one fake behind a real load balancer (Debian's HAProxy, round robin), driven by
the unmodified Python fal-client; one replica is SIGKILLed mid-run."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from falfake.runtime.tls import CertificateAuthority
from tests.postgres import Cluster, cluster, free_port
from tests.real_parts import missing

INSTALL = "apt-get install haproxy"
JS = Path(__file__).parents[1] / "official_clients" / "js"
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
        missing("HAProxy", "the replica tests", INSTALL, "FALFAKE_REQUIRE_HAPROXY")
    return found


@contextlib.contextmanager
def replica(database: str, ca_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A replica whose webhook deliveries a killed one leaves are taken over after 7 s."""
    port = free_port()
    log = ca_dir.parent / f"replica-{port}.log"
    with log.open("wb") as output:
        command = [sys.executable, "-m", "falfake", "serve", "--port", str(port)]
        command += ["--ca-dir", str(ca_dir), "--database", database, "--key", KEY]
        command += ["--queue-seconds", "0.5", "--run-seconds", "1.5", "--runners", "2"]
        command += ["--video-size", "64x36", "--webhook-timeout", "2"]
        process = subprocess.Popen(
            command,
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
        # New connections go to each replica in turn, as the submits' will: both take some.
        assert len(replicas_answering(port, 2)) == 2
        submitted = subprocess.run(
            [sys.executable, "-c", SUBMIT], env=env, capture_output=True, text=True, timeout=60
        )
        assert submitted.returncode == 0, submitted.stderr
        request_ids = json.loads(submitted.stdout)
        first.send_signal(signal.SIGKILL)  # mid-lifecycle: queued and running requests
        passed_over(first, port)
        followed = subprocess.run(
            [sys.executable, "-c", FOLLOW, json.dumps(request_ids)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert followed.returncode == 0, followed.stderr
        assert len(json.loads(followed.stdout)) == len(request_ids)
    no_tracebacks(tmp_path)


def passed_over(killed: subprocess.Popen[bytes], port: int) -> None:
    """Until the balancer answers only from the others. The official clients do not retry a
    poll whose connection drops (the JS one then never settles), so a client still connected
    to a replica as it dies sees an error: the state is what must survive, and does."""
    killed.wait(timeout=30)
    gone = f":{killed.pid}"
    for _ in range(100):
        # A connection the balancer still hands to the dead replica drops: not over yet.
        with contextlib.suppress(httpx.TransportError):
            if not any(name.endswith(gone) for name in replicas_answering(port, 4)):
                return
    raise AssertionError("the balancer kept sending connections to the killed replica")


def replicas_answering(port: int, times: int) -> set[str]:
    """The replica names `/_falfake/health` gives over `times` new connections."""
    names = set()
    for _ in range(times):
        with httpx.Client(timeout=5) as http:  # a connection each: the kernel picks a worker
            names.add(http.get(f"http://127.0.0.1:{port}/_falfake/health").json()["replica"])
    return names


def test_workers_serve_one_port_as_one_fake_and_a_killed_one_is_replaced(
    pg: Cluster, tmp_path: Path
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "falfake", "serve", "--port", str(port), "--workers", "2"]
    command += ["--database", pg.database(), "--ca-dir", str(tmp_path / "ca")]
    with (tmp_path / "workers.log").open("wb") as log:
        parent = subprocess.Popen(command, stderr=log)
    try:
        answering(f"http://127.0.0.1:{port}/_falfake/health", parent)
        names: set[str] = set()
        for _ in range(20):  # until both workers have answered a connection
            names |= replicas_answering(port, 10)
            if len(names) == 2:
                break
        assert len(names) == 2
        # A request submitted through one worker is followed through the other.
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": "Key k"}
        ) as http:
            submitted = http.post(
                "/queue/google/gemini-omni-flash/reference-to-video",
                json={"prompt": "a cat <IMAGE_REF_0>", "image_urls": ["https://example.com/c.png"]},
            ).json()["request_id"]
        seen = {
            httpx.get(
                f"http://127.0.0.1:{port}/queue/google/gemini-omni-flash/requests/{submitted}/status",
                headers={"Authorization": "Key k"},
            ).status_code
            for _ in range(10)
        }
        assert seen <= {200, 202}
        victim = int(sorted(names)[0].rsplit(":", 1)[1])
        os.kill(victim, signal.SIGKILL)
        fresh: set[str] = set()
        for _ in range(50):  # the parent forks another in its place
            fresh = replicas_answering(port, 10)
            if len(fresh) == 2 and sorted(names)[0] not in fresh:
                break
        assert len(fresh) == 2
        assert sorted(names)[0] not in fresh
    finally:
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=30) == 0
    log_text = (tmp_path / "workers.log").read_text()
    assert f"worker {victim} ended (signal 9); starting another" in log_text


class Webhooks:
    """A receiver counting the webhooks each request got."""

    def __init__(self) -> None:
        self.received: dict[str, int] = {}
        self.lock = threading.Lock()
        self.all_in = threading.Event()
        self.expected = 0
        hooks = self

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                with hooks.lock:
                    request_id = self.headers["X-Fal-Webhook-Request-Id"]
                    hooks.received[request_id] = hooks.received.get(request_id, 0) + 1
                    if hooks.expected and len(hooks.received) >= hooks.expected:
                        hooks.all_in.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def node_fleet(*arguments: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "node is needed: make test installs the JS client"
    finished = subprocess.run(
        [node, str(JS / "fleet.mjs"), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=JS,
        env={k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")},
    )
    assert finished.returncode == 0, finished.stderr
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def test_the_js_client_through_a_balancer_while_the_database_restarts_and_a_replica_dies(
    tmp_path: Path,
) -> None:
    hooks = Webhooks()
    threading.Thread(target=hooks.server.serve_forever, daemon=True).start()
    try:
        with (
            cluster() as own,
            replica(own.database_named("fleet"), tmp_path / "ca") as (first, first_port),
            replica(own.url("fleet"), tmp_path / "ca") as (_, second_port),
            balancer([first_port, second_port]) as port,
        ):
            base = f"http://127.0.0.1:{port}"
            hooks.expected = 6  # fleet.mjs submits six
            submitted = node_fleet(base, KEY, "submit", hooks.url)
            own.restart()  # the database goes away and comes back under the fleet
            first.send_signal(signal.SIGKILL)  # and a replica dies with requests under way
            passed_over(first, port)
            followed = node_fleet(base, KEY, "follow", ",".join(submitted["ids"]))
            assert len(followed["results"]) == len(submitted["ids"])
            upload = submitted["upload"].split("/files/", 1)[1]
            assert httpx.get(f"{base}/files/{upload}").content.startswith(b"\x89PNG")
            assert hooks.all_in.wait(60), hooks.received
    finally:
        hooks.server.shutdown()
        hooks.server.server_close()
    # Each webhook once: a replica killed before it sent one leaves it to the other after the
    # lease, and one killed during a POST may send it again; none was under way here.
    assert hooks.received == dict.fromkeys(submitted["ids"], 1)
    no_tracebacks(tmp_path)


def no_tracebacks(folder: Path) -> None:
    """The replicas' logs hold no traceback (a fault is one line, or none)."""
    logs = {log.name: log.read_text() for log in folder.glob("replica-*.log")}
    assert logs, "the replicas wrote no log"
    for name, text in logs.items():
        assert "Traceback" not in text, f"{name}:\n{text[-3000:]}"
