"""One app for every way of reaching the fake: fal's host names, the JS proxy, or path prefixes.

A request whose `Host` is one of fal's (through the CONNECT tunnel) gets its service's prefix
prepended: `queue.fal.run/google/...` is served as `/queue/google/...`. The JS client's proxy
protocol (`/fal/proxy` with `x-fal-target-url`, PROTOCOL.md §17.3) is turned into the same thing.
Direct callers use the prefixes themselves: `/queue`, `/run`, `/rest`, `/cdn`, plus `/files` and
`/uploads` for media.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

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
CANONICAL_HOSTS: Mapping[str, str] = {
    "queue": "queue.fal.run",
    "run": "fal.run",
    "rest": "rest.fal.ai",
    "cdn": "v3.fal.media",
}
JS_PROXY_PATH = "/fal/proxy"
TARGET_URL_HEADER = "x-fal-target-url"
_HOST_ROUTED = "falfake.host_routed"
_DIRECT_ROOT = "falfake.direct_root"
_VALID_HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class HostRouter:
    """ASGI middleware: route fal's hosts and JS-proxied requests to the service prefixes."""

    def __init__(self, app: ASGIApp, proxy_key: str) -> None:
        self.app = app
        self.proxy_key = proxy_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host")
        if host is not None and _VALID_HOST.fullmatch(host) is None:
            await fal_error_response(BadRequest("Invalid Host header"))(scope, receive, send)
            return
        if scope["path"] == JS_PROXY_PATH:
            proxied = self._unproxy(scope, host)
            if proxied is None:
                # What fal's own server proxy answers for a missing or foreign target.
                response = fal_error_response(BadRequest("Invalid request"))
                await response(scope, receive, send)
                return
            scope = proxied
        elif host is not None and _host_name(host) in FAL_HOSTS:
            raw_path = scope.get("raw_path") or scope["path"].encode()
            scope = _routed(scope, FAL_HOSTS[_host_name(host)], scope["path"], raw_path)
        await self.app(scope, receive, send)

    def _unproxy(self, scope: Scope, host: str | None) -> Scope | None:
        """The scope the proxied request would have had on fal's host; None for a bad target."""
        headers = Headers(scope=scope)
        target = urlsplit(headers.get(TARGET_URL_HEADER, ""))
        name = (target.hostname or "").lower()
        try:
            port = target.port
        except ValueError:
            return None
        if target.scheme != "https" or name not in FAL_HOSTS or port not in (None, 443):
            return None
        kept = [
            (key, value)
            for key, value in scope["headers"]
            if key not in (b"host", TARGET_URL_HEADER.encode())
        ]
        kept.append((b"host", name.encode()))
        if "authorization" not in headers:
            # Like fal's server-side proxy, which adds the key it holds to browser requests.
            kept.append((b"authorization", f"Key {self.proxy_key}".encode()))
        scheme = scope.get("scheme", "http")
        raw_path = (target.path or "/").encode("latin-1", errors="replace")
        proxied = _routed(scope, FAL_HOSTS[name], unquote(target.path) or "/", raw_path)
        proxied.update(headers=kept, query_string=target.query.encode("latin-1"))
        if host is not None:
            proxied[_DIRECT_ROOT] = f"{scheme}://{host}"
        return proxied


def _routed(scope: Scope, service: str, path: str, raw_path: bytes) -> Scope:
    routed = dict(scope)
    routed["path"] = f"/{service}{path}"
    routed["raw_path"] = f"/{service}".encode() + raw_path
    routed[_HOST_ROUTED] = True
    return routed


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (IPv6 with or without brackets); no DNS lookup."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    return host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host


def service_root(request: Request, service: str) -> str:
    """Where callers reach `service`: as this caller did (`https://queue.fal.run`), or by prefix."""
    if request.scope.get(_HOST_ROUTED):
        host = request.headers.get("host", "")
        if FAL_HOSTS.get(_host_name(host)) != service:
            host = CANONICAL_HOSTS[service]
        return f"https://{host}"
    return f"{str(request.base_url).rstrip('/')}/{service}"


def media_root(request: Request, public_url: str | None) -> str:
    """Base of file and upload URLs: this server directly, since clients fetch media unproxied."""
    if public_url is not None:
        return public_url.rstrip("/")
    if not request.scope.get(_HOST_ROUTED):
        return str(request.base_url).rstrip("/")
    direct_root: str | None = request.scope.get(_DIRECT_ROOT)
    if direct_root is not None:
        return direct_root
    server = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{server[0]}]" if ":" in str(server[0]) else server[0]
    return f"http://{host}:{server[1]}"
