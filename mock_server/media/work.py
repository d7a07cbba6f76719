"""Media work (renders, image checks) off the event loop: bounded, and shared when repeated.

At most about one job per core runs at once, so a burst of result GETs cannot take every thread
and starve the loop that answers status polls; two requests for the same output while it renders
wait for the one render instead of starting a second.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio.to_thread

T = TypeVar("T")


class Work:
    def __init__(self, limit: int | None = None) -> None:
        self.limiter = anyio.CapacityLimiter(limit or os.cpu_count() or 1)
        self._shared: dict[str, asyncio.Future[int]] = {}

    async def run(self, job: Callable[[], T]) -> T:
        """`job()` in a worker thread once a slot is free."""
        return await anyio.to_thread.run_sync(job, limiter=self.limiter)

    async def once(self, key: str, task: Callable[[], Awaitable[int]]) -> int:
        """`task()`, shared by every caller with the same `key` while it runs; a caller that
        gives up (a client gone) does not cancel it for the others."""
        shared = self._shared.get(key)
        if shared is None:
            shared = asyncio.ensure_future(task())
            self._shared[key] = shared
            shared.add_done_callback(lambda _: self._shared.pop(key, None))
        return await asyncio.shield(shared)
