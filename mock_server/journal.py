"""The request journal: every request the fake received and how it answered (like WireMock's)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_BODY_KEPT = 64 * 1024
_SIZE = 10_000
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
    """The last ten thousand requests, oldest first, without secrets."""

    def __init__(self) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=_SIZE)

    def add(self, entry: JournalEntry) -> None:
        self._entries.append(entry)

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


class JournalRecorder:
    """ASGI middleware: records each request with its body (first 64 KiB) and reply status."""

    def __init__(self, app: ASGIApp, journal: Journal, clock: Callable[[], float]) -> None:
        self.app, self.journal, self.clock = app, journal, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        status: list[int] = []
        started = time.perf_counter()

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < _BODY_KEPT:
                body.extend(message.get("body", b"")[: _BODY_KEPT - len(body)])
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        at = self.clock()
        try:
            await self.app(scope, receiving, sending)
        finally:
            headers = Headers(scope=scope)
            self.journal.add(
                JournalEntry(
                    at=at,
                    method=scope["method"],
                    host=headers.get("host", ""),
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode("latin-1"),
                    headers={k: v for k, v in headers.items() if k not in SECRET_HEADERS},
                    body=body.decode("utf-8", errors="replace"),
                    status=status[0] if status else None,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                )
            )
