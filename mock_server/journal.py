"""The request journal: every request the fake received and how it answered (like WireMock's)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from starlette.types import Message, Receive, Scope, Send

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_KEPT = 64 * 1024
_SIZE = 10_000
_BYTES = 64 * 1024 * 1024  # of kept bodies: without it 10,000 large bodies would hold 640 MiB
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    """The last requests, oldest first, without secrets: at most `max_entries` of them, and at
    most `max_bytes` of kept bodies, whichever bound is reached first."""

    def __init__(self, *, max_entries: int = _SIZE, max_bytes: int = _BYTES) -> None:
        self._entries: deque[JournalEntry] = deque()
        self._max_entries, self._max_bytes = max_entries, max_bytes
        self._bytes = 0

    def add(self, entry: JournalEntry) -> None:
        self._entries.append(entry)
        self._bytes += len(entry.body)
        while len(self._entries) > self._max_entries or (
            self._bytes > self._max_bytes and len(self._entries) > 1
        ):
            self._bytes -= len(self._entries.popleft().body)

    def recording(self, scope: Scope, at: float) -> Recording:
        """Watches one request go by; its entry is added when `finish` is called."""
        return Recording(self, scope, at)

    def entries(
        self, *, method: str | None = None, path: str | None = None, host: str | None = None
    ) -> list[JournalEntry]:
        """Requests matching all given filters; `path` matches any part of the path."""
        return [
            e
            for e in self._entries
            if (method is None or e.method == method.upper())
            and (path is None or path in e.path)
            and (host is None or e.host == host)
        ]

    def count(self, **filters: str | None) -> int:
        return len(self.entries(**filters))

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0


class Recording:
    """One request on its way: the first 64 KiB of its body and its reply's status."""

    def __init__(self, journal: Journal, scope: Scope, at: float) -> None:
        self._journal, self._scope, self._at = journal, scope, at
        self._body = bytearray()
        self._status: int | None = None
        self._started = time.perf_counter()

    def receive(self, receive: Receive) -> Receive:
        body = self._body

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < _BODY_KEPT:
                body.extend(message.get("body", b"")[: _BODY_KEPT - len(body)])
            return message

        return receiving

    def send(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and self._status is None:
                self._status = message["status"]
            await send(message)

        return sending

    def finish(self) -> None:
        scope = self._scope
        headers: dict[str, str] = {}
        for key, value in scope["headers"]:
            name = key.decode("latin-1")
            if name not in SECRET_HEADERS:
                headers[name] = value.decode("latin-1")
        self._journal.add(
            JournalEntry(
                at=self._at,
                method=scope["method"],
                host=headers.get("host", ""),
                path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=self._body.decode("utf-8", errors="replace"),
                status=self._status,
                duration_ms=round((time.perf_counter() - self._started) * 1000, 3),
            )
        )
