"""The fake as a test holds it: the handle both fixtures give and the two ways of starting one.

`falfake.pytest_plugin` loads this module only when a test asks for a fixture, so a user's test
run that does not use falfake pays nothing for it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from falfake.app import create_app
from falfake.clock import Clock, ManualClock, SystemClock
from falfake.commandline import environment
from falfake.fake import Fake
from falfake.harness.journal import JournalEntry
from falfake.harness.scenarios import Scenario
from falfake.hosts import FAL_HOSTS
from falfake.http.scenario_runner import ConnectionDropped
from falfake.queue.models import Snapshot
from falfake.queue.stubs import BYTES, FILE
from falfake.runtime.front_door import journaled
from falfake.runtime.server import Server, bind
from falfake.runtime.tls import CertificateAuthority
from falfake.settings import Settings, Timing

MEDIA_ROOT = "https://v3b.fal.media"
TEST_KEY = "falfake-test-key"
_START_SECONDS = 30.0


class Falfake:
    """One fake for one test, and the knobs a test turns."""

    def __init__(self, app: Any, base_url: str, call: Callable[..., Any]) -> None:
        """`call(async_function, *args)` runs it on the loop the fake serves from."""
        self.app = app
        self.base_url = base_url
        self.fake: Fake = app.state.fake
        self._call = call

    @property
    def clock(self) -> Clock:
        return self.fake.clock

    def scenario(self, **fields: Any) -> int:
        """Add a `Scenario` (its fields as keywords); returns its id."""
        scenario_id: int = self._call(self.fake.scenarios.add, Scenario(**fields))
        return scenario_id

    def scenarios(self) -> list[dict[str, Any]]:
        """The active scenarios as the control API lists them, with their counts."""
        listed: list[dict[str, Any]] = self._call(self.fake.scenarios.listed)
        return listed

    @staticmethod
    def file(
        source: bytes | str | Path, content_type: str | None = None, file_name: str | None = None
    ) -> dict[str, Any]:
        """A file for a scenario's `output` or `output_fields`, from bytes or a local path: the
        fake serves it at its own URL, like the files it renders."""
        marker: dict[str, Any] = (
            {BYTES: base64.b64encode(source).decode()}
            if isinstance(source, bytes)
            else {FILE: str(source)}
        )
        if content_type is not None:
            marker["content_type"] = content_type
        if file_name is not None:
            marker["file_name"] = file_name
        return marker

    def rate_limited(
        self, times: int = 1, operation: str = "submit", retry_after: float = 0
    ) -> int:
        """The next `times` calls of `operation` get fal's 429."""
        return self.scenario(
            operation=operation,
            status=429,
            error_type="rate_limited",
            retry_after=retry_after,
            times=times,
        )

    def failing(self, status: int, error_type: str | None = None, **match: Any) -> int:
        """Calls (all, or those `match` selects) get a fal error with this status and type."""
        return self.scenario(status=status, error_type=error_type, **match)

    def flagged(self, stage: str = "prompt", **match: Any) -> int:
        """Submits and runs are rejected by the safety filter at `stage` (prompt, image, output)."""
        return self.scenario(content_policy=(stage,), **match)

    def requests(self, **filters: str | None) -> list[JournalEntry]:
        """What the fake received (filters: method, path substring, host)."""
        entries: list[JournalEntry] = self._call(
            functools.partial(self.fake.journal.entries, **filters)
        )
        return entries

    def advance(self, seconds: float) -> float:
        now: float = self._call(self.fake.advance, seconds)
        return now

    def run_until(self, request_id: str, status: str = "COMPLETED") -> Snapshot:
        snapshot: Snapshot = self._call(self.fake.run_until, request_id, status)
        return snapshot

    def reset(self) -> None:
        self._call(self.fake.reset)


class InProcessFalfake(Falfake):
    """The `falfake` fixture's handle: answers intercepted requests through the ASGI app."""

    def __init__(self, app: Any, portal: BlockingPortal, clock: ManualClock) -> None:
        super().__init__(app, MEDIA_ROOT, portal.call)
        self.portal = portal
        self._manual_clock = clock
        self.auto_advance = True
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))

    def handle(self, request: httpx.Request) -> httpx.Response:
        """respx side effect: the fake's answer to `request` (any thread, sync or async code)."""
        if self.auto_advance and request.method == "GET" and request.url.path.endswith("/status"):
            moment = self.portal.call(self.fake.store.next_event_time)
            if moment is not None:
                self._manual_clock.set(moment)
        try:
            return self.portal.call(self._send, request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None

    async def _send(self, request: httpx.Request) -> httpx.Response:
        content = request.content
        response = await self._client.request(
            request.method, request.url, headers=request.headers, content=content
        )
        await self.fake.webhooks.dispatch_due()
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )


def in_process_settings() -> Settings:
    return Settings(
        timing=Timing(queue_seconds=1.0, run_seconds=2.0, runners=4),
        video_width=160,
        video_height=90,
        public_url=MEDIA_ROOT,
    )


@contextlib.contextmanager
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessFalfake]:
    """falfake in this process, answering every httpx call to fal's hosts."""
    monkeypatch.setenv("FAL_KEY", TEST_KEY)  # nothing reaches fal, so no real key is needed
    clock = ManualClock()
    app = create_app(in_process_settings(), clock=clock)
    with start_blocking_portal() as portal:
        handle = InProcessFalfake(app, portal, clock)
        with respx.mock(assert_all_called=False) as router:
            for host in FAL_HOSTS:
                router.route(host=host).mock(side_effect=handle.handle)
            router.route().pass_through()
            yield handle
        portal.call(handle._client.aclose)


@contextlib.contextmanager
def served(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Falfake]:
    """A real falfake on a free loopback port, with the official clients' environment set."""
    folder: Path = tmp_path_factory.mktemp("falfake-ca")
    authority = CertificateAuthority(folder).ensure()
    settings = Settings(timing=Timing(0.05, 0.2, 4), video_width=160, video_height=90)
    app = create_app(settings, clock=SystemClock())
    sock = bind("127.0.0.1", 0)
    # The app under test may call other HTTPS hosts through HTTPS_PROXY too: they pass.
    through = journaled(app.state.fake.journal, app.state.fake.clock.now)
    server = Server(app, authority.server_context, log_level="warning", pass_through=through)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    node_options = os.environ.get("NODE_OPTIONS", "")
    # What `falfake env` exports: every usual HTTP stack, Node's fetch and WebSocket included.
    for name, value in environment.variables(
        base_url, authority.bundle_path, TEST_KEY, node_options
    ).items():
        monkeypatch.setenv(name, value)
    try:
        yield Falfake(app, base_url, functools.partial(_on_loop, server))
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def _on_loop(server: Server, function: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
    """Run `function(*args)` on the loop of `server`, started in its thread, and wait."""
    if not server.ready.wait(_START_SECONDS) or server.loop is None:
        raise RuntimeError("the fake's server did not start")
    return asyncio.run_coroutine_threadsafe(function(*args), server.loop).result()
