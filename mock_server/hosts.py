"""One app for every way of reaching the fake: by fal's host names, or by path prefix on 127.0.0.1.

A request whose `Host` is one of fal's (through the CONNECT proxy or a hosts-file entry) gets the
service prefix prepended to its path: `queue.fal.run/google/...` is served as `/queue/google/...`.
Direct callers use the prefixes themselves: `/queue`, `/run`, `/rest`, `/cdn`, and `/files`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.errors import BadRequest, fal_error_response

FAL_HOSTS: Mapping[str, str] = {
    "queue.fal.run": "queue",
    "queue.falrun.com": "queue",
    "fal.run": "run",
    "falrun.com": "run",
    "rest.fal.ai": "rest",
    "rest.alpha.fal.ai": "rest",
    "v3.fal.media": "cdn",
    "v3b.fal.media": "cdn",
    "fal.media": "cdn",
}
_HOST_ROUTED = "falfake.host_routed"
_VALID_HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class HostRouter:
    """ASGI middleware: route fal's host names to the service prefixes; 400 for a bad `Host`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host")
        if host is not None and _VALID_HOST.fullmatch(host) is None:
            response = fal_error_response(BadRequest("Invalid Host header"))
            await response(scope, receive, send)
            return
        service = FAL_HOSTS.get(_host_name(host)) if host else None
        if service is not None:
            scope = dict(scope)
            scope["path"] = f"/{service}{scope['path']}"
            scope["raw_path"] = f"/{service}".encode() + scope.get("raw_path", b"")
            scope[_HOST_ROUTED] = True
        await self.app(scope, receive, send)


def _host_name(host: str) -> str:
    return host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host


def service_root(request: Request, service: str) -> str:
    """Where the caller reached `service`: `https://queue.fal.run`, or `http://127.0.0.1:8000/queue`."""
    base = str(request.base_url).rstrip("/")
    return base if request.scope.get(_HOST_ROUTED) else f"{base}/{service}"


def media_root(request: Request, public_url: str | None) -> str:
    """Base of file URLs: always this server directly, since clients fetch media without proxies."""
    if public_url is not None:
        return public_url.rstrip("/")
    if not request.scope.get(_HOST_ROUTED):
        return str(request.base_url).rstrip("/")
    server = request.scope.get("server") or ("127.0.0.1", 80)
    return f"http://{server[0]}:{server[1]}"
