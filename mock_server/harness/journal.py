"""The request journal: every request the fake received and how it answered (like WireMock's)."""

from __future__ import annotations

import itertools
import marshal
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple, Protocol

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
JOURNAL_ENTRIES = 10_000
# Of kept bodies: without it 10,000 large bodies would hold 640 MiB.
JOURNAL_BYTES = 64 * 1024 * 1024
CONTROL_PREFIX = "/_falfake"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    at: float
    method: str
    host: str
    path: str
    query: str
    headers: dict[str, str]
    body: str
    status: int | None
    duration_ms: float
    request_id: str | None = None  # the fal request the reply named (X-Fal-Request-Id)
    reply: str = ""  # the events an event stream sent (its first 64 KiB); other replies: ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Seen(NamedTuple):
    """A request as the journal keeps it: raw, decoded only when someone reads the journal."""

    at: float
    method: str
    path: str
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    status: int | None
    duration_ms: float
    request_id: str | None = None
    reply: bytes = b""  # an event stream's first 64 KiB, as sent

    def entry(self) -> JournalEntry:
        headers: dict[str, str] = {}
        for key, value in self.headers:
            name = key.decode("latin-1")
            if name not in SECRET_HEADERS:
                headers[name] = value.decode("latin-1")
        return JournalEntry(
            at=self.at,
            method=self.method,
            host=headers.get("host", ""),
            path=self.path,
            query=self.query.decode("latin-1"),
            headers=headers,
            body=self.body.decode("utf-8", errors="replace"),
            status=self.status,
            duration_ms=round(self.duration_ms, 3),
            request_id=self.request_id,
            reply=self.reply.decode("utf-8", errors="replace"),
        )


class JournalBook(Protocol):
    """The requests received, whatever keeps them: this process (`Journal`) or a database shared
    by replicas. Recording is synchronous (the last thing a request does); reading is not."""

    def add(self, seen: Seen) -> None: ...

    def tunnelled(self, at: float, host: str, port: int, status: int, seconds: float) -> None: ...

    async def entries(
        self, *, method: str | None = None, path: str | None = None, host: str | None = None
    ) -> list[JournalEntry]: ...

    async def newest(
        self, limit: int, *, skip: int = 0, method: str | None = None, path: str | None = None
    ) -> list[JournalEntry]: ...

    async def about(self, request_id: str) -> list[JournalEntry]: ...

    async def count(self, **filters: str | None) -> int: ...

    async def clear(self) -> None: ...


def tunnel_seen(at: float, host: str, port: int, status: int, seconds: float) -> Seen:
    """A CONNECT passed through to a host that is not fal's (nothing of it is seen but that it
    was asked for): method CONNECT, path `host:port`, 200 or 502."""
    target = f"{host}:{port}"
    return Seen(
        at=at,
        method="CONNECT",
        path=target,
        query=b"",
        headers=((b"host", target.encode("latin-1", errors="replace")),),
        body=b"",
        status=status,
        duration_ms=seconds * 1000,
    )


class Journal:
    """The last requests, oldest first, without secrets: at most `max_entries` of them, and at
    most `max_bytes` of kept bodies, whichever bound is reached first."""

    def __init__(
        self, *, max_entries: int = JOURNAL_ENTRIES, max_bytes: int = JOURNAL_BYTES
    ) -> None:
        # Kept flat (`_flat`), `Seen` again when read: the garbage collector walked 10,000 named
        # tuples with tuples of header pairs inside on every full collection.
        self._plain: deque[tuple[Any, ...]] = deque()
        self._max_entries, self._max_bytes = max_entries, max_bytes
        self._bytes = 0

    def add(self, seen: Seen) -> None:
        self._plain.append(_flat(seen))
        self._bytes += len(seen.body) + len(seen.reply)
        while len(self._plain) > self._max_entries or (
            self._bytes > self._max_bytes and len(self._plain) > 1
        ):
            dropped = self._plain.popleft()
            self._bytes -= len(dropped[_BODY]) + len(dropped[_REPLY])

    def tunnelled(self, at: float, host: str, port: int, status: int, seconds: float) -> None:
        self.add(tunnel_seen(at, host, port, status, seconds))

    async def entries(
        self, *, method: str | None = None, path: str | None = None, host: str | None = None
    ) -> list[JournalEntry]:
        """Requests matching all given filters; `path` matches any part of the path."""
        wanted = None if method is None else method.upper()
        chosen = (
            seen.entry()
            for seen in map(_seen, self._plain)
            if (wanted is None or seen.method == wanted) and (path is None or path in seen.path)
        )
        return [entry for entry in chosen if host is None or entry.host == host]

    async def newest(
        self, limit: int, *, skip: int = 0, method: str | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        """Newest first: `limit` matching requests after skipping `skip`; only those are decoded."""
        wanted = None if method is None else method.upper()
        chosen = (
            seen
            for seen in map(_seen, reversed(self._plain))
            if (wanted is None or seen.method == wanted) and (path is None or path in seen.path)
        )
        return [seen.entry() for seen in itertools.islice(chosen, skip, skip + limit)]

    async def about(self, request_id: str) -> list[JournalEntry]:
        """The requests whose replies named this fal request, oldest first."""
        return [seen.entry() for seen in map(_seen, self._plain) if seen.request_id == request_id]

    async def count(self, **filters: str | None) -> int:
        return len(await self.entries(**filters))

    async def clear(self) -> None:
        self._plain.clear()
        self._bytes = 0


_BODY, _REPLY = Seen._fields.index("body"), Seen._fields.index("reply")  # where `_flat` keeps them


def _flat(seen: Seen) -> tuple[Any, ...]:
    """`seen` as one plain tuple of plain values (its headers marshalled), which the collector
    stops tracking at its first look; a tuple inside would be looked at after the one holding
    it, and keep it tracked into the oldest generation."""
    at, method, path, query, headers, body, status, duration_ms, request_id, reply = seen
    flat_headers = marshal.dumps(headers)
    return at, method, path, query, flat_headers, body, status, duration_ms, request_id, reply


def _seen(flat: tuple[Any, ...]) -> Seen:
    at, method, path, query, headers, *rest = flat
    return Seen(at, method, path, query, marshal.loads(headers), *rest)
