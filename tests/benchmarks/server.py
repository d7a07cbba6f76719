"""Figures for the fake as a server (`make bench`): a benchmark, not a test, asserting nothing.

1. Requests per second on submit, status and result under 1, 16 and 64 concurrent connections,
   for falfake and for a bare Starlette app with fixed replies on the same routes (the baseline),
   each in its own process, loaded from this one over the loopback.
2. Full lifecycles per second in process on the virtual clock: at the store (submit, time passes,
   status, result), in memory and on SQLite (`--data-dir`), and through the ASGI app (the same
   over HTTP, rendering each video).
3. Memory growth over 100,000 requests with the default retention (10,000 kept).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx

from mock_server import ManualClock, Settings, Timing, create_app
from mock_server.clock import VirtualClock
from mock_server.data_dir import DataDir
from mock_server.models import Job, LogLine, VideoSpec
from mock_server.responses import finished_output, status_body
from mock_server.settings import Retention
from mock_server.store import NewRequest, RequestRecords, RequestStore

KEY = {"Authorization": "Key bench"}
APP = "google/gemini-omni-flash"
SUBMIT = f"/queue/{APP}/reference-to-video"
INPUT = {
    "prompt": "A cat <IMAGE_REF_0>",
    "image_urls": ["https://example.com/cat.png"],
    "duration": 3,
}
SECONDS_PER_CELL = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(command: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{command} did not start")


async def rate(
    base_url: str, concurrency: int, request: Callable[[httpx.AsyncClient, int], object]
) -> float:
    """Requests per second that `concurrency` workers complete in a fixed time."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=KEY, limits=limits) as client:
        done = 0
        stop = time.perf_counter() + SECONDS_PER_CELL

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await request(client, done)  # type: ignore[misc]  # the callables return coroutines
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / SECONDS_PER_CELL


async def finished_ids(base_url: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, headers=KEY) as client:
        ids = [(await client.post(SUBMIT, json=INPUT)).json()["request_id"] for _ in range(count)]
        for request_id in ids:
            await client.get(f"/queue/{APP}/requests/{request_id}")
        return ids


async def load_table(fake_url: str, bare_url: str) -> None:
    ids = await finished_ids(fake_url, 20)

    def operations(ids: list[str]) -> dict[str, Callable[[httpx.AsyncClient, int], object]]:
        return {
            "submit": lambda c, n: c.post(SUBMIT, json=INPUT),
            "status": lambda c, n: c.get(f"/queue/{APP}/requests/{ids[n % len(ids)]}/status"),
            "result": lambda c, n: c.get(f"/queue/{APP}/requests/{ids[n % len(ids)]}"),
        }

    print(f"{'route':>8} {'conns':>6} {'falfake/s':>10} {'bare/s':>10} {'ratio':>6}")
    for name, call in operations(ids).items():
        bare_call = operations(["r"])[name]
        for concurrency in (1, 16, 64):
            fake = await rate(fake_url, concurrency, call)
            bare = await rate(bare_url, concurrency, bare_call)
            print(f"{name:>8} {concurrency:>6} {fake:>10.0f} {bare:>10.0f} {fake / bare:>6.2f}")


def store_lifecycles(records: RequestRecords | None = None, count: int = 20_000) -> float:
    clock = VirtualClock()
    store = RequestStore(Timing(1.0, 2.0, 64), Retention(), clock.now, records=records)
    job = Job(logs=(LogLine(0.0, "start"),), outcome=VideoSpec(64, 36, 3))
    started = time.perf_counter()
    for n in range(count):
        request_id = f"r{n}"
        store.submit(NewRequest(request_id, f"{APP}/reference-to-video", APP, job, "p"))
        clock.advance(3.0)
        snapshot = store.status(APP, request_id)
        status_body(snapshot, "http://fake", with_logs=True)
        finished_output(snapshot, "http://fake")
    return count / (time.perf_counter() - started)


def sqlite_lifecycles() -> float:
    with tempfile.TemporaryDirectory() as folder:
        data = DataDir(Path(folder))
        try:
            return store_lifecycles(data.requests, count=5_000)
        finally:
            data.close()


async def http_lifecycles(count: int = 300) -> float:
    clock = ManualClock()
    app = create_app(
        Settings(timing=Timing(1.0, 2.0, 64), video_width=64, video_height=36), clock=clock
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://b", headers=KEY) as client:
        started = time.perf_counter()
        for _ in range(count):
            request_id = (await client.post(SUBMIT, json=INPUT)).json()["request_id"]
            clock.advance(3.0)
            await client.get(f"/queue/{APP}/requests/{request_id}/status")
            await client.get(f"/queue/{APP}/requests/{request_id}")
        return count / (time.perf_counter() - started)


def memory_growth(total: int = 100_000) -> tuple[float, float]:
    """MiB held after 10,000 and after `total` finished requests (the store keeps 10,000)."""
    clock = ManualClock()
    store = RequestStore(Timing(0.0, 0.0, 64), Retention(), clock.now)
    job = Job(logs=(LogLine(0.0, "start"),), outcome=VideoSpec(64, 36, 3))
    tracemalloc.start()
    marks = []
    for n in range(total):
        store.submit(NewRequest(f"r{n}", f"{APP}/reference-to-video", APP, job, f"b/{n}"))
        clock.advance(0.001)
        if n + 1 in (10_000, total):
            store.status(APP, f"r{n}")
            marks.append(tracemalloc.get_traced_memory()[0] / 2**20)
    tracemalloc.stop()
    return marks[0], marks[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as ca:
        fake_port, bare_port = free_port(), free_port()
        fake = start(
            [
                *(sys.executable, "-m", "mock_server", "serve", "--port", str(fake_port)),
                *("--queue-seconds", "0", "--run-seconds", "0", "--runners", "64"),
                *("--video-size", "64x36", "--ca-dir", ca),
            ],
            fake_port,
        )
        bare = start(
            [
                *(sys.executable, "-m", "uvicorn", "tests.benchmarks.baseline_app:app"),
                *("--port", str(bare_port), "--log-level", "warning"),
            ],
            bare_port,
        )
        try:
            asyncio.run(
                load_table(f"http://127.0.0.1:{fake_port}", f"http://127.0.0.1:{bare_port}")
            )
        finally:
            for process in (fake, bare):
                process.terminate()
                process.wait(timeout=10)
    print(f"lifecycles/s in process, at the store: {store_lifecycles():.0f} (target 2,000)")
    print(f"lifecycles/s in process, at the store on SQLite: {sqlite_lifecycles():.0f}")
    print(
        f"lifecycles/s in process, over ASGI with rendering: {asyncio.run(http_lifecycles()):.0f}"
    )
    kept, after = memory_growth()
    print(
        f"memory: {kept:.1f} MiB after 10,000 requests, {after:.1f} MiB after 100,000"
        f" (growth {after - kept:+.1f} MiB; target under 50)"
    )


if __name__ == "__main__":
    main()
