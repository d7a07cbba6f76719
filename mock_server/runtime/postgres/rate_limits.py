"""`--rate-limit` across replicas: one token bucket per key for the fleet, each take one call of
`falfake_take_token` (a row lock per key, so two replicas never hand out the same token)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from falfake.queue.rate_limit import too_many
from falfake.runtime.postgres.database import Database

_PRUNE_EVERY = 1_000  # takes between sweeps of buckets that have been full for an hour


class PostgresRateLimits:
    def __init__(self, database: Database, rate: float | None, clock: Callable[[], float]):
        self._db = database
        self._rate = rate
        self._clock = clock
        self._takes = 0

    @property
    def limited(self) -> bool:
        return self._rate is not None

    async def check(self, key: str) -> None:
        rate = self._rate
        if rate is None:
            return
        now, burst = self._clock(), max(rate, 1.0)
        self._takes += 1
        if self._takes % _PRUNE_EVERY == 0:
            # A bucket full again is a bucket not kept: the table holds the keys seen lately.
            await self._db.execute(
                "DELETE FROM falfake_buckets WHERE at < $1", now - 3600 - burst / rate
            )
        held = await self._db.fetchval(
            "SELECT falfake_take_token($1, $2, $3, $4)",
            hashlib.sha256(key.encode("latin-1", errors="replace")).hexdigest(),
            now,
            rate,
            burst,
        )
        if held is not None:
            raise too_many(rate, held)

    async def reset(self) -> None:
        await self._db.execute("TRUNCATE falfake_buckets")
