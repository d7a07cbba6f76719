"""The fake's one port over real sockets: CONNECT tunnels to fal's hosts (others passed through
untouched when asked), TLS, plain HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from falfake import create_app
from falfake.runtime import front_door
from falfake.runtime.front_door import (
    ESTABLISHED,
    FrontDoor,
    PassThrough,
    _refuse,
    connect_target,
)
from falfake.runtime.server import Server, bind
from falfake.runtime.tls import CertificateAuthority
from tests.conftest import APP, ENDPOINT, KEY, REAL_TIME, REPLICA, VALID_INPUT, running_fake
from tests.loopback import QuietHandler, serving


@pytest.fixture
def trust(authority: CertificateAuthority) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(authority.cert_path))


@pytest.fixture
def port(server_url: str) -> int:
    return int(server_url.rsplit(":", 1)[1])


def exchange(port: int, *pieces: bytes) -> bytes:
    """Send raw bytes (each piece in a packet of its own) and read the reply until the server
    closes the connection, which every caller here expects it to do."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for number, piece in enumerate(pieces):
            if number:
                time.sleep(0.05)  # apart, so the server sees them arrive apart
            sock.sendall(piece)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pytest.fail(f"the fake kept the connection open after {b''.join(chunks)!r}")
    return b"".join(chunks)


@contextlib.contextmanager
def fake_on_its_own(**server: Any) -> Iterator[int]:
    """A fake with its own `Server` options, on a free port (yields the port)."""
    sock = bind("127.0.0.1", 0)
    options = {"tls": None, "log_level": "critical", **server}
    running = Server(create_app(REAL_TIME), **options)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        running.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def via_proxy(server_url: str, trust: ssl.SSLContext) -> Iterator[httpx.Client]:
    with httpx.Client(proxy=server_url, verify=trust, headers=KEY, timeout=10) as client:
        yield client


def test_connect_to_a_fal_host_reaches_the_fake_over_tls(via_proxy: httpx.Client) -> None:
    submitted = via_proxy.post(f"https://queue.fal.run/{ENDPOINT}", json=VALID_INPUT)
    assert submitted.status_code == 200
    assert submitted.json()["status_url"].startswith(f"https://queue.fal.run/{APP}/requests/")
    status = via_proxy.get(submitted.json()["status_url"])
    assert status.status_code == 202


def test_every_fal_host_is_covered_by_the_certificate(via_proxy: httpx.Client) -> None:
    for host in ["fal.run", "rest.fal.ai", "v3.fal.media", "queue.falrun.com", "rest.alpha.fal.ai"]:
        response = via_proxy.get(f"https://{host}/nowhere")
        assert response.status_code == 404


REFUSED = "falfake only stands in for fal's hosts on port 443, not {}"


@pytest.mark.parametrize(
    ("target", "status", "detail"),
    [
        pytest.param(
            b"example.com:443", "403 Forbidden", REFUSED.format("example.com:443"), id="foreign"
        ),
        pytest.param(
            b"queue.fal.run:80", "403 Forbidden", REFUSED.format("queue.fal.run:80"), id="port-80"
        ),
        pytest.param(
            b"127.0.0.1:443", "403 Forbidden", REFUSED.format("127.0.0.1:443"), id="loopback"
        ),
        pytest.param(
            b"queue.fal.run", "400 Bad Request", "Malformed CONNECT request", id="no-port"
        ),
    ],
)
def test_connect_anywhere_else_is_refused(
    port: int, target: bytes, status: str, detail: str
) -> None:
    reply = exchange(port, b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == f"HTTP/1.1 {status}".encode()
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {"detail": detail}


def test_a_connect_head_that_never_ends_is_refused(port: int) -> None:
    endless = b"CONNECT queue.fal.run:443 HTTP/1.1\r\n" + b"X-Filler: " + b"a" * 9000
    reply = exchange(port, endless)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert json.loads(reply.partition(b"\r\n\r\n")[2]) == {"detail": "Malformed CONNECT request"}


def test_the_python_client_stack_fails_loudly_on_a_refused_tunnel(
    server_url: str, trust: ssl.SSLContext
) -> None:
    with (
        httpx.Client(proxy=server_url, verify=trust) as client,
        pytest.raises(httpx.ProxyError),
    ):
        client.get("https://example.com/")


def test_absolute_form_requests_are_answered_not_forwarded(port: int) -> None:
    request = b"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"
    reply = exchange(port, request)
    assert reply.startswith(b"HTTP/1.1 404")


def test_direct_tls_on_the_loopback_serves_the_prefixed_api(
    port: int, trust: ssl.SSLContext
) -> None:
    with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=trust, headers=KEY) as client:
        submitted = client.post(f"/queue/{ENDPOINT}", json=VALID_INPUT)
    assert submitted.json()["status_url"].startswith(f"https://127.0.0.1:{port}/queue/{APP}/")


