"""Where an upstream call goes, and how its replies' URLs come back to the fake (issue 33).

The fake's path layout names each of fal's services by a prefix (`/queue`, `/run`, `/rest`, `/cdn`,
plus `/files` and `/uploads` for media); an upstream is either fal itself (each service on its
own host) or a server with the same layout at a base URL (a second falfake, in the tests). Only
these services are forwarded, so upstream mode reaches nothing but fal or the URL the user named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from falfake.hosts import CANONICAL_HOSTS
from falfake.settings import FAL_UPSTREAM as FAL
from falfake.settings import Upstream

# The services forwarded, by the prefix of the fake's layout.
SERVICES = ("queue", "run", "rest", "cdn", "files", "uploads")
# fal's own hosts for each service (PROTOCOL.md §17); media is served by the CDN's hosts.
_SERVICE_ROOTS = {service: f"https://{host}" for service, host in CANONICAL_HOSTS.items()}
FAL_ROOTS: Mapping[str, str] = _SERVICE_ROOTS | {
    "files": f"{_SERVICE_ROOTS['cdn']}/files",
    "uploads": f"{_SERVICE_ROOTS['cdn']}/uploads",
}


def roots_of(upstream: Upstream) -> Mapping[str, str]:
    """Each service's root upstream, without a trailing slash."""
    if upstream.base == FAL:
        return FAL_ROOTS
    base = upstream.base.rstrip("/")
    return {service: f"{base}/{service}" for service in SERVICES}


def split_service(path: str) -> tuple[str, str] | None:
    """`/queue/fal-ai/x` -> (`queue`, `/fal-ai/x`); None for a path that is not a fal service's."""
    service, _, rest = path.lstrip("/").partition("/")
    if service not in SERVICES:
        return None
    return service, f"/{rest}"


# Set by replay mode on a call no recording matches, with `--on-miss record`: it goes upstream.
FORWARD = "falfake.forward"


# Answered by the fake even in upstream mode: it signs the webhooks it sends with its own key,
# so a receiver that checks them against fal's JWKS URL must get the fake's.
KEPT_LOCAL = frozenset({"/rest/.well-known/jwks.json"})


def target_url(upstream: Upstream, path: str, query: str) -> str | None:
    """Where the call on the fake's `path` goes upstream; None if it is not forwarded."""
    if path in KEPT_LOCAL:
        return None
    split = split_service(path)
    if split is None:
        return None
    service, rest = split
    url = roots_of(upstream)[service] + (rest if rest != "/" else "")
    return f"{url}?{query}" if query else url


def url_rewriter(
    upstream: Upstream, local_roots: Mapping[str, str], *, upward: bool = False
) -> Callable[[str], str]:
    """A function giving, for a URL upstream, the same URL on the fake (others unchanged); with
    `upward`, the other way: the fake's URLs in a request body (an uploaded reference image)
    become the upstream's, which it can fetch.

    Longer roots are tried first, so `…/files` wins over the CDN's root that holds it.
    """
    roots = roots_of(upstream)
    pairs = sorted(
        (
            (local_roots[s], roots[s]) if upward else (roots[s], local_roots[s])
            for s in SERVICES
            if s in local_roots
        ),
        key=lambda pair: -len(pair[0]),
    )
    pattern = re.compile("|".join(re.escape(up) + r"(?=[/?#]|$)" for up, _ in pairs))
    local = dict(pairs)

    def rewrite(url: str) -> str:
        found = pattern.match(url)
        return url if found is None else local[found.group(0)] + url[found.end() :]

    return rewrite


def rewritten(node: Any, rewrite: Callable[[str], str]) -> Any:
    """A JSON value with every string that starts with an upstream root pointed at the fake."""
    if isinstance(node, str):
        return rewrite(node)
    if isinstance(node, list):
        return [rewritten(item, rewrite) for item in node]
    if isinstance(node, dict):
        return {key: rewritten(value, rewrite) for key, value in node.items()}
    return node


async def files_replaced(node: Any, prefix: str, replace: Callable[[str], Awaitable[Any]]) -> Any:
    """A JSON value with each string that names a file on the fake (starts with `prefix`, the
    fake's `…/files/`) replaced by what `replace` makes of it: its digest, its upload upstream."""
    if isinstance(node, str) and node.startswith(prefix):
        return await replace(node)
    if isinstance(node, list):
        return [await files_replaced(item, prefix, replace) for item in node]
    if isinstance(node, dict):
        return {key: await files_replaced(value, prefix, replace) for key, value in node.items()}
    return node


def is_paid(method: str, service: str, rest: str) -> bool:
    """A submit, a sync run or a stream: what fal bills."""
    if method != "POST":
        return False
    return service == "run" or (service == "queue" and "/requests/" not in rest)


def parsed(content: bytes) -> Any:
    """A reply's JSON, or its text when it is not JSON (an error page)."""
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


def rewritten_json(content: bytes, rewrite: Callable[[str], str]) -> bytes:
    """A JSON body with its URLs rewritten (`rewritten`); a body that is not JSON as it is."""
    try:
        data = json.loads(content)
    except ValueError:
        return content  # passed on as the upstream sent it
    return json.dumps(rewritten(data, rewrite), separators=(",", ":")).encode()
