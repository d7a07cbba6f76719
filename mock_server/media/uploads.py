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
from typing import Protocol

from falfake.errors import BadRequest, NotFound, PayloadTooLarge, Unauthorized

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
    created_at: float
    parts: dict[int, bytes] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts.values())


class UploadRecords(Protocol):
    """Where tokens and unfinished uploads outlive the process (SQLite with `--data-dir`)."""

    def load(self) -> tuple[dict[str, float], list[tuple[str, Pending]]]:
        """Tokens with their expiry, and pending uploads oldest first, with their parts."""
        ...

    def token(self, token: str, expiry: float) -> None: ...

    def forget_tokens(self, expired_by: float) -> None: ...

    def expect(self, upload_id: str, pending: Pending) -> None: ...

    def part(self, upload_id: str, number: int, data: bytes) -> None: ...

    def done(self, upload_id: str) -> None: ...


class NoUploadRecords:
    """The default: tokens and unfinished uploads live only as long as the process."""

    def load(self) -> tuple[dict[str, float], list[tuple[str, Pending]]]:
        return {}, []

    def token(self, token: str, expiry: float) -> None:
        pass

    def forget_tokens(self, expired_by: float) -> None:
        pass

    def expect(self, upload_id: str, pending: Pending) -> None:
        pass

    def part(self, upload_id: str, number: int, data: bytes) -> None:
        pass

    def done(self, upload_id: str) -> None:
        pass


class UploadSessions(Protocol):
    """CDN tokens and uploads under way, whatever the engine (this process's `Uploads`, or a
    database shared by replicas)."""

    async def issue_token(self) -> tuple[str, float]:
        """A new CDN bearer token and its expiry (Unix time)."""
        ...

    async def check_token(self, authorization: str | None) -> None:
        """401 unless the header is `Bearer <a token issued that has not expired>`."""
        ...

    async def expect(self, path: str, content_type: str) -> str:
        """Register an upload that will arrive in one PUT or in parts; returns its id."""
        ...

    async def pending(self, upload_id: str) -> Pending:
        """The upload under way; NotFound if unknown (or expired)."""
        ...

    async def add_part(self, upload_id: str, number: int, data: bytes) -> str:
        """Keep part `number`, return its ETag; 413 when the upload outgrows the limit."""
        ...

    async def complete(self, upload_id: str, parts: list[tuple[int, str]]) -> tuple[Pending, bytes]:
        """Join the listed parts by number, checking each ETag; the upload then ends."""
        ...

    async def reset(self) -> None:
        """Forget every unfinished upload (tokens stay valid: clients keep theirs)."""
        ...


class Uploads:
    """Issued CDN tokens and uploads in progress. An upload not completed within an hour is
    forgotten, as a signed URL expires; past `max_pending_bytes` of parts in all, or 10,000
    uploads, the oldest goes first."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        max_upload_bytes: int,
        max_pending_bytes: int,
        records: UploadRecords | None = None,
    ) -> None:
        self._clock = clock
        self._max_upload_bytes = max_upload_bytes
        self._max_pending_bytes = max_pending_bytes
        self._records = records or NoUploadRecords()
        tokens, pending = self._records.load()
        self._tokens: dict[str, float] = tokens
        self._pending: OrderedDict[str, Pending] = OrderedDict(pending)
        self._bytes = sum(p.size for p in self._pending.values())

    async def issue_token(self) -> tuple[str, float]:
        """A new CDN bearer token and its expiry (Unix time)."""
        now = self._clock()
        self._tokens = {t: expiry for t, expiry in self._tokens.items() if expiry > now}
        self._records.forget_tokens(now)
        token = secrets.token_urlsafe(24)
        self._tokens[token] = now + TOKEN_SECONDS
        self._records.token(token, self._tokens[token])
        return token, self._tokens[token]

    async def check_token(self, authorization: str | None) -> None:
        """401 unless the header is `Bearer <a token we issued that has not expired>`."""
        scheme, _, token = (authorization or "").partition(" ")
        expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= self._clock():
            # fal's body for a bad CDN token is unrecorded; this text is the fake's.
            raise Unauthorized("Invalid or expired upload token")

    async def expect(self, path: str, content_type: str) -> str:
        """Register an upload that will arrive in one PUT or in parts; returns its id."""
        self._expire()
        upload_id = secrets.token_urlsafe(16)
        self._pending[upload_id] = Pending(path, content_type, created_at=self._clock())
        self._records.expect(upload_id, self._pending[upload_id])
        while len(self._pending) > _MAX_PENDING:
            self._forget(next(iter(self._pending)))
        return upload_id

    async def pending(self, upload_id: str) -> Pending:
        return self._pending_upload(upload_id)

    def _pending_upload(self, upload_id: str) -> Pending:
        self._expire()
        found = self._pending.get(upload_id)
        if found is None:
            raise NotFound("Upload not found")
        return found

    async def add_part(self, upload_id: str, number: int, data: bytes) -> str:
        """Keep part `number` and return its ETag; 413 when the upload outgrows the limit."""
        pending = self._pending_upload(upload_id)
        grows_by = len(data) - len(pending.parts.get(number, b""))
        if pending.size + grows_by > self._max_upload_bytes:
            raise PayloadTooLarge(f"Upload is larger than {self._max_upload_bytes} bytes.")
        if self._bytes + grows_by > self._max_pending_bytes:
            # Oldest other uploads first; a list, since forgetting changes the dict.
            for other in [other for other in self._pending if other != upload_id]:
                self._forget(other)
                if self._bytes + grows_by <= self._max_pending_bytes:
                    break
        if self._bytes + grows_by > self._max_pending_bytes:
            raise PayloadTooLarge("Too many bytes in unfinished uploads.")
        pending.parts[number] = data
        self._bytes += grows_by
        self._records.part(upload_id, number, data)
        return etag(data)

    async def complete(self, upload_id: str, parts: list[tuple[int, str]]) -> tuple[Pending, bytes]:
        """Join the listed parts by part number, checking each ETag; the upload then ends.

        Clients upload parts in parallel and may list them in the order they finished.
        """
        pending = self._pending_upload(upload_id)
        chunks = []
        for number, tag in sorted(parts):
            data = pending.parts.get(number)
            if data is None:
                raise BadRequest(f"Part {number} was never uploaded.")
            if etag(data) != tag.strip('"'):
                raise BadRequest(f"ETag of part {number} does not match.")
            chunks.append(data)
        self._forget(upload_id)
        return pending, b"".join(chunks)

    async def reset(self) -> None:
        """Forget every unfinished upload. Tokens stay valid: clients keep theirs (fal-client
        caches its CDN token), and a reset must not break their next upload."""
        for upload_id in list(self._pending):
            self._forget(upload_id)

    def _expire(self) -> None:
        expired_by = self._clock() - TOKEN_SECONDS
        while self._pending and next(iter(self._pending.values())).created_at <= expired_by:
            self._forget(next(iter(self._pending)))

    def _forget(self, upload_id: str) -> None:
        self._bytes -= self._pending.pop(upload_id).size
        self._records.done(upload_id)
