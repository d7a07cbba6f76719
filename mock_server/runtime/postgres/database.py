"""One replica's way to the shared database: a bounded pool, opened on first use in the loop
that serves, with timeouts; whatever goes wrong on the way is fal's 503, never a traceback.

asyncpg rather than psycopg 3: on this machine's two cores, a prepared one-row read answered
12,000/s through asyncpg's pool against 7,500/s through psycopg's (8 concurrent readers, same
cluster), and polls are most of the traffic.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from falfake.errors import FalError, StorageUnavailable

if TYPE_CHECKING:
    import asyncpg
    import asyncpg.pool

T = TypeVar("T")

DATABASE_ENV = "FALFAKE_DATABASE_URL"  # read when --database is not given
POOL_SIZE = 10  # per replica: replicas x this must stay under the server's max_connections
ACQUIRE_SECONDS = 2.0  # a full pool turns into 503s after this, not a growing backlog
LISTEN_RETRY_SECONDS = 0.5  # between attempts to listen again on a lost connection
STATEMENT_SECONDS = 5.0  # every statement's limit (the pool's command_timeout)


class Database:
    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        self._listeners: dict[str, Callable[[], None]] = {}
        self._listening: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.pool.PoolConnectionProxy]:
        """A pooled connection; StorageUnavailable when none can be had or the database fails
        under the caller (the pool drops broken connections and opens new ones as needed)."""
        import asyncpg

        pool = None
        try:
            pool = await self._opened()
            # asyncpg applies an acquire timeout through a task of its own, a cost per query
            # (profiled): only worth paying when no connection is idle.
            timeout = None if pool.get_idle_size() else ACQUIRE_SECONDS
            async with pool.acquire(timeout=timeout) as connection:
                try:
                    yield connection
                except (asyncpg.PostgresError, FalError):
                    raise  # the server answered: the connection is in order
                except BaseException:
                    # Interrupted mid-statement (a client gone, a timeout): asyncpg would hand
                    # the connection out again while it still waits for the server.
                    connection.terminate()
                    raise
        except _lost() as exc:
            if pool is not None:
                # The server went away (a restart): every pooled connection is as dead as this
                # one, so none is handed out again.
                await pool.expire_connections()
            raise ConnectionLost(f"falfake's database is unavailable: {_reason(exc)}") from None
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageUnavailable(f"falfake's database is unavailable: {_reason(exc)}") from None

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        record: asyncpg.Record | None = await self._once_more("fetchrow", query, args)
        return record

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self._once_more("fetch", query, args))

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self._once_more("fetchval", query, args)

    async def execute(self, query: str, *args: Any) -> None:
        await self._once_more("execute", query, args)

    async def _once_more(self, method: str, query: str, args: tuple[Any, ...]) -> Any:
        """One statement, tried again once on a new connection if the one it had was dead (the
        database restarted since the pool opened it): what a client sees after a restart is its
        answer, not a 503. Only connection-level failures are retried; a statement the server
        ran and then lost the connection for fails its second try with a conflict."""
        try:
            async with self.connection() as connection:
                return await getattr(connection, method)(query, *args)
        except ConnectionLost:
            async with self.connection() as connection:
                return await getattr(connection, method)(query, *args)

    def listen(self, channel: str, changed: Callable[[], None]) -> None:
        """Call `changed()` on each NOTIFY on `channel`, and after each (re)connection, since
        what was sent meanwhile is lost. Needs a running loop; listening twice is once."""
        self._listeners.setdefault(channel, changed)
        if self._listening is None or self._listening.done():
            self._listening = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        """One connection of its own (LISTEN is per session, so not a pooled one), made again
        whenever it is lost."""
        import asyncpg

        while True:
            lost = asyncio.Event()
            try:
                connection = await asyncpg.connect(self.url, timeout=ACQUIRE_SECONDS)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                await asyncio.sleep(LISTEN_RETRY_SECONDS)
                continue
            try:
                connection.add_termination_listener(_setting(lost))
                for channel, changed in list(self._listeners.items()):
                    await connection.add_listener(channel, _notified(changed))
                    changed()
                await lost.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), ACQUIRE_SECONDS)
            await asyncio.sleep(LISTEN_RETRY_SECONDS)

    async def close(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
            self._listening = None
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
                    min_size=0,  # no floor to keep: nothing reconnects behind the callers
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


class ConnectionLost(StorageUnavailable):
    """The connection broke under the statement (the server restarted or went away)."""


def _lost() -> tuple[type[BaseException], ...]:
    import asyncpg

    return (
        asyncpg.PostgresConnectionError,
        asyncpg.exceptions.OperatorInterventionError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.exceptions.InternalClientError,  # a connection left mid-operation
        ConnectionError,
    )


def _setting(event: asyncio.Event) -> Callable[..., None]:
    def on_termination(_connection: object) -> None:
        event.set()

    return on_termination


def _notified(changed: Callable[[], None]) -> Callable[..., None]:
    def on_notify(*_details: object) -> None:  # connection, pid, channel, payload
        changed()

    return on_notify


class connected:
    """A connection of its own, outside any pool: for work done before the serving loop runs."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        import asyncpg

        self._connection = await asyncpg.connect(self._url, timeout=ACQUIRE_SECONDS * 5)
        return self._connection

    async def __aexit__(self, *_exc: object) -> None:
        if self._connection is not None:
            await self._connection.close()


def blocking(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end from sync code, inside an event loop or not: in a thread with a
    loop of its own (what a replica does before it serves)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def storable(text: str) -> bool:
    """Whether a `text` column can hold `text` (no NUL, no lone surrogate): a value from a client
    that cannot be stored cannot have been stored either, so it names nothing."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def as_bytes(text: str) -> bytes:
    """A client's text kept whole in a `bytea` column (lone surrogates too; NUL too)."""
    return text.encode("utf-8", "surrogatepass")


def as_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


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