def test_connections_that_say_nothing_do_not_stop_the_fake(port: int, server_url: str) -> None:
    for _ in range(3):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert httpx.get(f"{server_url}/nowhere").status_code == 404


@pytest.mark.parametrize(
    ("head", "target"),
    [
        (b"CONNECT queue.fal.run:443 HTTP/1.1\r\n\r\n", ("queue.fal.run", 443)),
        (b"CONNECT QUEUE.FAL.RUN:443 HTTP/1.0\r\n\r\n", ("queue.fal.run", 443)),
        (b"CONNECT [::1]:443 HTTP/1.1\r\n\r\n", ("[::1]", 443)),
        (b"CONNECT queue.fal.run HTTP/1.1\r\n\r\n", None),
        (b"CONNECT :443 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT queue.fal.run:4430000 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT queue.fal.run:443\r\n\r\n", None),
        (b"GET / HTTP/1.1\r\n\r\n", None),
        (b"GET queue.fal.run:443 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT  queue.fal.run:443 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT queue.fal.run:65535 HTTP/1.1\r\n\r\n", ("queue.fal.run", 65535)),
        (b"CONNECT queue.fal.run:443443 HTTP/1.1\r\n\r\n", None),
        (b"CONNECT queue.fal.run:44\xb2 HTTP/1.1\r\n\r\n", None),  # a digit, but not ASCII
    ],
)
def test_connect_target(head: bytes, target: tuple[str, int] | None) -> None:
    assert connect_target(head) == target


def test_a_connect_head_split_across_packets_is_read_whole(port: int) -> None:
    pieces = [b"CON", b"NECT queue.fal.run:443 HTTP/1.1\r\n", b"Host: queue.fal.run:443\r\n"]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.05)
        sock.sendall(b"\r\n")
        assert sock.recv(len(ESTABLISHED)) == ESTABLISHED


def test_a_connection_that_says_nothing_is_closed_after_the_head_timeout() -> None:
    with (
        fake_on_its_own(head_timeout_seconds=0.5) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as silent,
    ):
        # Meanwhile the fake serves everyone else.
        assert httpx.get(f"http://127.0.0.1:{port}/nowhere", timeout=30).status_code == 404
        assert silent.recv(1) == b""  # closed by the fake, not by this test's timeout


def test_without_tls_a_tunnel_is_refused_and_plain_http_goes_on() -> None:
    with fake_on_its_own(tls=None) as port:
        reply = exchange(port, b"CONNECT queue.fal.run:443 HTTP/1.1\r\n\r\n")
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
        assert json.loads(body) == {"detail": "TLS is off"}
        assert httpx.get(f"http://127.0.0.1:{port}/nowhere", timeout=30).status_code == 404


