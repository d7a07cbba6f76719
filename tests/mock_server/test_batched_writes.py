"""A reply leaves in one send: the writes of one event-loop step go out joined, in order."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from falfake.runtime.batched_writes import BatchedTransport, batching

pytestmark = pytest.mark.anyio


class Wire:
    """What a socket's transport was asked to do."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False
        self.aborted = False
        self.reading = True

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def pause_reading(self) -> None:
        self.reading = False


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def transport(wire: Wire) -> BatchedTransport:
    return BatchedTransport(cast(asyncio.Transport, wire))


async def next_step() -> None:
    await asyncio.sleep(0)


async def test_a_head_and_a_body_written_in_one_step_leave_as_one_send(
    wire: Wire, transport: BatchedTransport
) -> None:
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"{}"))
    assert wire.sent == []
    await next_step()
    assert wire.sent == [b"HTTP/1.1 200 OK\r\n\r\n{}"]


async def test_writes_of_later_steps_leave_in_their_own_send_in_order(
    wire: Wire, transport: BatchedTransport
) -> None:
    transport.write(b"data: 1\n\n")
    await next_step()
    transport.writelines([b"data: 2\n\n", memoryview(b"data: 3\n\n")])
    await next_step()
    assert wire.sent == [b"data: 1\n\n", b"data: 2\n\ndata: 3\n\n"]


async def test_close_sends_what_waits_before_closing(
    wire: Wire, transport: BatchedTransport
) -> None:
    transport.write(b"last words")
    transport.close()
    assert (wire.sent, wire.closed) == ([b"last words"], True)
    await next_step()
    assert wire.sent == [b"last words"]


async def test_nothing_is_written_to_a_transport_closed_under_it(
    wire: Wire, transport: BatchedTransport
) -> None:
    transport.write(b"too late")
    wire.closed = True  # the peer went away before the step ended
    await next_step()
    assert wire.sent == []


async def test_abort_drops_what_waits(wire: Wire, transport: BatchedTransport) -> None:
    transport.write(b"dropped")
    transport.abort()
    await next_step()
    assert (wire.sent, wire.aborted) == ([], True)


def test_everything_else_is_the_wrapped_transports(wire: Wire, transport: BatchedTransport) -> None:
    transport.pause_reading()
    assert wire.reading is False
    assert transport.is_closing() is False


def test_the_protocol_sees_the_batched_transport(wire: Wire) -> None:
    seen: list[Any] = []

    class Protocol(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            seen.append(transport)

    batching(Protocol)().connection_made(cast(asyncio.Transport, wire))
    assert isinstance(seen[0], BatchedTransport)
