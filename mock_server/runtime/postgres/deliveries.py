"""Webhook deliveries in the shared database: each still to make belongs to the replica that
scheduled it for a lease, renewed with every attempt; a replica that stops (killed) leaves its
deliveries to whichever adopts them once the lease runs out, which sends the attempt it was on
again (at least once per attempt, as fal's own retries are). The log of attempts is the
fleet's."""

from __future__ import annotations

import json
from collections.abc import Callable

from falfake.runtime.postgres.database import Database, as_bytes, as_text
from falfake.webhooks.delivery import LOG_SIZE, Attempt, PendingDelivery

_ADOPTED_PER_LOOK = 20


class PostgresDeliveries:
    def __init__(self, database: Database, clock: Callable[[], float], lease_seconds: float):
        self._db = database
        self._clock = clock
        self._lease = lease_seconds

    def load(self) -> list[PendingDelivery]:
        return []  # what a stopped replica left is adopted by the running ones (`orphans`)

    async def schedule(self, delivery: PendingDelivery) -> bool:
        taken = await self._db.fetchval(
            "INSERT INTO falfake_deliveries VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (request_id) DO NOTHING RETURNING true",
            delivery.request_id,
            as_bytes(delivery.target),
            delivery.body,
            delivery.attempt,
            delivery.due_at,
            delivery.due_at + self._lease,
        )
        return bool(taken)

    async def attempted(self, attempt: Attempt, following: PendingDelivery | None) -> None:
        async with self._db.connection() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO falfake_attempts (request_id, record) VALUES ($1, $2)",
                attempt.request_id,
                json.dumps(attempt.to_json()),
            )
            if following is None:
                await connection.execute(
                    "DELETE FROM falfake_deliveries WHERE request_id = $1", attempt.request_id
                )
            else:
                await connection.execute(
                    "UPDATE falfake_deliveries SET attempt = $2, due_at = $3, lease_until = $4"
                    " WHERE request_id = $1",
                    following.request_id,
                    following.attempt,
                    following.due_at,
                    following.due_at + self._lease,
                )

    async def log(self, request_id: str | None) -> list[Attempt]:
        rows = await self._db.fetch(
            "SELECT record FROM (SELECT id, record FROM falfake_attempts"
            " WHERE $1::text IS NULL OR request_id = $1 ORDER BY id DESC LIMIT $2) newest"
            " ORDER BY id",
            request_id,
            LOG_SIZE,
        )
        return [Attempt(**json.loads(row["record"])) for row in rows]

    async def orphans(self, now: float) -> list[PendingDelivery]:
        rows = await self._db.fetch(
            "UPDATE falfake_deliveries SET lease_until = greatest(due_at, $1) + $2"
            " WHERE request_id IN (SELECT request_id FROM falfake_deliveries"
            " WHERE lease_until <= $1 ORDER BY lease_until"
            f" LIMIT {_ADOPTED_PER_LOOK} FOR UPDATE SKIP LOCKED)"
            " RETURNING request_id, target, body, attempt, due_at",
            now,
            self._lease,
        )
        return [
            PendingDelivery(
                row["request_id"],
                as_text(row["target"]),
                row["body"],
                row["attempt"],
                row["due_at"],
            )
            for row in rows
        ]

    async def clear(self) -> None:
        await self._db.execute("TRUNCATE falfake_deliveries, falfake_attempts")
