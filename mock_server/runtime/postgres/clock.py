"""`--clock virtual` across replicas: one virtual time for the fleet, in the database.

Each replica keeps the time locally (its sleepers watch it, as `VirtualClock`'s do), takes the
fleet's before it answers a request (one read), and writes its own moves before it answers the
request that made them, so a client that advanced the clock through one replica finds every
replica there. A `NOTIFY` wakes the others' sleepers (webhook retries) without a request.
"""

from __future__ import annotations

import asyncio
import contextlib

from falfake.clock import VirtualClock
from falfake.errors import StorageUnavailable
from falfake.runtime.postgres.database import Database, blocking, connected

CHANNEL = "falfake_clock"


class FleetClock(VirtualClock):
    def __init__(self, database: Database, start: float) -> None:
        super().__init__(start)
        self._db = database
        self._now = blocking(self._first(start))
        self._pulling: asyncio.Task[None] | None = None

    async def pull(self) -> None:
        self._db.listen(CHANNEL, self._heard)
        self.set(float(await self._db.fetchval("SELECT now FROM falfake_clock")))

    async def push(self) -> None:
        moment = await self._db.fetchval(
            "WITH moved AS (UPDATE falfake_clock SET now = greatest(now, $1) RETURNING now)"
            f" SELECT now FROM moved, pg_notify('{CHANNEL}', '')",
            self._now,
        )
        self.set(float(moment))

    def _heard(self) -> None:
        if self._pulling is None or self._pulling.done():
            self._pulling = asyncio.get_running_loop().create_task(self._pull_quietly())

    async def _pull_quietly(self) -> None:
        # If the database is away, the next request or notification pulls again.
        with contextlib.suppress(StorageUnavailable):
            await self.pull()

    async def _first(self, start: float) -> float:
        """The fleet's time, or `start` when this replica is the first to keep one."""
        async with connected(self._db.url) as connection:
            await connection.execute(
                "INSERT INTO falfake_clock VALUES (1, $1) ON CONFLICT (id) DO NOTHING", start
            )
            return float(await connection.fetchval("SELECT now FROM falfake_clock"))
