"""An optional request rate per key (`--rate-limit`), answered with fal's 429 (PROTOCOL.md §15)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from falfake.errors import RateLimited

_KEYS_KEPT = 10_000  # buckets of keys seen least recently go first; a full bucket is the default


class RateLimits(Protocol):
    """Token buckets per key, whatever keeps them: this process (`RateLimiter`) or a database
    shared by replicas (one bucket per key for the fleet)."""

    @property
    def limited(self) -> bool: ...

    async def check(self, key: str) -> None:
        """Take a token for `key`, or raise 429 with how long until one is back."""
        ...

    async def reset(self) -> None:
        """Every key starts again with a full bucket."""
        ...


def too_many(rate: float, tokens: float) -> RateLimited:
    """fal's 429 for a bucket holding `tokens`, with the seconds until one is back."""
    return RateLimited("Too many requests", retry_after=math.ceil((1.0 - tokens) / rate))


class RateLimiter:
    """A token bucket per key: `rate` requests a second on average, bursts of up to `rate`
    (at least one, so a rate under 1/s still lets a request through now and then)."""

    def __init__(self, rate: float | None, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, time

    @property
    def limited(self) -> bool:
        return self._rate is not None

    async def reset(self) -> None:
        self._buckets.clear()

    async def check(self, key: str) -> None:
        rate = self._rate
        if rate is None:
            return
        now, burst = self._clock(), max(rate, 1.0)
        tokens, then = self._buckets.pop(key, (burst, now))
        tokens = min(burst, tokens + (now - then) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise too_many(rate, tokens)
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > _KEYS_KEPT:
            self._buckets.popitem(last=False)
