"""fal's host names and which service each one is (PROTOCOL.md §17); loopback addresses.

`falfake.http.urls` routes requests by these names and builds the URLs replies carry.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit

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


def split_url(url: str) -> tuple[SplitResult, str] | None:
    """A URL's parts and its lower-cased host ("" if it has none); None for one that cannot be
    read (unbalanced brackets, a bad IP literal, a port that is not a number up to 65535).

    `urlsplit` and its `hostname` and `port` raise ValueError on those, and the URLs come from
    requests: anything may be in them.
    """
    # Clients send the same reference and webhook URLs again and again; only short ones are
    # kept, so the cache holds at most a few MiB whatever callers send.
    if len(url) <= _CACHED_LENGTH:
        return _split_cached(url)
    return _split(url)


_CACHED_LENGTH = 2048


def _split(url: str) -> tuple[SplitResult, str] | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 -- reading it checks it
    except ValueError:
        return None
    return parts, host


_split_cached = functools.lru_cache(maxsize=1024)(_split)


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (IPv6 with or without brackets); no DNS lookup."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# Names that resolve only on a local network, never for fal's servers on the internet.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain")


@functools.lru_cache(maxsize=1024)  # on every submit with a reference URL; pure
def unreachable_from_fal(host: str) -> bool:
    """Whether fal's servers could not fetch from `host`: a loopback, private, link-local,
    reserved or otherwise non-global address, `localhost`, a one-label name or a local-only
    suffix. No DNS lookup: a public-looking name counts as reachable."""
    name = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name == "localhost" or "." not in name or name.endswith(_LOCAL_SUFFIXES)
    mapped = getattr(address, "ipv4_mapped", None)
    return not (mapped or address).is_global


def host_name(host: str) -> str:
    return host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
