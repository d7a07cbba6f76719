"""Upload state for fal's storage flows (PROTOCOL.md §13): CDN tokens, signed PUTs and multipart.

Finished uploads land in the `FileStore`; this module only holds what is in between.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from mock_server.errors import BadRequest, NotFound, Unauthorized

TOKEN_SECONDS = 3600.0
_MAX_PENDING = 10_000
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(name: str | None, default: str = "upload.bin") -> str:
    """A file name that is one harmless URL path segment."""
    cleaned = _UNSAFE_NAME.sub("_", name or "").strip("._")[:120]
    return cleaned or default


def etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@dataclass(slots=True)
class Pending:
    """An upload whose bytes have not all arrived: the file it will become, and parts so far."""

    path: str
    content_type: str
    parts: dict[int, bytes] = field(default_factory=dict)


class Uploads:
    """Issued CDN tokens and uploads in progress, bounded; the oldest pending upload goes first."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: dict[str, float] = {}
        self._pending: OrderedDict[str, Pending] = OrderedDict()

    def issue_token(self) -> tuple[str, float]:
        """A new CDN bearer token and its expiry (Unix time)."""
        now = self._clock()
        self._tokens = {t: expiry for t, expiry in self._tokens.items() if expiry > now}
        token = secrets.token_urlsafe(24)
        self._tokens[token] = now + TOKEN_SECONDS
        return token, self._tokens[token]

    def check_token(self, authorization: str | None) -> None:
        """401 unless the header is `Bearer <a token we issued that has not expired>`."""
        scheme, _, token = (authorization or "").partition(" ")
        expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= self._clock():
            # fal's body for a bad CDN token is unrecorded; this text is the fake's.
            raise Unauthorized("Invalid or expired upload token")

    def expect(self, path: str, content_type: str) -> str:
        """Register an upload that will arrive in one PUT or in parts; returns its id."""
        upload_id = secrets.token_urlsafe(16)
        self._pending[upload_id] = Pending(path=path, content_type=content_type)
        while len(self._pending) > _MAX_PENDING:
            self._pending.popitem(last=False)
        return upload_id

    def pending(self, upload_id: str) -> Pending:
        found = self._pending.get(upload_id)
        if found is None:
            raise NotFound("Upload not found")
        return found

    def add_part(self, upload_id: str, number: int, data: bytes) -> str:
        """Keep part `number` and return its ETag."""
        self.pending(upload_id).parts[number] = data
        return etag(data)

    def complete(self, upload_id: str, parts: list[tuple[int, str]]) -> tuple[Pending, bytes]:
        """Join the listed parts by part number, checking each ETag; the upload then ends.

        Clients upload parts in parallel and may list them in the order they finished.
        """
        pending = self.pending(upload_id)
        chunks = []
        for number, tag in sorted(parts):
            data = pending.parts.get(number)
            if data is None:
                raise BadRequest(f"Part {number} was never uploaded.")
            if etag(data) != tag.strip('"'):
                raise BadRequest(f"ETag of part {number} does not match.")
            chunks.append(data)
        del self._pending[upload_id]
        return pending, b"".join(chunks)
