"""`--database postgresql://…`: the engine whose stores are rows every replica shares.

At start a replica makes the schema (or checks the one it finds) and reads the fleet's webhook
signing key, under an advisory lock, before it serves; after that it opens its pool in the loop
that serves (`database.Database`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from falfake.clock import Clock, VirtualClock
from falfake.errors import StorageError, StorageUnavailable
from falfake.harness.journal import JOURNAL_BYTES, JOURNAL_ENTRIES
from falfake.runtime.postgres.clock import FleetClock
from falfake.runtime.postgres.database import ACQUIRE_SECONDS, Database, blocking
from falfake.runtime.postgres.deliveries import PostgresDeliveries
from falfake.runtime.postgres.files import PostgresFiles, PostgresUploads
from falfake.runtime.postgres.journal import PostgresJournal
from falfake.runtime.postgres.rate_limits import PostgresRateLimits
from falfake.runtime.postgres.requests import PostgresRequests
from falfake.runtime.postgres.scenarios import PostgresScenarios
from falfake.runtime.postgres.schema import MIGRATION_LOCK, MIGRATIONS, SCHEMA, SCHEMA_VERSION
from falfake.settings import Settings
from falfake.storage import Stores
from falfake.webhooks.signing import pem_of_new_key

if TYPE_CHECKING:
    import asyncpg


# A delivery's lease outlasts its POST's timeout by this much: its maker, if alive, has
# recorded the attempt by then (it writes one row as soon as the POST is answered).
LEASE_MARGIN_SECONDS = 5.0


class DatabaseError(StorageError):
    """The database cannot be used: unreachable at start, or holding another schema."""


class Postgres:
    """A `falfake.storage.Storage` over one PostgreSQL database."""

    name = "postgresql"

    def __init__(self, url: str) -> None:
        self._key = blocking(prepared(url))
        self.database = Database(url)
        self._journal = PostgresJournal(
            self.database, max_entries=JOURNAL_ENTRIES, max_bytes=JOURNAL_BYTES
        )

    def stores(self, settings: Settings, clock: Clock) -> Stores:
        return Stores(
            requests=PostgresRequests(
                self.database,
                settings.timing,
                settings.retention,
                clock.now,
                honour_cancel=settings.honour_cancel,
                documented_cancel_body=settings.cancel_completed_body == "status",
            ),
            files=PostgresFiles(self.database, settings.retention, clock.now),
            uploads=PostgresUploads(
                self.database,
                clock.now,
                max_upload_bytes=settings.max_upload_bytes,
                max_pending_bytes=settings.retention.max_file_bytes,
            ),
            scenarios=PostgresScenarios(self.database),
            journal=self._journal,
            rate_limits=PostgresRateLimits(self.database, settings.rate_limit, clock.now),
            deliveries=PostgresDeliveries(
                self.database,
                clock.now,
                lease_seconds=settings.webhooks.timeout_seconds + LEASE_MARGIN_SECONDS,
            ),
        )

    def clock(self, clock: Clock) -> Clock:
        if isinstance(clock, VirtualClock):  # one virtual time for the fleet
            return FleetClock(self.database, clock.now())
        return clock

    def saved_at(self) -> float | None:
        return None  # the state is the database's; no time passes while a replica is down

    def signing_key(self) -> bytes | None:
        return self._key

    async def problem(self) -> str | None:
        try:
            await self.database.fetchval("SELECT 1")
        except StorageUnavailable as exc:
            return str(exc.detail)
        return None

    async def close(self) -> None:
        with contextlib.suppress(StorageUnavailable):  # what cannot be written now is lost
            await self._journal.flush()
        await self.database.close()


async def prepared(url: str) -> bytes:
    """Make the schema on an empty database, or check the one there; returns the signing key
    every replica shares (made by the first)."""
    import asyncpg

    try:
        connection = await asyncpg.connect(url, timeout=ACQUIRE_SECONDS * 5)
    except (TimeoutError, OSError, asyncpg.PostgresError, ValueError) as exc:
        raise DatabaseError(f"cannot reach PostgreSQL: {exc or type(exc).__name__}") from None
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        await _migrated(connection)
        key = await connection.fetchval("SELECT value FROM falfake_meta WHERE key = 'webhook_key'")
        if key is None:
            key = pem_of_new_key().decode()
            await connection.execute("INSERT INTO falfake_meta VALUES ('webhook_key', $1)", key)
        return str(key).encode()
    finally:
        await connection.close()


async def _migrated(connection: asyncpg.Connection) -> None:
    exists = await connection.fetchval("SELECT to_regclass('falfake_meta') IS NOT NULL")
    if not exists:
        async with connection.transaction():
            await connection.execute(SCHEMA)
            await connection.execute(
                "INSERT INTO falfake_meta VALUES ('schema', $1)", SCHEMA_VERSION
            )
        return
    found = await connection.fetchval("SELECT value FROM falfake_meta WHERE key = 'schema'")
    while found in MIGRATIONS:
        following, statements = MIGRATIONS[found]
        async with connection.transaction():
            await connection.execute(statements)
            await connection.execute(
                "UPDATE falfake_meta SET value = $1 WHERE key = 'schema'", following
            )
        found = following
    if found != SCHEMA_VERSION:
        raise DatabaseError(
            f"the database holds falfake schema {found}; this falfake uses {SCHEMA_VERSION}."
            " Run the falfake that made it, or point --database at an empty database."
        )
