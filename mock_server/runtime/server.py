"""Running the app under uvicorn behind the front door, on a socket bound first (port 0 works).

uvicorn picks its fastest parts where they can be had: httptools for HTTP/1.1 and uvloop for the
event loop, with h11 and asyncio as the pure-Python fallbacks.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import socket
import ssl
import threading
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp

from falfake.runtime.batched_writes import batching
from falfake.runtime.collector import collect_on_the_loop
from falfake.runtime.front_door import (
    HEAD_TIMEOUT_SECONDS,
    FrontDoor,
    LazyTls,
    PassThrough,
)

# Loaded after start rather than at import, so the fake answers sooner; loaded in the background
# right away, so the first submit does not wait for pydantic either.
_LOADED_AFTER_START = ("falfake.contracts.reference_to_video", "falfake.http.bodies")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one (read it back with `getsockname`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


class Server(uvicorn.Server):
    """uvicorn, with connections accepted by a `FrontDoor` instead of `loop.create_server`."""

    def __init__(
        self,
        app: ASGIApp,
        tls: Callable[[], ssl.SSLContext] | None,
        *,
        log_level: str,
        head_timeout_seconds: float = HEAD_TIMEOUT_SECONDS,
        owns_process: bool = False,
        pass_through: PassThrough | None = None,
    ) -> None:
        """`tls` makes the context for CONNECT tunnels and direct TLS; it runs once, in a worker
        thread, when the first such connection arrives (plain HTTP never waits for it).

        `owns_process` (`falfake serve`, not a fixture inside someone's test run) lets it tune
        the process-wide garbage collector once started. `pass_through` tunnels CONNECTs to other
        hosts instead of refusing them."""
        config = uvicorn.Config(
            app,
            http="auto",
            loop="auto",
            lifespan="on",
            log_level=log_level,
            timeout_graceful_shutdown=1,
            # A line per request costs more than the request below `info`, where none is shown;
            # the journal records every request anyway.
            access_log=log_level in ("info", "debug", "trace"),
            # Nothing stands in front of the fake: a client's X-Forwarded-* headers are not
            # addresses to believe (`--public-url` says where media is reached).
            proxy_headers=False,
        )
        super().__init__(config)
        self.loop: asyncio.AbstractEventLoop | None = None  # the one it serves on, once started
        self.ready = threading.Event()  # set once it serves (for a thread that drives it)
        self._tls = None if tls is None else LazyTls(tls)
        self._head_timeout = head_timeout_seconds
        self._owns_process = owns_process
        self._pass_through = pass_through
        self._collector: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:
            raise ValueError("falfake's server needs a bound socket; see `bind`")
        config = self.config
        self.loop = asyncio.get_running_loop()
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            raise RuntimeError("the app failed to start")
        settled = threading.Event()
        settle = functools.partial(_settle, settled, freeze=self._owns_process)
        threading.Thread(target=settle, name="falfake-settle", daemon=True).start()
        if self._owns_process:
            self._collector = self.loop.create_task(collect_on_the_loop(settled))

        protocol_class = batching(config.http_protocol_class)

        def create_protocol() -> asyncio.Protocol:
            # uvicorn types its protocol class as a bare asyncio.Protocol, whose constructor
            # takes nothing; its HTTP protocols take these three.
            protocol: asyncio.Protocol = protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state
            )
            return protocol

        doors = [
            FrontDoor(
                sock,
                create_protocol,
                self._tls,
                head_timeout_seconds=self._head_timeout,
                pass_through=self._pass_through,
            )
            for sock in sockets
        ]
        for door in doors:
            door.start()
        # uvicorn only calls close() and wait_closed() on its servers.
        self.servers = doors  # type: ignore[assignment]
        self.started = True
        self.ready.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._collector is not None:
            self._collector.cancel()
        await super().shutdown(sockets)


def _settle(settled: threading.Event, *, freeze: bool) -> None:
    """Load what the first requests need; with `freeze`, freeze what start-up made.

    Modules, classes and schemas live as long as the process; frozen, no collection walks them
    (`falfake.runtime.collector` collects the rest on the loop's clock).
    """
    for name in _LOADED_AFTER_START:
        importlib.import_module(name)
    if freeze:
        gc.collect()
        gc.freeze()
    settled.set()
