"""An optional request rate per key (`--rate-limit`), answered with fal's 429 (PROTOCOL.md §15)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

from falfake.errors import RateLimited

_KEYS_KEPT = 10_000  # buckets of keys seen least recently go first; a full bucket is the default


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

    def reset(self) -> None:
        """Every key starts again with a full bucket."""
        self._buckets.clear()

    def check(self, key: str) -> None:
        """Take a token for `key`, or raise 429 with how long until one is back."""
        rate = self._rate
        if rate is None:
            return
        now, burst = self._clock(), max(rate, 1.0)
        tokens, then = self._buckets.pop(key, (burst, now))
        tokens = min(burst, tokens + (now - then) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise RateLimited("Too many requests", retry_after=math.ceil((1.0 - tokens) / rate))
        self._buckets[key] = (tokens - 1.0, now)
        while len(self._buckets) > _KEYS_KEPT:
            self._buckets.popitem(last=False)
