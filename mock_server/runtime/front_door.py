"""One port for every client mode: a CONNECT proxy for fal's hosts, direct TLS, and plain HTTP.

Each accepted connection is peeked at before any transport reads it (PROTOCOL.md §17.1):
`CONNECT queue.fal.run:443` is answered 200 and the tunnel becomes a TLS server with the fake's
certificate; a first byte 0x16 is a TLS ClientHello (FAL_RUN_HOST=127.0.0.1:PORT mode); anything
else is plain HTTP. Every case ends in uvicorn's own HTTP protocol on the resulting transport.

For fal's hosts the fake is the destination itself (CONNECT to one on a port other than 443 is
refused). A CONNECT to any other host is, with `PassThrough`, a tunnel to that host, byte for byte:
nothing is decrypted or changed, so an app under test still reaches S3, OpenAI or PyPI with
`HTTPS_PROXY` pointing here. Only loopback clients get one unless asked otherwise, so a fake
reachable from a network is never an open relay by accident; without `PassThrough` they are
refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from falfake.harness.journal import JournalBook
from falfake.hosts import FAL_HOSTS, is_loopback
from falfake.http.render import refusal_bytes

logger = logging.getLogger("falfake")

_TLS_HANDSHAKE = 0x16
_CONNECT = b"CONNECT "
_MAX_HEAD = 8192
# After a refusal, how long and how much of the rest of a request is read before closing.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 1024 * 1024
# How long a connection may take to say what it is (and finish a TLS handshake).
HEAD_TIMEOUT_SECONDS = 10.0
_PARTIAL_WAIT_SECONDS = 0.005
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
_RELAY_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class PassThrough:
    """Tunnels to hosts that are not fal's. `opened(host, port, status, seconds)` hears of each
    one asked for: 200 once connected, 502 when the host could not be reached."""

    opened: Callable[[str, int, int, float], None]
    remote_clients: bool = False  # also for clients that are not on the loopback
    connect_timeout_seconds: float = 10.0


def connect_target(head: bytes) -> tuple[str, int] | None:
    """The `host, port` of a `CONNECT host:port HTTP/1.1` request head, or None if malformed."""
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[0] != "CONNECT" or not parts[2].startswith("HTTP/1."):
        return None
    host, _, port = parts[1].rpartition(":")
    if not host or not port.isascii() or not port.isdigit() or len(port) > 5:
        return None
    return host.lower(), int(port)


class LazyTls:
    """The server's TLS context, made in a worker thread once and shared by every connection.

    Issuing the leaf certificate (and importing the CA machinery) takes longer than the rest of
    the start, so it waits for the first connection that needs it, off the event loop.
    """

    def __init__(self, build: Callable[[], ssl.SSLContext]) -> None:
        self._build = build
        self._made: Future[ssl.SSLContext] = Future()
        self._started = False

    def _start(self) -> None:
        if not self._started:  # only ever called on the event loop
            self._started = True
            threading.Thread(target=self._make, name="falfake-tls", daemon=True).start()

    def _make(self) -> None:
        try:
            self._made.set_result(self._build())
        except Exception as exc:  # handed to every connection that waits for TLS
            self._made.set_exception(exc)

    async def context(self) -> ssl.SSLContext:
        self._start()
        return await asyncio.wrap_future(self._made)


def journaled(
    journal: JournalBook, now: Callable[[], float], *, remote_clients: bool = False
) -> PassThrough:
    """Tunnels to hosts that are not fal's, each one in the fake's journal."""
    return PassThrough(
        opened=lambda host, port, status, seconds: journal.tunnelled(
            now(), host, port, status, seconds
        ),
        remote_clients=remote_clients,
    )


class FrontDoor:
    """Accepts on a listening socket and hands each connection to `protocol_factory` (uvicorn)."""

    def __init__(
        self,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        tls: LazyTls | None,
        *,
        head_timeout_seconds: float = HEAD_TIMEOUT_SECONDS,
        pass_through: PassThrough | None = None,
    ) -> None:
        self._sock = sock
        self._protocol_factory = protocol_factory
        self._tls = tls
        self._pass_through = pass_through
        self._head_timeout = head_timeout_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._sock.setblocking(False)
        self._accepting = asyncio.get_running_loop().create_task(self._accept_forever())

    def close(self) -> None:
        """Stop accepting; connections already handed to uvicorn are uvicorn's to close."""
        if self._accepting is not None:
            self._accepting.cancel()
        for task in self._tasks:
            task.cancel()

    async def wait_closed(self) -> None:
        """Wait until the accept loop and every admission in progress have ended."""
        waiting = [t for t in (self._accepting, *self._tasks) if t is not None]
        await asyncio.gather(*waiting, return_exceptions=True)

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(self._sock)
            except OSError as exc:  # e.g. out of file descriptors: keep serving the others
                logger.warning("accept failed: %r", exc)
                await asyncio.sleep(0.1)
                continue
            # Small replies go out at once; without this a 40 ms delayed-ACK stall hits each one.
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(self._admit(client))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _admit(self, client: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        handed_over = False
        relay: Relay | None = None
        try:
            async with asyncio.timeout(self._head_timeout):
                first = await _peek(client)
                if not first:
                    return
                tls: ssl.SSLContext | None = None
                if first == _CONNECT:
                    tunnel = await self._open_tunnel(client)
                    if tunnel is None:
                        return
                    if isinstance(tunnel, Relay):
                        relay = tunnel
                        return
                    tls = await tunnel.context()
                elif first[0] == _TLS_HANDSHAKE and self._tls is not None:
                    tls = await self._tls.context()
                await loop.connect_accepted_socket(
                    self._protocol_factory,
                    client,
                    ssl=tls,
                    ssl_handshake_timeout=None if tls is None else self._head_timeout,
                )
                handed_over = True
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            logger.info("dropped a connection before HTTP: %r", exc)
        finally:
            if relay is not None:  # outside the head's deadline: a tunnel lasts as it likes
                await relay.run(client)
            if not handed_over:
                client.close()

    async def _open_tunnel(self, client: socket.socket) -> LazyTls | Relay | None:
        """Read the CONNECT head; answer 200 for fal's hosts (the tunnel's TLS is returned) or,
        passing through, for a host that could be reached (the relay is returned); else an
        error, which closes it (None)."""
        loop = asyncio.get_running_loop()
        head = await _read_head(client)
        target = None if head is None else connect_target(head)
        if target is None:
            await _refuse(client, refusal_bytes("Malformed CONNECT request", "400 Bad Request"))
            return None
        host, port = target
        through = None if host in FAL_HOSTS else self._passing(client)
        if through is not None:
            return await self._connect_through(client, through, host, port)
        if host not in FAL_HOSTS or port != 443:
            reason = f"falfake only stands in for fal's hosts on port 443, not {host}:{port}"
            await _refuse(client, refusal_bytes(reason))
            return None
        if self._tls is None:
            await _refuse(client, refusal_bytes("TLS is off", "502 Bad Gateway"))
            return None
        await loop.sock_sendall(client, ESTABLISHED)
        return self._tls

    def _passing(self, client: socket.socket) -> PassThrough | None:
        """The pass-through this client may use, if any."""
        through = self._pass_through
        if through is None or through.remote_clients or is_loopback(client.getpeername()[0]):
            return through
        return None

    async def _connect_through(
        self, client: socket.socket, through: PassThrough, host: str, port: int
    ) -> Relay | None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(through.connect_timeout_seconds):
                reader, writer = await asyncio.open_connection(host.strip("[]"), port)
        except (OSError, TimeoutError, UnicodeError) as exc:  # a name IDNA cannot encode too
            through.opened(host, port, 502, time.perf_counter() - started)
            reason = f"falfake could not reach {host}:{port} to pass the tunnel through: {exc!r}"
            await _refuse(client, refusal_bytes(reason, "502 Bad Gateway"))
            return None
        through.opened(host, port, 200, time.perf_counter() - started)
        await asyncio.get_running_loop().sock_sendall(client, ESTABLISHED)
        return Relay(reader, writer)


@dataclass(frozen=True, slots=True)
class Relay:
    """A passed-through tunnel: bytes copied both ways, untouched, until both sides are done."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def run(self, client: socket.socket) -> None:
        loop = asyncio.get_running_loop()

        async def upward() -> None:
            while chunk := await loop.sock_recv(client, _RELAY_CHUNK):
                self.writer.write(chunk)
                await self.writer.drain()
            if self.writer.can_write_eof():
                self.writer.write_eof()

        async def downward() -> None:
            while chunk := await self.reader.read(_RELAY_CHUNK):
                await loop.sock_sendall(client, chunk)
            client.shutdown(socket.SHUT_WR)

        try:
            async with asyncio.TaskGroup() as both:
                both.create_task(upward())
                both.create_task(downward())
        except* OSError as exc:  # either side reset: the other was stopped with it
            logger.info("a passed-through tunnel ended: %r", exc.exceptions)
        finally:
            self.writer.close()


async def _refuse(sock: socket.socket, reply: bytes) -> None:
    """Send `reply`, then read and drop what the client still sends for a moment: closing with
    unread bytes would reset the connection, and the client might never see the reply."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, reply)
    sock.shutdown(socket.SHUT_WR)
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(_LINGER_SECONDS):
            drained = 0
            while drained < _LINGER_BYTES and (chunk := await loop.sock_recv(sock, 65536)):
                drained += len(chunk)


async def _wait_readable(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


async def _peek(sock: socket.socket) -> bytes:
    """The first bytes, left unread for uvicorn: enough to tell CONNECT, TLS and HTTP apart."""
    while True:
        data = await _peek_some(sock, len(_CONNECT))
        if len(data) >= len(_CONNECT) or not data or not _CONNECT.startswith(data):
            return data
        await asyncio.sleep(_PARTIAL_WAIT_SECONDS)  # a prefix of "CONNECT ": wait for the rest


async def _read_head(sock: socket.socket) -> bytes | None:
    """Consume and return a request head up to its blank line; None past `_MAX_HEAD` bytes."""
    while True:
        data = await _peek_some(sock, _MAX_HEAD)
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            return sock.recv(end + 4)
        if not data or len(data) >= _MAX_HEAD:
            return None
        await asyncio.sleep(_PARTIAL_WAIT_SECONDS)


async def _peek_some(sock: socket.socket, size: int) -> bytes:
    """Whatever has arrived, up to `size` bytes, without consuming it; b"" once the peer closed."""
    while True:
        await _wait_readable(sock)
        with contextlib.suppress(BlockingIOError):
            return sock.recv(size, socket.MSG_PEEK)