def test_a_client_hello_sent_with_the_connect_head_is_not_lost(
    port: int, trust: ssl.SSLContext
) -> None:
    # Some clients send their TLS ClientHello without waiting for the 200: the head must be read
    # to its blank line and not one byte further.
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = trust.wrap_bio(incoming, outgoing, server_hostname="queue.fal.run")
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    head = b"CONNECT queue.fal.run:443 HTTP/1.1\r\nHost: queue.fal.run:443\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:

        def pump() -> None:
            sock.sendall(outgoing.read())
            received = sock.recv(65536)
            assert received, "the fake closed the tunnel"
            incoming.write(received)

        sock.sendall(head + outgoing.read())
        reply = b""
        while not reply.endswith(b"\r\n\r\n"):
            reply += sock.recv(1)
        assert reply == ESTABLISHED
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
        tls.write(b"GET /nowhere HTTP/1.1\r\nHost: queue.fal.run\r\nConnection: close\r\n\r\n")
        answer = b""
        while not answer.startswith(b"HTTP/1.1"):
            try:
                answer += tls.read(65536)
            except ssl.SSLWantReadError:
                pump()
    assert answer.startswith(b"HTTP/1.1 401")  # the fake's own answer to a call without a key


def test_a_tunnel_that_does_not_speak_tls_is_dropped_and_the_fake_goes_on(
    port: int, server_url: str
) -> None:
    reply = exchange(port, b"CONNECT queue.fal.run:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 Connection established\r\n\r\n")
    assert httpx.get(f"{server_url}/nowhere").status_code == 404


def test_a_client_that_does_not_trust_the_ca_fails_and_the_fake_goes_on(
    port: int, server_url: str
) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"https://127.0.0.1:{port}/nowhere", verify=ssl.create_default_context())
    assert httpx.get(f"{server_url}/nowhere").status_code == 404


@pytest.fixture
def failing_tls_url() -> Iterator[tuple[str, list[int]]]:
    """A fake whose TLS context cannot be made; yields its URL and how often it was tried."""
    tries: list[int] = []

    def broken() -> ssl.SSLContext:
        tries.append(1)
        raise OSError("the CA folder is not writable")

    sock = bind("127.0.0.1", 0)
    server = Server(create_app(REAL_TIME), broken, log_level="critical")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", tries
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_tls_that_cannot_be_made_drops_tls_connections_and_plain_http_goes_on(
    failing_tls_url: tuple[str, list[int]],
) -> None:
    url, tries = failing_tls_url
    port = int(url.rsplit(":", 1)[1])
    for _ in range(2):
        reply = exchange(port, b"CONNECT queue.fal.run:443 HTTP/1.1\r\n\r\n")
        assert reply == ESTABLISHED  # and then closed: there is no TLS behind it
    status = httpx.get(f"{url}/queue/{APP}/requests/unknown/status", headers=KEY, timeout=10)
    assert status.status_code == 404
    assert len(tries) == 1  # made once, not once per connection


