"""The status event stream's framing: changes only, new logs only, keep-alives, and its end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from falfake import ManualClock
from falfake.errors import RequestNotFound
from falfake.queue.sse import KEEPALIVE, status_events

pytestmark = pytest.mark.anyio


def reader(bodies: list[dict[str, Any]]) -> Any:
    """A `read` that returns each body in turn and records the `logs_from` it was given."""
    calls: list[int] = []
    items: Iterator[dict[str, Any]] = iter(bodies)

    async def read(logs_from: int) -> dict[str, Any]:
        calls.append(logs_from)
        return next(items)

    read.calls = calls  # type: ignore[attr-defined]  # test spy
    return read


def body(status: str, logs: list[str] | None = None, position: int | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"status": status, "logs": logs}
    if position is not None:
        result["queue_position"] = position
    return result


async def collect(read: Any, clock: ManualClock, keepalive: float = 15.0) -> list[str]:
    events = status_events(read, clock, poll_seconds=1.0, keepalive_seconds=keepalive)
    return [event async for event in events]


async def test_unchanged_polls_send_nothing_and_the_stream_ends_after_completed(
    clock: ManualClock,
) -> None:
    read = reader(
        [
            body("IN_QUEUE", [], 1),
            body("IN_QUEUE", [], 1),
            body("IN_QUEUE", [], 0),
            body("IN_PROGRESS", ["a"]),
            body("IN_PROGRESS", []),
            body("IN_PROGRESS", ["b"]),
            body("COMPLETED", []),
        ]
    )
    events = await collect(read, clock)
    payloads = [json.loads(e.removeprefix("data: ")) for e in events]
    assert [(p["status"], p.get("queue_position"), p["logs"]) for p in payloads] == [
        ("IN_QUEUE", 1, []),
        ("IN_QUEUE", 0, []),
        ("IN_PROGRESS", None, ["a"]),
        ("IN_PROGRESS", None, ["b"]),
        ("COMPLETED", None, []),
    ]
    assert all(e.startswith("data: ") and e.endswith("\n\n") for e in events)
    assert read.calls == [0, 0, 0, 0, 1, 1, 2]


async def test_a_quiet_stream_sends_keepalive_comments(clock: ManualClock) -> None:
    read = reader([body("IN_PROGRESS", [])] * 7 + [body("COMPLETED", [])])
    events = await collect(read, clock, keepalive=3.0)
    assert events.count(KEEPALIVE) == 2
    assert KEEPALIVE == ": keep-alive\n\n"


async def test_a_request_that_expires_mid_stream_ends_the_stream(clock: ManualClock) -> None:
    async def read(logs_from: int) -> dict[str, Any]:
        raise RequestNotFound

    assert await collect(read, clock) == []
