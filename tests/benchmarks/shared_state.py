"""`--database` under wrk (`make bench`): one PostgreSQL-backed replica against the in-memory
fake, statements per call, `--workers 2`, 10,000 in progress, and a replica's SIGKILL behind
HAProxy. Figures, not pass/fail.

The database is a throwaway cluster on this machine (tests/postgres.py, `fsync=off`), left
unpinned: it shares the two cores with the generator and the fake, as a database on the same
machine would. A fake's core is pinned as in tests/benchmarks/load.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from tests.benchmarks.load import (
    APP,
    SUBMIT_PATH,
    Cell,
    Cores,
    Load,
    fake_command,
    finished_id,
    free_port,
    get,
    serving,
    submit_script,
    submitted_id,
    wrk_binary,
)
from tests.postgres import Cluster, cluster

STATEMENTS = "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top"


def row(label: str, memory: Cell, shared: Cell) -> None:
    print(
        f"{label:<22} | {memory.rate:>8.0f} {memory.p50_ms:>6.2f} {memory.p99_ms:>6.2f} |"
        f" {shared.rate:>8.0f} {shared.p50_ms:>6.2f} {shared.p99_ms:>6.2f} |"
        f" {shared.rate / memory.rate:>5.2f}x"
    )


def against_memory(load: Load, cores: Cores, ca_dir: str, url: str) -> None:
    """Status, result and submit at 16 connections: memory and one PostgreSQL replica."""
    print(
        f"{'16 connections':<22} | {'memory/s':>8} {'p50':>6} {'p99':>6} |"
        f" {'postgres/s':>8} {'p50':>6} {'p99':>6} | ratio (aim: polls >= 0.5x, submits >= 0.3x)"
    )
    timings = ("--queue-seconds", "0", "--run-seconds", "0")
    memory_port, shared_port = free_port(), free_port()
    with (
        serving(
            fake_command(memory_port, ca_dir, *timings),
            memory_port,
            "/_falfake/clock",
            cores.server,
        ) as memory,
        serving(
            fake_command(shared_port, ca_dir, *timings, "--database", url),
            shared_port,
            "/_falfake/clock",
            cores.server,
        ) as shared,
    ):
        ids = finished_id(memory.port), finished_id(shared.port)
        for route, suffix in (("status", "/status"), ("result", "")):
            memory_cell, shared_cell = load.pair(
                f"{memory.url}/queue/{APP}/requests/{ids[0]}{suffix}",
                f"{shared.url}/queue/{APP}/requests/{ids[1]}{suffix}",
                16,
            )
            row(route, memory_cell, shared_cell)
        memory_cell, shared_cell = load.pair(
            f"{memory.url}{SUBMIT_PATH}", f"{shared.url}{SUBMIT_PATH}", 16, submit_script()
        )
        row("submit", memory_cell, shared_cell)
        print(f"startup to the first 200 on PostgreSQL: {shared.startup_seconds:.2f} s")


async def _statements(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        calls = await connection.fetchval(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
            " WHERE query NOT LIKE '%pg_stat_statements%'"
        )
        await connection.execute("SELECT pg_stat_statements_reset()")
        return int(calls)
    finally:
        await connection.close()


def statements(pg: Cluster, ca_dir: str) -> None:
    """Round trips to the database (top-level statements) per poll and per whole lifecycle, with
    the background work of an idle replica (webhooks, deliveries left by others) apart."""
    url = pg.database()
    admin = url.rsplit("/", 1)[0] + "/postgres"
    asyncio.run(_setup_statements(admin))
    port = free_port()
    flags = ("--queue-seconds", "0.2", "--run-seconds", "0.3", "--database", url)
    with serving(fake_command(port, ca_dir, *flags), port, "/_falfake/clock", None):
        asyncio.run(_statements(admin))
        time.sleep(2.0)  # a replica doing nothing
        idle = asyncio.run(_statements(admin)) / 2.0
        request_id = submitted_id(port)
        polls = 0
        started = time.monotonic()
        while get(port, f"/queue/{APP}/requests/{request_id}/status")[0] != 200:
            polls += 1
        polls += 1
        _, body = get(port, f"/queue/{APP}/requests/{request_id}")
        video = json.loads(body)["video"]["url"].split("/files/", 1)[1]
        get(port, f"/files/{video}")
        elapsed = time.monotonic() - started
        lifecycle = asyncio.run(_statements(admin)) - idle * elapsed
        for _ in range(1000):
            get(port, f"/queue/{APP}/requests/{request_id}/status")
        per_poll = (asyncio.run(_statements(admin)) - idle * 1.0) / 1000
    print(
        f"\nstatements: {per_poll:.2f} per poll of a finished request; a lifecycle's submit,"
        f" result (its video rendered and stored) and video fetch {lifecycle - polls:.0f}"
        f" beside its {polls} polls; an idle replica {idle:.0f}/s (its webhook and delivery"
        " watch; the journal's writes come in batches)"
    )


async def _setup_statements(admin: str) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    finally:
        await connection.close()


def workers(load: Load, ca_dir: str, url: str) -> None:
    """One process against `--workers 2` on this machine (both unpinned: the workers need both
    cores, which the generator and the database share)."""
    print()
    for count in (1, 2):
        port = free_port()
        flags = ("--queue-seconds", "0", "--run-seconds", "0", "--database", url)
        command = [*fake_command(port, ca_dir, *flags), "--workers", str(count)]
        with serving(command, port, "/_falfake/clock", None) as fake:
            request_id = finished_id(port)
            cell = load.run(f"{fake.url}/queue/{APP}/requests/{request_id}/status", 64)
            submits = load.run(f"{fake.url}{SUBMIT_PATH}", 64, script=submit_script())
        print(
            f"--workers {count}: status at 64 connections {cell.rate:>7.0f}/s,"
            f" p50 {cell.p50_ms:.2f} ms, p99 {cell.p99_ms:.2f} ms; submit {submits.rate:>6.0f}/s,"
            f" p50 {submits.p50_ms:.2f} ms, p99 {submits.p99_ms:.2f} ms"
        )


def in_progress(load: Load, cores: Cores, ca_dir: str, url: str, work: int) -> None:
    """Status and submit near the start, then with `work` requests in progress."""
    port = free_port()
    flags = (
        *("--queue-seconds", "0", "--run-seconds", "3600", "--runners", "1000000"),
        *("--max-requests", "10000000", "--database", url),
    )
    with serving(fake_command(port, ca_dir, *flags), port, "/_falfake/clock", cores.server) as fake:
        near = _status_and_submit(load, fake.url, port)
        load.run(f"{fake.url}{SUBMIT_PATH}", 16, script=submit_script(work))
        piled = _status_and_submit(load, fake.url, port)
    print(
        f"\nPostgreSQL, near the start: status {near[0]:.0f}/s, submit {near[1]:.0f}/s;"
        f" with {work:,}+ in progress: status {piled[0]:.0f}/s, submit {piled[1]:.0f}/s"
        f" (ratio {piled[0] / near[0]:.2f}x / {piled[1] / near[1]:.2f}x; aim >= 0.8x)"
    )


def _status_and_submit(load: Load, url: str, port: int) -> tuple[float, float]:
    probe = submitted_id(port)
    status = load.run(f"{url}/queue/{APP}/requests/{probe}/status", 16)
    submit = load.run(f"{url}{SUBMIT_PATH}", 16, script=submit_script())
    return status.rate, submit.rate


def failover(ca_dir: str, url: str) -> None:
    """Two replicas behind HAProxy; one is SIGKILLed while a client polls through it with a
    new connection each time: the longest wait for an answer around the kill."""
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        print("\nfailover: no haproxy (apt-get install haproxy); skipped")
        return
    ports = [free_port(), free_port()]
    front = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as config:
        config.write(
            "defaults\n    mode tcp\n    timeout connect 500ms\n    timeout client 30s\n"
            "    timeout server 30s\n    retries 3\n    option redispatch\n"
            f"listen falfake\n    bind 127.0.0.1:{front}\n    balance roundrobin\n"
            "    option httpchk GET /_falfake/health\n"
            + "".join(
                f"    server r{n} 127.0.0.1:{p} check inter 200ms fall 1 rise 2\n"
                for n, p in enumerate(ports)
            )
        )
    flags = ("--database", url)
    with (
        serving(fake_command(ports[0], ca_dir, *flags), ports[0], "/_falfake/clock", None) as one,
        serving(fake_command(ports[1], ca_dir, *flags), ports[1], "/_falfake/clock", None),
    ):
        balancer = subprocess.Popen([haproxy, "-db", "-f", config.name], stderr=subprocess.DEVNULL)
        try:
            request_id = submitted_id(ports[1])
            path = f"/queue/{APP}/requests/{request_id}/status"
            while True:
                try:
                    get(front, path)
                    break
                except OSError:
                    time.sleep(0.01)
            longest, answered, killed_at = 0.0, 0, None
            last = time.monotonic()
            while answered < 400:
                if answered == 100 and killed_at is None:
                    one.process.send_signal(signal.SIGKILL)
                    killed_at = time.monotonic()
                try:
                    code = get(front, path)[0]
                except OSError:
                    continue
                if code in (200, 202):
                    now = time.monotonic()
                    if killed_at is not None:
                        longest = max(longest, now - last)
                    last, answered = now, answered + 1
        finally:
            balancer.kill()
            balancer.wait()
    print(
        f"\nfailover: a replica SIGKILLed behind HAProxy (round robin, health checks every"
        f" 200 ms, redispatch): longest wait for the next answer {longest * 1000:.0f} ms"
        " (aim < 1 s)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell and server")
    parser.add_argument("--work", type=int, default=10_000, help="requests in progress")
    args = parser.parse_args(argv)
    binary = wrk_binary()
    cores = Cores.split()
    print(f"\n--database: PostgreSQL 15 on this machine, unpinned; {cores.describe()}")
    with tempfile.TemporaryDirectory() as folder, cluster(STATEMENTS) as pg:
        load = Load(binary, cores, args.seconds, Path(folder), args.repeats)
        ca_dir = str(Path(folder) / "ca")
        against_memory(load, cores, ca_dir, pg.database())
        statements(pg, ca_dir)
        workers(load, ca_dir, pg.database())
        in_progress(load, cores, ca_dir, pg.database(), args.work)
        failover(ca_dir, pg.database())


if __name__ == "__main__":
    main()