class Handed:
    """A protocol factory standing in for uvicorn: records the transports it is handed."""

    def __init__(self) -> None:
        self.transports: list[asyncio.Transport] = []
        self.arrived = asyncio.Event()

    def __call__(self) -> asyncio.Protocol:
        handed = self

        class Recorded(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                assert isinstance(transport, asyncio.Transport)
                handed.transports.append(transport)
                handed.arrived.set()

        return Recorded()

    async def next(self) -> asyncio.Transport:
        async with asyncio.timeout(10):
            await self.arrived.wait()
        self.arrived.clear()
        return self.transports[-1]


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = bind("127.0.0.1", 0)
    yield sock
    sock.close()


@contextlib.asynccontextmanager
async def door_on(sock: socket.socket, handed: Handed) -> AsyncIterator[FrontDoor]:
    door = FrontDoor(sock, handed, None)
    door.start()
    try:
        yield door
    finally:
        door.close()
        async with asyncio.timeout(10):
            await door.wait_closed()


def plain_client(sock: socket.socket) -> socket.socket:
    client = socket.create_connection(sock.getsockname(), timeout=10)
    client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    return client


@pytest.mark.anyio
async def test_the_door_never_blocks_the_event_loop_while_it_waits(
    listening: socket.socket,
) -> None:
    async with door_on(listening, Handed()):
        assert listening.getblocking() is False


@pytest.mark.anyio
async def test_a_connection_is_handed_over_with_small_replies_sent_at_once(
    listening: socket.socket,
) -> None:
    handed = Handed()
    async with door_on(listening, handed) as door:
        with plain_client(listening):
            transport = await handed.next()
            accepted = transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            async with asyncio.timeout(10):  # an admission is forgotten once it is over
                while door._tasks:
                    await asyncio.sleep(0)


@pytest.mark.anyio
async def test_a_failed_accept_is_logged_and_the_door_keeps_serving(
    listening: socket.socket, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    real_accept = loop.sock_accept
    failures = [OSError(errno.EMFILE, "Too many open files")]

    async def accept(sock: socket.socket) -> tuple[socket.socket, Any]:
        if failures:
            raise failures.pop()
        return await real_accept(sock)

    monkeypatch.setattr(loop, "sock_accept", accept)
    handed = Handed()
    with caplog.at_level(logging.WARNING, logger="falfake"):
        async with door_on(listening, handed):
            with plain_client(listening):
                await handed.next()
    assert [r.getMessage() for r in caplog.records] == [
        "accept failed: OSError(24, 'Too many open files')"
    ]


@pytest.mark.anyio
async def test_a_door_closed_before_it_opened_closes_cleanly(listening: socket.socket) -> None:
    door = FrontDoor(listening, Handed(), None)
    door.close()
    await door.wait_closed()


@pytest.mark.anyio
async def test_closing_waits_for_connections_still_saying_what_they_are(
    listening: socket.socket,
) -> None:
    door = FrontDoor(listening, Handed(), None)
    door.start()
    with socket.create_connection(listening.getsockname(), timeout=10) as silent:
        async with asyncio.timeout(10):
            while not door._tasks:
                await asyncio.sleep(0.01)
            door.close()
            await door.wait_closed()
        # Closed by the fake before wait_closed returned, not some time later.
        assert silent.recv(1, socket.MSG_DONTWAIT) == b""


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(the fake's end, the client's end) of a connection."""
    fake, client = socket.socketpair()
    fake.setblocking(False)
    client.settimeout(10)
    with fake, client:
        yield fake, client


@pytest.mark.anyio
async def test_a_refusal_is_sent_then_the_rest_of_the_request_is_read_and_dropped(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    fake, client = pair
    client.sendall(b"the rest of a refused request" * 1000)
    client.shutdown(socket.SHUT_WR)
    await _refuse(fake, b"HTTP/1.1 403 Forbidden\r\n\r\n")
    assert fake.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""  # all read, up to the end
    assert client.recv(100) == b"HTTP/1.1 403 Forbidden\r\n\r\n"
    assert client.recv(1) == b""  # the fake said it is done writing


@pytest.mark.anyio
async def test_a_refusal_reads_at_most_so_many_bytes(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, client = pair
    monkeypatch.setattr(front_door, "_LINGER_BYTES", 100_000)
    monkeypatch.setattr(front_door, "_LINGER_SECONDS", 60.0)
    sender = threading.Thread(target=client.sendall, args=(b"x" * 150_000,), daemon=True)
    sender.start()
    async with asyncio.timeout(10):  # the byte bound ends it, not the 60 s
        await _refuse(fake, b"reply")
    sender.join(timeout=10)
    assert fake.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)  # the rest was left unread


@pytest.mark.anyio
async def test_a_refusal_stops_reading_a_client_that_goes_quiet(
    pair: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, client = pair
    monkeypatch.setattr(front_door, "_LINGER_SECONDS", 0.2)
    client.sendall(b"some of the rest")
    async with asyncio.timeout(10):
        await _refuse(fake, b"reply")
    assert client.recv(100) == b"reply"


@pytest.fixture
def tunnels() -> list[tuple[str, int, int]]:
    """What the pass-through reported: (host, port, status) of each tunnel asked for."""
    return []


@pytest.fixture
def passing(tunnels: list[tuple[str, int, int]], authority: CertificateAuthority) -> Iterator[int]:
    """A fake that passes other hosts through, on a free port."""
    through = PassThrough(opened=lambda host, port, status, _: tunnels.append((host, port, status)))
    with fake_on_its_own(tls=authority.server_context, pass_through=through) as fake_port:
        yield fake_port


@pytest.fixture
def foreign_https(tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    """An HTTPS server on the loopback whose certificate comes from another CA than the fake's:
    a client that trusts only that CA can talk to it only if nothing in between decrypts."""
    other = CertificateAuthority(tmp_path / "other-ca").ensure()
    with running_fake(REAL_TIME, other) as url:
        yield (
            url.replace("http://", "https://"),
            ssl.create_default_context(cafile=str(other.cert_path)),
        )


def test_other_https_hosts_pass_through_untouched(
    passing: int,
    foreign_https: tuple[str, ssl.SSLContext],
    tunnels: list[tuple[str, int, int]],
) -> None:
    url, trust_other = foreign_https
    with httpx.Client(proxy=f"http://127.0.0.1:{passing}", verify=trust_other) as client:
        response = client.get(f"{url}/_falfake/health")
    assert response.json() == {"status": "ok", "storage": "memory", "replica": REPLICA}
    assert tunnels == [("127.0.0.1", int(url.rsplit(":", 1)[1]), 200)]


def test_a_passed_through_tunnel_carries_bytes_both_ways(passing: int) -> None:
    class Echo(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[::-1])

    payload = bytes(range(256)) * 1000
    with serving(Echo) as url:
        target = url.removeprefix("http://").encode()
        request = b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        request += b"Content-Length: %d\r\n\r\n" % len(payload) + payload
        reply = exchange(passing, b"CONNECT " + target + b" HTTP/1.1\r\n\r\n", request)
    assert reply.startswith(ESTABLISHED + b"HTTP/1.0 200 OK\r\n")
    assert reply.endswith(b"\r\n\r\n" + payload[::-1])


def test_a_host_that_cannot_be_reached_is_a_502(
    passing: int, tunnels: list[tuple[str, int, int]]
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = closed.getsockname()[1]
    reply = exchange(passing, b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % nowhere)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert json.loads(body)["detail"].startswith(f"falfake could not reach 127.0.0.1:{nowhere}")
    assert tunnels == [("127.0.0.1", nowhere, 502)]


@pytest.mark.parametrize(
    "target", [b"a..b:443", b"x" * 70 + b".example:443", b"[::1:443", b"127.0.0.1:0"]
)
def test_a_name_that_cannot_be_a_host_is_a_502_too(
    passing: int, tunnels: list[tuple[str, int, int]], target: bytes
) -> None:
    reply = exchange(passing, b"CONNECT " + target + b" HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 502 Bad Gateway\r\n")
    assert [status for _, _, status in tunnels] == [502]


def test_fal_hosts_are_still_answered_by_the_fake_when_passing_through(
    passing: int, trust: ssl.SSLContext, tunnels: list[tuple[str, int, int]]
) -> None:
    with httpx.Client(proxy=f"http://127.0.0.1:{passing}", verify=trust, headers=KEY) as client:
        assert client.post(f"https://queue.fal.run/{ENDPOINT}", json=VALID_INPUT).status_code == 200
    reply = exchange(passing, b"CONNECT queue.fal.run:80 HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert tunnels == []


class _Peer:
    def __init__(self, address: str) -> None:
        self.address = address

    def getpeername(self) -> tuple[str, int]:
        return self.address, 40000


@pytest.mark.parametrize(
    ("peer", "remote_clients", "passes"),
    [
        ("127.0.0.1", False, True),
        ("::1", False, True),
        ("10.0.0.5", False, False),
        ("192.168.1.9", False, False),
        ("10.0.0.5", True, True),
    ],
)
def test_only_loopback_clients_are_passed_through_unless_asked(
    peer: str, remote_clients: bool, passes: bool
) -> None:
    through = PassThrough(opened=lambda *_: None, remote_clients=remote_clients)
    with socket.socket() as unused:
        door = FrontDoor(unused, lambda: asyncio.Protocol(), None, pass_through=through)
        assert (door._passing(_Peer(peer)) is through) is passes  # type: ignore[arg-type]
