"""What the route modules share: the key check in front of fal's authenticated hosts."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.auth import check_authorization
from mock_server.settings import Auth


class RequireKey:
    """ASGI middleware: fal's 401/403 before any route of the mount runs."""

    def __init__(self, app: ASGIApp, auth: Auth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            check_authorization(Headers(scope=scope).get("authorization"), self.auth)
        await self.app(scope, receive, send)
