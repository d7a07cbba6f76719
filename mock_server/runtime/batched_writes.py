"""Replies leave in one send: the writes of one event-loop step are joined before they go out.

uvicorn writes a reply's head and its body separately, and each write to a socket is a system
call; on the loopback the call also runs the receiving side's TCP work, so two sends per reply
took about a quarter of a status poll's time (py-spy under wrk). Joined, a reply costs one.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast


class BatchedTransport:
    """A transport whose writes wait for the end of the current loop step, then go as one.

    Everything uvicorn's protocols use besides writing (`is_closing`, `get_extra_info`,
    `pause_reading`, ...) is the wrapped transport's own; `close` sends what waits first.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def batching(protocol_class: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """`protocol_class` (uvicorn's HTTP protocol) writing through a `BatchedTransport`."""

    # A class chosen at run time (httptools' or h11's) cannot be a static base for mypy.
    class Batching(protocol_class):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            batched = BatchedTransport(cast(asyncio.Transport, transport))
            super().connection_made(batched)

    return Batching
