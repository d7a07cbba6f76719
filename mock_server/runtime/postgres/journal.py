"""The request journal in the shared database: every replica's requests, in one list.

A request is recorded as its reply ends, so the journal writes behind: each replica keeps what it
recorded for up to `FLUSH_SECONDS` and writes it in one `COPY`, and reads write its own first.
What another replica recorded in that moment shows up a moment later (in its place: the journal
is in the order requests came); what a replica killed had not written is lost (the journal is a
test aid; requests, files and webhooks are not).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from falfake.errors import StorageUnavailable
from falfake.harness.journal import JournalEntry, Seen, tunnel_seen
from falfake.runtime.postgres.database import Database, as_bytes, as_text, storable

FLUSH_SECONDS = 0.1
_BUFFERED = 5_000  # beyond this a replica whose database is away drops the oldest
_COLUMNS = (
    "at",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "status",
    "duration_ms",
    "request_id",
    "reply",
)


class PostgresJournal:
    def __init__(self, database: Database, *, max_entries: int, max_bytes: int) -> None:
        self._db = database
        self._max_entries, self._max_bytes = max_entries, max_bytes
        self._pending: list[Seen] = []
        self._flushing: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()

    def add(self, seen: Seen) -> None:
        self._pending.append(seen)
        if len(self._pending) > _BUFFERED:
            del self._pending[: len(self._pending) - _BUFFERED]
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon())

    def tunnelled(self, at: float, host: str, port: int, status: int, seconds: float) -> None:
        self.add(tunnel_seen(at, host, port, status, seconds))

    async def entries(
        self, *, method: str | None = None, path: str | None = None, host: str | None = None
    ) -> list[JournalEntry]:
        rows = await self._select(method, path, "ORDER BY at, id", None, 0)
        chosen = [_seen(row).entry() for row in rows]
        return [entry for entry in chosen if host is None or entry.host == host]

    async def newest(
        self, limit: int, *, skip: int = 0, method: str | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        rows = await self._select(method, path, "ORDER BY at DESC, id DESC", limit, skip)
        return [_seen(row).entry() for row in rows]

    async def about(self, request_id: str) -> list[JournalEntry]:
        if not storable(request_id):
            return []
        await self.flush()
        rows = await self._db.fetch(
            f"SELECT {', '.join(_COLUMNS)} FROM falfake_journal WHERE request_id = $1"
            " ORDER BY at, id",
            request_id,
        )
        return [_seen(row).entry() for row in rows]

    async def count(self, **filters: str | None) -> int:
        return len(await self.entries(**filters))

    async def clear(self) -> None:
        self._pending.clear()
        await self._db.execute("TRUNCATE falfake_journal")

    async def _select(
        self, method: str | None, path: str | None, order: str, limit: int | None, skip: int
    ) -> list[Any]:
        if method is not None and not storable(method):
            return []  # no request was made with it
        await self.flush()
        return await self._db.fetch(
            f"SELECT {', '.join(_COLUMNS)} FROM falfake_journal"
            " WHERE ($1::text IS NULL OR method = $1)"
            " AND ($2::bytea IS NULL OR position($2 IN path) > 0)"
            f" {order} LIMIT $3 OFFSET $4",
            None if method is None else method.upper(),
            None if path is None else as_bytes(path),
            limit,
            skip,
        )

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        with contextlib.suppress(StorageUnavailable):  # kept for the next flush
            await self.flush()

    async def flush(self) -> None:
        """Write what this replica recorded and has not written yet."""
        async with self._writing:
            taken, self._pending = self._pending, []
            if not taken:
                return
            try:
                await self._write(taken)
            except StorageUnavailable:
                self._pending[:0] = taken
                raise

    async def _write(self, taken: Sequence[Seen]) -> None:
        async with self._db.connection() as connection, connection.transaction():
            await connection.copy_records_to_table(
                "falfake_journal", records=[_row(seen) for seen in taken], columns=_COLUMNS
            )
            # The bounds, over the fleet's journal: the newest entries within both stay.
            await connection.execute(
                "DELETE FROM falfake_journal WHERE id <= (SELECT max(id) FROM falfake_journal)"
                " - $1 OR id < coalesce((SELECT id FROM (SELECT id,"
                " sum(length(body) + length(reply)) OVER (ORDER BY id DESC) AS newer"
                " FROM falfake_journal) t"
                " WHERE newer > $2 ORDER BY id DESC LIMIT 1), 0)",
                self._max_entries,
                self._max_bytes,
            )


def _row(seen: Seen) -> tuple[Any, ...]:
    headers = [[key, value] for key, value in seen.headers]
    return (
        seen.at,
        seen.method,
        as_bytes(seen.path),
        seen.query,
        _flat(headers),
        seen.body,
        seen.status,
        seen.duration_ms,
        seen.request_id if seen.request_id is None or storable(seen.request_id) else None,
        seen.reply,
    )


def _flat(headers: list[list[bytes]]) -> bytes:
    """Header pairs as one bytea: length-prefixed, so any byte survives."""
    out = bytearray()
    for key, value in headers:
        for part in (key, value):
            out += len(part).to_bytes(4, "big") + part
    return bytes(out)


def _pairs(data: bytes) -> tuple[tuple[bytes, bytes], ...]:
    parts, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        parts.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return tuple(zip(parts[::2], parts[1::2], strict=True))


def _seen(row: Any) -> Seen:
    return Seen(
        at=row["at"],
        method=row["method"],
        path=as_text(row["path"]),
        query=row["query"],
        headers=_pairs(row["headers"]),
        body=row["body"],
        status=row["status"],
        duration_ms=row["duration_ms"],
        request_id=row["request_id"],
        reply=row["reply"],
    )
