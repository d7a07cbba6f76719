"""In-process figures for `make bench` (the load over sockets is `tests/benchmarks/load.py`).

1. Full lifecycles per second in process on the virtual clock: at the store (submit, time passes,
   status, result), in memory and on SQLite (`--data-dir`), and through the ASGI app (the same
   over HTTP, rendering each video).
2. Memory growth over 100,000 requests with the default retention (10,000 kept).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx

from falfake import ManualClock, Settings, Timing, create_app
from falfake.clock import VirtualClock
from falfake.endpoints.reference_to_video import video_output
from falfake.media.specs import VideoSpec
from falfake.queue.models import Job, LogLine
from falfake.queue.records import RequestRecords
from falfake.queue.replies import finished_output, status_body
from falfake.queue.store import NewRequest, RequestStore
from falfake.runtime.data_dir import DataDir
from falfake.settings import Retention

KEY = {"Authorization": "Key bench"}
APP = "google/gemini-omni-flash"
SUBMIT = f"/queue/{APP}/reference-to-video"
INPUT = {
    "prompt": "A cat <IMAGE_REF_0>",
    "image_urls": ["https://example.com/cat.png"],
    "duration": 3,
}
SECONDS_PER_CELL = 2.0


def store_lifecycles(records: RequestRecords | None = None, count: int = 20_000) -> float:
    clock = VirtualClock()
    store = RequestStore(Timing(1.0, 2.0, 64), Retention(), clock.now, records=records)
    job = Job(logs=(LogLine(0.0, "start"),), outcome=video_output(VideoSpec(64, 36, 3)))
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
            data.release()


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
    job = Job(logs=(LogLine(0.0, "start"),), outcome=video_output(VideoSpec(64, 36, 3)))
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
    print(f"lifecycles/s in process, at the store: {store_lifecycles():.0f} (target 10,000)")
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
