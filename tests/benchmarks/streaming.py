"""Streams and realtime sockets under load (`make bench`): figures, not pass/fail.

The fake runs on one core, this generator on the other; the baseline is a bare Starlette app on
uvicorn sending the same events and a result frame of the same size, fixed, so a ratio shows what
the fake's own work (validation, pacing, rendering) costs; as the generator here is Python (wrk
speaks neither paced SSE nor WebSockets), the baseline's figures are also its ceiling. A stream is
measured at the default timings (its events spread over the 0.7 s run: the time to the first event
is the pacing) and with `--run-seconds 0` (as fast as the fake can send them); a realtime socket
answers one input after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import msgpack
import websockets

from tests.benchmarks.load import baseline_command, fake_command, free_port, serving

SERVER_CORE, CLIENT_CORE = 0, 1
STREAM = "/run/fal-ai/any-llm/stream"
REALTIME = "/run/fal-ai/fast-lcm-diffusion/realtime"
BODY = {"prompt": "Tell me a story"}
KEY = {"Authorization": "Key bench"}


@dataclass(frozen=True)
class Figures:
    first_event_ms: list[float]
    events_per_second: float  # over every stream at once
    stream_events: int

    def line(self, name: str) -> str:
        first = sorted(self.first_event_ms)
        p99 = first[min(len(first) - 1, round(0.99 * len(first)))]
        return (
            f"{name:<36} first event p50 {statistics.median(first):7.2f} ms  p99 {p99:7.2f} ms"
            f"  {self.events_per_second:9.0f} events/s  ({self.stream_events} events a stream)"
        )


async def one_stream(client: httpx.AsyncClient) -> tuple[float, int]:
    started = time.perf_counter()
    first, events = None, 0
    async with client.stream("POST", STREAM, json=BODY, headers=KEY) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                first = first if first is not None else time.perf_counter() - started
                events += 1
    return (first or 0.0) * 1000, events


async def streams(url: str, count: int, concurrency: int) -> Figures:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        await one_stream(client)  # warm: first imports and renders
        started = time.perf_counter()
        waiting = asyncio.Semaphore(concurrency)

        async def bounded() -> tuple[float, int]:
            async with waiting:
                return await one_stream(client)

        done = await asyncio.gather(*(bounded() for _ in range(count)))
        seconds = time.perf_counter() - started
    events = [n for _, n in done]
    return Figures([ms for ms, _ in done], sum(events) / seconds, events[0])


async def realtime(url: str, count: int) -> tuple[float, list[float]]:
    """Results per second on one socket, and each input's time to its result (ms)."""
    socket_url = url.replace("http://", "ws://") + REALTIME
    frame = msgpack.packb({"prompt": "a cat", "image_size": "square"})
    latencies = []
    async with websockets.connect(
        socket_url, additional_headers=KEY, max_size=None, proxy=None
    ) as socket:
        await socket.send(frame)
        await socket.recv()
        await socket.recv()
        started = time.perf_counter()
        for _ in range(count):
            sent = time.perf_counter()
            await socket.send(frame)
            await socket.recv()  # the result
            latencies.append((time.perf_counter() - sent) * 1000)
            await socket.recv()  # its timing
        seconds = time.perf_counter() - started
    return count / seconds, latencies


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=200, help="streams per cell")
    parser.add_argument("--frames", type=int, default=300, help="realtime inputs per cell")
    args = parser.parse_args()
    os.sched_setaffinity(0, {CLIENT_CORE})
    ca_dir = tempfile.mkdtemp(prefix="falfake-bench-ca-")
    rows: list[str] = []
    cells = [
        (
            "baseline (fixed events)",
            baseline_command,
            "/queue/google/gemini-omni-flash/requests/r/status",
        ),
        ("falfake, default timings", lambda port: fake_command(port, ca_dir), "/_falfake/health"),
        (
            "falfake, --run-seconds 0",
            lambda port: fake_command(port, ca_dir, "--run-seconds", "0"),
            "/_falfake/health",
        ),
    ]
    rates: dict[str, float] = {}
    for name, command, ready in cells:
        port = free_port()
        with serving(command(port), port, ready, SERVER_CORE) as running:
            for concurrency in (1, 16):
                figures = asyncio.run(streams(running.url, args.streams, concurrency))
                label = f"{name}, {concurrency} at once"
                rates[label] = figures.events_per_second
                rows.append(figures.line(label))
            per_second, latencies = asyncio.run(realtime(running.url, args.frames))
            rows.append(
                f"{name + ', realtime':<36} {per_second:7.0f} results/s on one socket"
                f"  p50 {statistics.median(latencies):6.2f} ms"
                f"  p99 {percentile(latencies, 0.99):6.2f} ms"
            )
            rates[f"{name}, realtime"] = per_second
    print("\n".join(rows))
    base = "baseline (fixed events)"
    for name in ("falfake, --run-seconds 0",):
        for kind in (", 1 at once", ", 16 at once", ", realtime"):
            print(f"{name + kind}: {rates[name + kind] / rates[base + kind]:.2f}x the baseline")
    print(json.dumps({"rates": rates}))


if __name__ == "__main__":
    main()
