"""fal's host names and which service each one is (PROTOCOL.md §17); loopback addresses.

`mock_server.http.urls` routes requests by these names and builds the URLs replies carry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

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


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (IPv6 with or without brackets); no DNS lookup."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host: str) -> str:
    return host.rsplit(":", 1)[0].lower() if not host.startswith("[") else host
