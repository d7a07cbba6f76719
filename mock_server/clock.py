"""The source of time for the simulated lifecycle, injectable so tests control it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

_VIRTUAL_POLL_SECONDS = 0.005


class Clock(Protocol):
    """Unix time in seconds, and a way to wait for it to pass."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


@runtime_checkable
class SettableClock(Clock, Protocol):
    """A clock a test may move: `ManualClock` or `VirtualClock`."""

    def advance(self, seconds: float) -> None: ...

    def set(self, moment: float) -> None: ...


@runtime_checkable
class SharedClock(SettableClock, Protocol):
    """A settable clock that replicas share: each takes the fleet's time before it answers
    (`pull`) and hands on its own moves (`push`), so one advance moves every replica."""

    async def pull(self) -> None: ...

    async def push(self) -> None: ...


class SystemClock:
    """Real time."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """Time that moves only when told to; `sleep` advances it instead of waiting."""

    def __init__(self, start: float = 1_785_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, moment: float) -> None:
        self._now = max(self._now, moment)

    async def sleep(self, seconds: float) -> None:
        self._now += seconds
        await asyncio.sleep(0)


class VirtualClock:
    """Time that moves only when told (`advance`, `set`); a sleeper wakes once it has passed.

    Safe to move from another thread (a test driving a server in a thread): sleepers look again
    every few milliseconds of real time.
    """

    def __init__(self, start: float = 1_785_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += max(seconds, 0.0)

    def set(self, moment: float) -> None:
        """Move forward to `moment` (never back)."""
        self._now = max(self._now, moment)

    async def sleep(self, seconds: float) -> None:
        wake = self._now + seconds
        while self._now < wake:
            await asyncio.sleep(_VIRTUAL_POLL_SECONDS)


def log_timestamp(unix_seconds: float) -> str:
    """fal's time in logs and delivery records: ISO 8601 in UTC with microseconds and no zone
    suffix."""
    moment = datetime.fromtimestamp(unix_seconds, UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")
