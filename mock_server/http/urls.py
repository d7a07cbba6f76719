"""One app for every way of reaching the fake: fal's host names, the JS proxy, or path prefixes.

A request whose `Host` is one of fal's (through the CONNECT tunnel) gets its service's prefix
prepended: `queue.fal.run/google/...` is served as `/queue/google/...`. The JS client's proxy
protocol (`/fal/proxy` with `x-fal-target-url`, PROTOCOL.md §17.3) is turned into the same thing.
Direct callers use the prefixes themselves: `/queue`, `/run`, `/rest`, `/cdn`, plus `/files` and
`/uploads` for media.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import Scope

from falfake.errors import BadRequest
from falfake.hosts import CANONICAL_HOSTS, FAL_HOSTS, host_name, split_url

JS_PROXY_PATH = "/fal/proxy"
TARGET_URL_HEADER = "x-fal-target-url"
_HOST_ROUTED = "falfake.host_routed"
_DIRECT_ROOT = "falfake.direct_root"
_ORIGIN = "falfake.origin"  # scheme://host as a direct caller reached the fake
_DEFAULT_PORTS = {"http": 80, "https": 443}
_VALID_HOST = re.compile(r"(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def route_scope(scope: Scope, proxy_key: str) -> Scope:
    """The scope as the routes see it: fal's hosts and JS-proxied requests under their service
    prefix, with where the caller reached the fake; BadRequest for a bad Host or proxy target."""
    host = header(scope, b"host")
    if host is not None and _VALID_HOST.fullmatch(host) is None:
        raise BadRequest("Invalid Host header")
    if scope["path"] == JS_PROXY_PATH:
        proxied = _unproxy(scope, host, proxy_key)
        if proxied is None:
            # What fal's own server proxy answers for a missing or foreign target.
            raise BadRequest("Invalid request")
        scope = proxied
    elif host is not None and host_name(host) in FAL_HOSTS:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        scope = _routed(scope, FAL_HOSTS[host_name(host)], scope["path"], raw_path)
    else:
        scope[_ORIGIN] = _origin(scope, host)  # this request's own scope: no copy needed
    return scope


def _unproxy(scope: Scope, host: str | None, proxy_key: str) -> Scope | None:
    """The scope the proxied request would have had on fal's host; None for a bad target."""
    split = split_url(header(scope, TARGET_URL_HEADER.encode()) or "")
    if split is None:
        return None
    target, name = split
    if target.scheme != "https" or name not in FAL_HOSTS or target.port not in (None, 443):
        return None
    kept = [
        (key, value)
        for key, value in scope["headers"]
        if key not in (b"host", TARGET_URL_HEADER.encode())
    ]
    kept.append((b"host", name.encode()))
    if header(scope, b"authorization") is None:
        # Like fal's server-side proxy, which adds the key it holds to browser requests.
        kept.append((b"authorization", f"Key {proxy_key}".encode()))
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


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower case), read straight from the ASGI scope."""
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _origin(scope: Scope, host: str | None) -> str:
    """`scheme://host` as Starlette's `request.base_url` has it, without building a URL."""
    scheme = scope.get("scheme", "http")
    if host:
        return f"{scheme}://{host}"
    server = scope.get("server")
    if server is None:
        return ""
    name, port = server
    if port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{name}"
    return f"{scheme}://{name}:{port}"


def service_root(request: Request, service: str) -> str:
    """Where callers reach `service`: as this caller did (`https://queue.fal.run`), or by prefix."""
    if request.scope.get(_HOST_ROUTED):
        host = request.headers.get("host", "")
        if FAL_HOSTS.get(host_name(host)) != service:
            host = CANONICAL_HOSTS[service]
        return f"https://{host}"
    return f"{_own_origin(request)}/{service}"


def _own_origin(request: Request) -> str:
    origin: str | None = request.scope.get(_ORIGIN)
    return str(request.base_url).rstrip("/") if origin is None else origin


def media_root(request: Request, public_url: str | None) -> str:
    """Base of file and upload URLs: this server directly, since clients fetch media unproxied."""
    if public_url is not None:
        return public_url.rstrip("/")
    if not request.scope.get(_HOST_ROUTED):
        return _own_origin(request)
    direct_root: str | None = request.scope.get(_DIRECT_ROOT)
    if direct_root is not None:
        return direct_root
    server = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{server[0]}]" if ":" in str(server[0]) else server[0]
    return f"http://{host}:{server[1]}"
