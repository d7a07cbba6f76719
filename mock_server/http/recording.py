"""The journal's side of the ingress: what one request sent and how it was answered."""

from __future__ import annotations

import time

from starlette.types import Message, Receive, Scope, Send

from falfake.harness.journal import JournalBook, Seen
from falfake.http.render import REQUEST_ID_HEADER

_BODY_KEPT = 64 * 1024
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode()
_REQUESTS = "/requests/"
_EVENT_STREAM = b"text/event-stream"
# A reply's first message: to a request, or to a WebSocket upgrade that is refused.
_STARTS = ("http.response.start", "websocket.http.response.start")


def request_id_in_path(path: str) -> str | None:
    """The fal request a queue path names (`…/requests/{id}`, `/status`, `/status/stream`,
    `/cancel`): polls' replies carry no request-id header, and a request's page lists them too."""
    at = path.find(_REQUESTS)
    if at == -1 or not path.startswith("/queue/"):
        return None
    request_id = path[at + len(_REQUESTS) :].split("/", 1)[0]
    return request_id or None


def _may_have_body(scope: Scope) -> bool:
    """HTTP/1.1 frames a request body only by Content-Length or Transfer-Encoding."""
    return any(key in (b"content-length", b"transfer-encoding") for key, _ in scope["headers"])


class Recording:
    """One request on its way: the first 64 KiB of its body, its reply's status and the fal
    request id the reply names, if any (so a request's page finds its submit), and the first
    64 KiB of an event stream's events (`/stream`, status streams). A WebSocket session is one
    entry: status 101 (or its refusal's), its duration the session's."""

    def __init__(self, journal: JournalBook, scope: Scope, at: float) -> None:
        self._journal, self._scope, self._at = journal, scope, at
        self._body = bytearray()
        self._events: bytearray | None = None  # kept only for event streams
        self._status: int | None = None
        self._request_id: str | None = None
        self._started = time.perf_counter()

    def receive(self, receive: Receive) -> Receive:
        if not _may_have_body(self._scope):
            return receive
        body = self._body

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < _BODY_KEPT:
                body.extend(message.get("body", b"")[: _BODY_KEPT - len(body)])
            return message

        return receiving

    def send(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "websocket.accept" and self._status is None:
                self._status = 101  # a WebSocket session: its upgrade was switched
            elif message["type"] in _STARTS and self._status is None:
                self._status = message["status"]
                for key, value in message.get("headers", ()):
                    name = key.lower()
                    if name == _REQUEST_ID:
                        self._request_id = value.decode("latin-1")
                    elif name == b"content-type" and value.startswith(_EVENT_STREAM):
                        self._events = bytearray()
            elif message["type"] == "http.response.body" and self._events is not None:
                room = _BODY_KEPT - len(self._events)
                if room > 0:
                    self._events.extend(message.get("body", b"")[:room])
            await send(message)

        return sending

    def finish(self) -> None:
        scope = self._scope
        self._journal.add(
            Seen(
                at=self._at,
                method=scope.get("method", "GET"),  # a WebSocket upgrade is a GET
                path=scope["path"],
                query=scope.get("query_string", b""),
                headers=tuple(scope["headers"]),
                body=bytes(self._body),
                status=self._status,
                request_id=self._request_id or request_id_in_path(scope["path"]),
                duration_ms=(time.perf_counter() - self._started) * 1000,
                reply=b"" if self._events is None else bytes(self._events),
            )
        )
