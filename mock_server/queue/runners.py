"""The runners' moves replayed between requests, in small slices, as time passes.

The store replays what its runners did (starts, finishes, timeouts) before it answers, so every
answer is exact at its moment. Left to the requests alone, the first request after a quiet
moment replayed every move due since: at fal's timings and thousands of requests a second, a
webhook poll every 50 ms or one unlucky submit paid for hundreds. This task replays them as they
fall due, a slice at a time with the loop free in between, so a request finds at most a few
milliseconds' worth left to replay.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Protocol

from falfake.errors import StorageUnavailable

SLICE = 64  # moves per turn: well under a millisecond of work
TICK_SECONDS = 0.005  # at least this long between turns while moves keep falling due
IDLE_SECONDS = 1.0  # at most this long between turns (a manual or virtual clock may move)


class Replaying(Protocol):
    """The part of `falfake.queue.requests.Requests` this task uses."""

    async def keep_up(self, limit: int) -> float | None: ...


async def keep_up(store: Replaying, now: Callable[[], float]) -> None:
    """Runs until cancelled."""
    while True:
        try:
            upcoming = await catch_up(store)
        except StorageUnavailable:
            upcoming = math.inf
        await asyncio.sleep(min(max(upcoming - now(), TICK_SECONDS), IDLE_SECONDS))


async def catch_up(store: Replaying) -> float:
    """Replay every move due by now, a slice at a time with waiting requests let in between;
    when the next one falls due (inf: none is coming). Also after a manual or virtual clock
    jumped, so the caller that moved it waits for the moves, not the next request."""
    while (upcoming := await store.keep_up(SLICE)) is None:
        await asyncio.sleep(0)
    return upcoming
