"""The generator's ceiling for `make bench`: answers every request head with fixed bytes at once.

It parses nothing but the blank line that ends a head, so wrk against it runs as fast as wrk and
the loopback allow; a server measured near that rate is measuring wrk.
"""

from __future__ import annotations

import asyncio
import sys
from typing import cast

import uvloop

REPLY = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class Answer(asyncio.Protocol):
    def __init__(self) -> None:
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)  # a TCP server's transport

    def data_received(self, data: bytes) -> None:
        heads = (self.pending + data).split(b"\r\n\r\n")
        self.pending = heads.pop()
        if heads:
            self.transport.write(REPLY * len(heads))


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1])))
