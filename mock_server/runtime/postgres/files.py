"""Files and uploads in the shared database, so any replica serves any file and an upload
begun on one replica completes on another."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from falfake.errors import BadRequest, NotFound, PayloadTooLarge, Unauthorized
from falfake.media.files import FileEntry, StoredFile
from falfake.media.uploads import TOKEN_SECONDS, Pending, etag
from falfake.runtime.postgres.database import Database, storable
from falfake.settings import Retention


class PostgresFiles:
    """`Files` in the database: path -> bytes, bounded and expiring as `FileStore` is."""

    def __init__(self, database: Database, retention: Retention, clock: Callable[[], float]):
        self._db = database
        self._retention = retention
        self._clock = clock

    async def put(self, path: str, data: bytes, content_type: str) -> None:
        retention = self._retention
        if len(data) > retention.max_file_bytes:
            raise PayloadTooLarge(f"File is larger than the {retention.max_file_bytes} bytes kept.")
        await self._db.execute(
            "SELECT falfake_put_file($1, $2, $3, $4, $5, $6, $7)",
            path,
            content_type,
            data,
            self._clock(),
            retention.file_ttl_seconds,
            retention.max_files,
            retention.max_file_bytes,
        )

    async def read(self, path: str) -> StoredFile:
        if not storable(path):
            raise NotFound("File not found")
        row = await self._db.fetchrow(
            "SELECT content_type, data FROM falfake_files WHERE path = $1 AND created_at > $2",
            path,
            self._clock() - self._retention.file_ttl_seconds,
        )
        if row is None:
            raise NotFound("File not found")
        return StoredFile(data=row["data"], content_type=row["content_type"])

    async def entry(self, path: str) -> FileEntry | None:
        if not storable(path):
            return None
        row = await self._db.fetchrow(
            "SELECT path, content_type, size, created_at FROM falfake_files"
            " WHERE path = $1 AND created_at > $2",
            path,
            self._clock() - self._retention.file_ttl_seconds,
        )
        return None if row is None else FileEntry(*row)

    async def newest(self, limit: int) -> list[FileEntry]:
        rows = await self._db.fetch(
            "SELECT path, content_type, size, created_at FROM falfake_files"
            " WHERE created_at > $1 ORDER BY created_at DESC, path DESC LIMIT $2",
            self._clock() - self._retention.file_ttl_seconds,
            limit,
        )
        return [FileEntry(*row) for row in rows]

    async def total_bytes(self) -> int:
        return int(await self._db.fetchval("SELECT bytes FROM falfake_file_totals"))

    async def reset(self) -> None:
        await self._db.execute(
            "TRUNCATE falfake_files; UPDATE falfake_file_totals SET count = 0, bytes = 0"
        )


class PostgresUploads:
    """`UploadSessions` in the database. Unlike `Uploads`, a part that would pass the bytes all
    unfinished uploads may hold is refused rather than making room by forgetting others."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], float],
        *,
        max_upload_bytes: int,
        max_pending_bytes: int,
    ) -> None:
        self._db = database
        self._clock = clock
        self._max_upload_bytes = max_upload_bytes
        self._max_pending_bytes = max_pending_bytes

    async def issue_token(self) -> tuple[str, float]:
        now = self._clock()
        token, expiry = secrets.token_urlsafe(24), now + TOKEN_SECONDS
        async with self._db.connection() as connection, connection.transaction():
            await connection.execute("DELETE FROM falfake_tokens WHERE expires_at <= $1", now)
            await connection.execute("INSERT INTO falfake_tokens VALUES ($1, $2)", token, expiry)
        return token, expiry

    async def check_token(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        expiry = None
        if scheme.lower() == "bearer" and storable(token):
            expiry = await self._db.fetchval(
                "SELECT expires_at FROM falfake_tokens WHERE token = $1", token.strip()
            )
        if expiry is None or expiry <= self._clock():
            raise Unauthorized("Invalid or expired upload token")

    async def expect(self, path: str, content_type: str) -> str:
        now = self._clock()
        upload_id = secrets.token_urlsafe(16)
        async with self._db.connection() as connection, connection.transaction():
            await connection.execute(
                "DELETE FROM falfake_uploads WHERE created_at <= $1", now - TOKEN_SECONDS
            )
            await connection.execute(
                "INSERT INTO falfake_uploads VALUES ($1, $2, $3, $4)",
                upload_id,
                path,
                content_type,
                now,
            )
        return upload_id

    async def pending(self, upload_id: str) -> Pending:
        if not storable(upload_id):
            raise NotFound("Upload not found")
        row = await self._db.fetchrow(
            "SELECT path, content_type, created_at FROM falfake_uploads"
            " WHERE upload_id = $1 AND created_at > $2",
            upload_id,
            self._clock() - TOKEN_SECONDS,
        )
        if row is None:
            raise NotFound("Upload not found")
        return Pending(row["path"], row["content_type"], created_at=row["created_at"])

    async def add_part(self, upload_id: str, number: int, data: bytes) -> str:
        await self.pending(upload_id)
        async with self._db.connection() as connection, connection.transaction():
            # The upload's row lock orders parts of one upload sent in parallel.
            await connection.execute(
                "SELECT 1 FROM falfake_uploads WHERE upload_id = $1 FOR UPDATE", upload_id
            )
            sizes = await connection.fetchrow(
                "SELECT coalesce(sum(length(data)) FILTER (WHERE upload_id = $1"
                " AND number <> $2), 0), coalesce(sum(length(data)) FILTER (WHERE NOT"
                " (upload_id = $1 AND number = $2)), 0) FROM falfake_upload_parts",
                upload_id,
                number,
            )
            assert sizes is not None, "an aggregate answers one row"
            others, total = sizes
            if others + len(data) > self._max_upload_bytes:
                raise PayloadTooLarge(f"Upload is larger than {self._max_upload_bytes} bytes.")
            if total + len(data) > self._max_pending_bytes:
                raise PayloadTooLarge("Too many bytes in unfinished uploads.")
            await connection.execute(
                "INSERT INTO falfake_upload_parts VALUES ($1, $2, $3)"
                " ON CONFLICT (upload_id, number) DO UPDATE SET data = excluded.data",
                upload_id,
                number,
                data,
            )
        return etag(data)

    async def complete(self, upload_id: str, parts: list[tuple[int, str]]) -> tuple[Pending, bytes]:
        pending = await self.pending(upload_id)
        stored = {
            row["number"]: row["data"]
            for row in await self._db.fetch(
                "SELECT number, data FROM falfake_upload_parts WHERE upload_id = $1", upload_id
            )
        }
        chunks = []
        for number, tag in sorted(parts):
            data = stored.get(number)
            if data is None:
                raise BadRequest(f"Part {number} was never uploaded.")
            if etag(data) != tag.strip('"'):
                raise BadRequest(f"ETag of part {number} does not match.")
            chunks.append(data)
        await self._db.execute("DELETE FROM falfake_uploads WHERE upload_id = $1", upload_id)
        return pending, b"".join(chunks)

    async def reset(self) -> None:
        await self._db.execute("TRUNCATE falfake_uploads, falfake_upload_parts")
