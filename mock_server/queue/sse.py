"""The status stream: one `data:` event per change, only new log lines in each (PROTOCOL.md §5)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from falfake.clock import Clock
from falfake.errors import RequestNotFound

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEPALIVE = ": keep-alive\n\n"


def sse_event(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n"


async def status_events(
    read: Callable[[int], Awaitable[dict[str, Any]]],
    clock: Clock,
    *,
    poll_seconds: float,
    keepalive_seconds: float,
) -> AsyncIterator[str]:
    """Events from `read(logs_already_sent)` until COMPLETED; keep-alive comments while quiet."""
    sent_logs = 0
    last_state: tuple[object, ...] | None = None
    last_output = clock.now()
    while True:
        try:
            body = await read(sent_logs)
        except RequestNotFound:
            return  # expired while streaming: close, as fal closes a finished stream
        new_logs = body["logs"] or []
        state = (body["status"], body.get("queue_position"))
        if new_logs or state != last_state:
            yield sse_event(body)
            sent_logs += len(new_logs)
            last_state, last_output = state, clock.now()
        if body["status"] == "COMPLETED":
            return
        await clock.sleep(poll_seconds)
        if clock.now() - last_output >= keepalive_seconds:
            yield KEEPALIVE
            last_output = clock.now()
