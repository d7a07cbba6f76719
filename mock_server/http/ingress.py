"""The one pass every request makes before its route: journal, fal's hosts, scenarios, the key.

A single ASGI middleware rather than a stack of four, so a status poll pays for one layer: the
request is recorded with its reply (outside everything else, so refusals are journaled too),
routed from fal's host names or the JS proxy to its service prefix, matched against the
scenarios, and checked for fal's key in front of the keyed services, in that order. It runs
outside Starlette's exception handling, so the errors it finds go to the one renderer directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from falfake.errors import FalError
from falfake.harness.journal import CONTROL_PREFIX, JournalBook
from falfake.harness.scenarios import ScenarioBook
from falfake.http.auth import check_authorization, check_control_authorization
from falfake.http.recording import Recording
from falfake.http.render import fal_error_response
from falfake.http.scenario_runner import ScenarioRunner
from falfake.http.urls import header, route_scope
from falfake.realtime.tokens import alias_of
from falfake.settings import Auth

# The services behind fal's key; the JWKS is public on fal's REST host too.
KEYED_PREFIXES = ("/queue/", "/run/", "/rest/")
OPEN_PATHS = frozenset({"/rest/.well-known/jwks.json"})
# What a load balancer asks for without a key.
HEALTH_PATH = f"{CONTROL_PREFIX}/health"
# A temporary token (`rest.fal.ai/tokens/`) stands in for the key on fal.run (STREAMING.md §1.2).
TOKEN_PARAMETER = "fal_jwt_token"
# A WebSocket close for a refused upgrade (`--realtime-refusal close`): its code, and the most a
# close frame's reason may hold (123 bytes of UTF-8).
_POLICY_VIOLATION = 1008
_MOST_REASON_BYTES = 123


class Ingress:
    def __init__(
        self,
        app: ASGIApp,
        *,
        journal: JournalBook,
        clock: Callable[[], float],
        auth: Auth,
        scenarios: ScenarioBook,
        new_id: Callable[[], str],
        check_token: Callable[[str, str], None],
        pull_clock: Callable[[], Awaitable[None]] | None = None,
        socket_refusal: Literal["http", "close"] = "http",
    ) -> None:
        """`check_token(token, app_alias)` raises fal's 401 for a temporary token that does not
        let a call to fal.run through; `pull_clock`, for a clock replicas share: take the
        fleet's time before answering; `socket_refusal`, how a WebSocket upgrade is refused."""
        self.app, self.journal, self.clock, self.auth = app, journal, clock, auth
        self.check_token, self.socket_refusal = check_token, socket_refusal
        self.pull_clock = pull_clock
        self.proxy_key = auth.effective_proxy_key
        self.scenarios = scenarios
        self.with_scenarios = ScenarioRunner(self._keyed, scenarios, new_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.pull_clock is not None:
            try:
                await self.pull_clock()
            except FalError as exc:
                await fal_error_response(exc)(scope, receive, send)
                return
        if scope["path"].startswith(CONTROL_PREFIX):
            if self.auth.control_keys_only and scope["path"] != HEALTH_PATH:
                try:
                    check_control_authorization(header(scope, b"authorization"), self.auth)
                except FalError as exc:
                    await fal_error_response(exc)(scope, receive, send)
                    return
            await self._routed(scope, receive, send)
            return
        recording = Recording(self.journal, scope, self.clock())
        try:
            await self._routed(scope, recording.receive(receive), recording.send(send))
        finally:
            recording.finish()

    async def _routed(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            scope = route_scope(scope, self.proxy_key)
            if self.scenarios:
                app: ASGIApp = self.with_scenarios  # it checks the key once a scenario lets go
            else:
                self._check_key(scope)
                app = self.app
        except FalError as exc:
            await fal_error_response(exc)(scope, receive, send)
            return
        await app(scope, receive, send)

    async def _keyed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """What comes after a scenario let the request through."""
        try:
            self._check_key(scope)
        except FalError as exc:
            await fal_error_response(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket upgrade: journaled, routed and keyed like a request; refused with fal's
        JSON error as the handshake's HTTP reply (or a close, as `socket_refusal` says)."""
        recording = Recording(self.journal, scope, self.clock())
        try:
            await self._socket(scope, receive, recording.send(send))
        finally:
            recording.finish()

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.pull_clock is not None:
                await self.pull_clock()
            scope = route_scope(scope, self.proxy_key)
            self._check_key(scope)
        except FalError as exc:
            socket = WebSocket(scope, receive, send)
            if self.socket_refusal == "close":
                await socket.accept()
                reason = exc.message().encode()[:_MOST_REASON_BYTES].decode("utf-8", "ignore")
                await socket.close(_POLICY_VIOLATION, reason)
            else:
                await socket.send_denial_response(fal_error_response(exc))
            return
        await self.app(scope, receive, send)

    def _check_key(self, scope: Scope) -> None:
        path: str = scope["path"]
        if not path.startswith(KEYED_PREFIXES) or path in OPEN_PATHS:
            return
        authorization = header(scope, b"authorization")
        if not (authorization or "").strip() and path.startswith("/run/"):
            token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(TOKEN_PARAMETER)
            if token:
                self.check_token(token[0], alias_of(path.removeprefix("/run/")))
                return
        check_authorization(authorization, self.auth)
