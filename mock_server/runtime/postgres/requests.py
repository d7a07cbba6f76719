"""`Requests` over the shared tables: each operation is one call of a function of
`schema.SCHEMA` (one round trip), whichever replica makes it.

A request's record as submitted (its job, its paths) never changes, so each replica keeps the
ones it decoded (a bounded cache) and asks the database for the record only when it has not.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from falfake.errors import (
    AlreadyCompleted,
    CancelTargetNotFound,
    ClientCancelled,
    FalError,
    RateLimited,
    RequestNotFound,
    StartTimeout,
)
from falfake.queue.models import QueuedRequest, Snapshot, Status
from falfake.queue.store import NewRequest, first, queued
from falfake.runtime.codec import decode_request, encode_request, stored_images
from falfake.runtime.postgres.database import Database, as_bytes, storable
from falfake.runtime.postgres.schema import BY_CANCEL, BY_DEADLINE, DONE, QUEUED
from falfake.settings import Retention, Timing

if TYPE_CHECKING:
    import asyncpg

_CACHED = 20_000
_STATUSES = list(Status)
# A replica that took a webhook and died leaves it this long; one that takes longer to render
# the payload is joined by another, and the delivery is still scheduled once (its row's key).
_WEBHOOK_LEASE_SECONDS = 10.0
_WEBHOOKS_PER_TAKE = 50
# What a snapshot is made of (`_snapshot`), beside `queue_position`.
_STATE = (
    "app_id, status, seq, started_at, finishes_at, completed_at, ending, webhook_pending, "
    "record, images"
)


class PostgresRequests:
    def __init__(
        self,
        database: Database,
        timing: Timing,
        retention: Retention,
        clock: Callable[[], float],
        *,
        honour_cancel: bool = True,
        documented_cancel_body: bool = False,
    ) -> None:
        self._db = database
        self._timing = timing
        self._retention = retention
        self._clock = clock
        self._honour_cancel = honour_cancel
        self._documented_cancel_body = documented_cancel_body
        self._submitted: OrderedDict[str, QueuedRequest] = OrderedDict()

    async def submit(self, new: NewRequest) -> Snapshot:
        now = self._clock()
        timing, retention = self._timing, self._retention
        request = queued(new, 0, now, timing)  # the database numbers it
        images = list({image.digest: image for image in stored_images(request)}.values())
        row = await self._db.fetchrow(
            "SELECT * FROM falfake_submit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
            " $13, $14, $15, $16, $17, $18)",
            request.request_id,
            request.app_id,
            request.endpoint_id,
            request.priority.rank,
            now,
            request.eligible_at,
            request.start_deadline,
            first(new.run_seconds, timing.run_seconds),
            None if request.webhook_url is None else as_bytes(request.webhook_url),
            new.job.stored_bytes,
            [image.digest for image in images],
            [image.data for image in images],
            encode_request(request),
            new.max_queue_length,
            timing.runners,
            retention.request_ttl_seconds,
            retention.max_requests,
            retention.max_request_bytes,
        )
        assert row is not None, "falfake_submit always answers one row"
        if row["outcome"] != 0:
            raise RateLimited("Too many requests")
        request = dataclasses.replace(request, seq=row["seq"])
        self._remember(request)
        return Snapshot(request=request, now=now, queue_position=row["queue_position"])

    async def status(self, app_id: str, request_id: str) -> Snapshot:
        snapshot = await self.get(request_id)
        if snapshot.request.app_id != app_id:
            raise RequestNotFound
        return snapshot

    async def get(self, request_id: str) -> Snapshot:
        if not storable(request_id):
            raise RequestNotFound
        now = self._clock()
        submitted = self._submitted.get(request_id)
        row = await self._db.fetchrow(
            f"SELECT {_STATE}, queue_position FROM falfake_status($1, $2, $3, $4, $5)",
            request_id,
            now,
            self._timing.runners,
            self._retention.request_ttl_seconds,
            submitted is None,
        )
        if row is None:
            self._submitted.pop(request_id, None)
            raise RequestNotFound
        # The record held when asking, not looked up again: others may have pushed it out of
        # the cache meanwhile, and the database was told not to send it.
        return await self._snapshot(row, now, submitted)

    async def recent(
        self,
        limit: int,
        *,
        before: int | None = None,
        endpoint_id: str | None = None,
        status: Status | None = None,
    ) -> list[Snapshot]:
        now = self._clock()
        await self._advance(now)
        rows = await self._db.fetch(
            f"SELECT request_id, {_STATE},"
            " CASE WHEN status = 0 THEN falfake_position(rank, seq) END AS queue_position"
            " FROM falfake_requests WHERE ($1::bigint IS NULL OR seq < $1)"
            " AND ($2::text IS NULL OR endpoint_id = $2)"
            " AND ($3::smallint IS NULL OR status = $3) ORDER BY seq DESC LIMIT $4",
            before,
            endpoint_id,
            None if status is None else status.rank,
            limit,
        )
        return [
            await self._snapshot(row, now, self._submitted.get(row["request_id"])) for row in rows
        ]

    async def cancel(self, app_id: str, request_id: str) -> None:
        if not storable(request_id):
            raise CancelTargetNotFound
        outcome = await self._db.fetchval(
            "SELECT falfake_cancel($1, $2, $3, $4, $5, $6)",
            app_id,
            request_id,
            self._clock(),
            self._timing.runners,
            self._retention.request_ttl_seconds,
            self._honour_cancel,
        )
        if outcome == 1:
            raise CancelTargetNotFound
        if outcome == 2:
            raise AlreadyCompleted(request_id, documented_shape=self._documented_cancel_body)

    async def take_webhooks(self) -> list[tuple[str, QueuedRequest]]:
        """Finished requests with a webhook, each claimed by one replica for a lease."""
        now = self._clock()
        await self._advance(now)
        rows = await self._db.fetch(
            f"UPDATE falfake_requests SET webhook_lease = $1 WHERE request_id IN ("
            " SELECT request_id FROM falfake_requests WHERE webhook_pending"
            " AND (webhook_lease IS NULL OR webhook_lease <= $2) ORDER BY completed_at"
            f" LIMIT {_WEBHOOKS_PER_TAKE} FOR UPDATE SKIP LOCKED)"
            f" RETURNING request_id, {_STATE}, NULL::bigint AS queue_position",
            now + _WEBHOOK_LEASE_SECONDS,
            now,
        )
        taken = []
        for row in rows:
            snapshot = await self._snapshot(row, now, self._submitted.get(row["request_id"]))
            request = snapshot.request
            assert request.webhook_url is not None, "only requests with a webhook are pending"
            taken.append((request.webhook_url, request))
        return taken

    async def webhook_started(self, request_id: str) -> None:
        await self._db.execute(
            "UPDATE falfake_requests SET webhook_pending = false WHERE request_id = $1",
            request_id,
        )

    async def next_event_time(self) -> float | None:
        now = self._clock()
        await self._advance(now)
        moment = await self._db.fetchval("SELECT falfake_next_event($1)", self._timing.runners)
        return None if moment is None or math.isinf(moment) else float(moment)

    async def keep_up(self, limit: int) -> float | None:
        """Nothing to do in the replica: the database replays the runners' moves within the
        statement that finds them due (`falfake_advance`)."""
        return math.inf

    async def reset(self) -> None:
        await self._db.execute(
            "TRUNCATE falfake_requests, falfake_images;"
            " UPDATE falfake_queue SET cursor = '-infinity', next_event = '-infinity',"
            " next_expiry = 'infinity', running = 0, queued = 0, held = 0, held_bytes = 0"
        )
        self._submitted.clear()

    async def _advance(self, now: float) -> None:
        await self._db.execute(
            "SELECT falfake_advance($1, $2, $3)",
            now,
            self._timing.runners,
            self._retention.request_ttl_seconds,
        )

    async def _snapshot(
        self, row: asyncpg.Record, now: float, submitted: QueuedRequest | None
    ) -> Snapshot:
        """The request as `row` has it now, on its record as submitted (decoded from `row` when
        this replica has not)."""
        if submitted is None:
            submitted = await self._decoded(row)
        state = row["status"]
        status = _STATUSES[state]
        request = submitted
        if status is not Status.IN_QUEUE:
            request = dataclasses.replace(
                submitted,
                status=status,
                started_at=row["started_at"],
                finishes_at=row["finishes_at"],
                completed_at=row["completed_at"],
                failure=self._failure(submitted, row["ending"]) if state == DONE else None,
                webhook_pending=row["webhook_pending"],
            )
        position = row["queue_position"] if state == QUEUED else None
        return Snapshot(request=request, now=now, queue_position=position)

    async def _decoded(self, row: asyncpg.Record) -> QueuedRequest:
        images: dict[str, bytes] = {}
        if row["images"]:
            found = await self._db.fetch(
                "SELECT digest, data FROM falfake_images WHERE digest = ANY($1)", row["images"]
            )
            images = {image["digest"]: image["data"] for image in found}
        request = dataclasses.replace(decode_request(row["record"], images.get), seq=row["seq"])
        self._remember(request)
        return request

    def _remember(self, request: QueuedRequest) -> None:
        self._submitted[request.request_id] = request
        if len(self._submitted) > _CACHED:
            self._submitted.popitem(last=False)

    @staticmethod
    def _failure(request: QueuedRequest, ending: int) -> FalError | None:
        if ending == BY_CANCEL:
            return ClientCancelled(request.request_id)
        if ending == BY_DEADLINE:
            return StartTimeout(request.request_id)
        return request.job.failure
