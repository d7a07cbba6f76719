"""Small HTTP servers on 127.0.0.1 for tests and tools: image hosts and webhook receivers."""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import threading
from collections.abc import Iterator
from typing import Any


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that does not log each request to stderr."""

    def log_message(self, *_: Any) -> None:
        pass


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free loopback port from a thread; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclasses.dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Records every POST; answers each path from a script (status codes, or "hang")."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.scripts: dict[str, list[int | str]] = {}
        self.lock = threading.Lock()
        # "hang" and "held N" wait for this, so a test decides when (or whether) they answer.
        self.release = threading.Event()

    def answer(self, path: str) -> int | str:
        with self.lock:
            script = self.scripts.get(path, [200])
            return script.pop(0) if len(script) > 1 else script[0]


@contextlib.contextmanager
def receiving() -> Iterator[tuple[Receiver, str]]:
    """A webhook receiver on a free loopback port: its state and base URL. Paths answer 200
    unless `scripts` says otherwise; the last status of a script repeats."""
    state = Receiver()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.deliveries.append(Delivery(self.path, dict(self.headers), body))
            answer = state.answer(self.path)
            if answer == "hang":
                state.release.wait(timeout=60)
                return
            if isinstance(answer, str) and answer.startswith("held "):
                state.release.wait(timeout=60)
                answer = int(answer.split()[1])
            self.send_response(int(answer))
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as url:
        yield state, url
        state.release.set()


def received(state: Receiver, request_id: str) -> list[Delivery]:
    """What `state` received for one request, by fal's `X-Fal-Webhook-Request-Id`."""
    with state.lock:
        return [d for d in state.deliveries if d.headers["X-Fal-Webhook-Request-Id"] == request_id]
