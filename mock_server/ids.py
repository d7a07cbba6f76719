"""Identifiers in fal's formats: UUIDv7 request ids and CDN-style file path segments."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable


class RandomPool:
    """The OS's random bytes, drawn 4 KiB at a time: one system call per hundred ids or so,
    rather than two per request (each is a few microseconds in a virtual machine)."""

    def __init__(
        self, draw: Callable[[int], bytes] = secrets.token_bytes, size: int = 4096
    ) -> None:
        self._draw, self._size = draw, size
        self._buffer, self._at = b"", 0
        self._lock = threading.Lock()

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._at + count > len(self._buffer):
                self._buffer, self._at = self._draw(max(self._size, count)), 0
            taken = self._buffer[self._at : self._at + count]
            self._at += count
            return taken


_POOL = RandomPool()


def uuid7(unix_seconds: float, random_bytes: Callable[[int], bytes] = _POOL.take) -> str:
    """A UUIDv7 (RFC 9562) for the given time; live fal request ids are v7 (PROTOCOL.md §3).

    The standard library gains `uuid.uuid7` only in Python 3.14.
    """
    millis = int(unix_seconds * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(random_bytes(10), "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    hexed = f"{value:032x}"  # the canonical spelling, without building a uuid.UUID per submit
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def file_segment(random_bytes: Callable[[int], bytes] = _POOL.take) -> str:
    """`<8 hex>/<21 url-safe chars>`, as in fal's `v3b.fal.media/files/b/...` paths (§14.2).

    One draw of 20 bytes: 4 for the hex, 16 whose base64url spelling gives 21 uniform characters
    (126 of their 128 bits).
    """
    drawn = random_bytes(20)
    name = base64.urlsafe_b64encode(drawn[4:]).decode()[:21]
    return f"{drawn[:4].hex()}/{name}"
