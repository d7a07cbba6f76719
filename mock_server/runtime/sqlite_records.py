"""The records of `--data-dir` over its SQLite database and `files/` tree: requests (with their
reference images stored once, counted), files, uploads and webhook deliveries. `DataDir` opens
the directory and hands these to the stores."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from falfake.media.files import FileEntry
from falfake.media.uploads import Pending
from falfake.queue.models import QueuedRequest
from falfake.runtime.codec import decode_request, encode_request, stored_images
from falfake.webhooks.delivery import Attempt, NoDeliveryRecords, PendingDelivery

_SEEN_EVERY_SECONDS = 1.0


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SqliteRequests:
    """`RequestRecords` in SQLite; reference images once per digest, counted by their users."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._seen: float | None = None
        self._seen_saved: float | None = None

    def load(self) -> tuple[list[QueuedRequest], float | None]:
        rows = self._db.execute("SELECT record FROM requests").fetchall()
        return [decode_request(text, self._image) for (text,) in rows], self.saved_at()

    def saved_at(self) -> float | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'seen'").fetchone()
        return None if row is None else float(row[0])

    def add(self, request: QueuedRequest) -> None:
        digests = [image.digest for image in stored_images(request)]
        with _transaction(self._db):
            self._db.execute(
                "INSERT OR REPLACE INTO requests VALUES (?, ?, ?)",
                (request.request_id, encode_request(request), json.dumps(digests)),
            )
            for image in stored_images(request):
                self._db.execute(
                    "INSERT INTO images VALUES (?, ?, 1)"
                    " ON CONFLICT (digest) DO UPDATE SET refs = refs + 1",
                    (image.digest, image.data),
                )

    def update(self, request: QueuedRequest) -> None:
        self._db.execute(
            "UPDATE requests SET record = ? WHERE request_id = ?",
            (encode_request(request), request.request_id),
        )

    def delete(self, request_id: str) -> None:
        with _transaction(self._db):
            row = self._db.execute(
                "DELETE FROM requests WHERE request_id = ? RETURNING images", (request_id,)
            ).fetchone()
            for digest in json.loads(row[0]) if row else []:
                self._db.execute("UPDATE images SET refs = refs - 1 WHERE digest = ?", (digest,))
                self._db.execute("DELETE FROM images WHERE digest = ? AND refs <= 0", (digest,))

    def seen(self, now: float) -> None:
        self._seen = now
        if self._seen_saved is None or now - self._seen_saved >= _SEEN_EVERY_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._seen is not None:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('seen', ?)", (repr(self._seen),))
            self._seen_saved = self._seen

    def clear(self) -> None:
        with _transaction(self._db):
            self._db.execute("DELETE FROM requests")
            self._db.execute("DELETE FROM images")

    def _image(self, digest: str) -> bytes | None:
        row = self._db.execute("SELECT data FROM images WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else bytes(row[0])


class DiskFiles:
    """`FileBackend` on disk: bytes under `files/` by SHA-256 (equal files stored once), the
    rest in SQLite."""

    def __init__(self, db: sqlite3.Connection, root: Path) -> None:
        self._db = db
        self._root = root
        root.mkdir(exist_ok=True)

    @property
    def folder(self) -> Path:
        return self._root

    def entries(self) -> list[FileEntry]:
        rows = self._db.execute("SELECT path, content_type, size, created_at FROM files")
        return [FileEntry(*row) for row in rows]

    def write(self, entry: FileEntry, data: bytes) -> None:
        digest = hashlib.sha256(data).hexdigest()
        blob = self._blob(digest)
        if not blob.exists():
            blob.parent.mkdir(exist_ok=True)
            partial = blob.with_suffix(".partial")
            partial.write_bytes(data)
            os.replace(partial, blob)  # a crash never leaves half a file under its digest
        self._db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
            (entry.path, digest, entry.content_type, entry.size, entry.created_at),
        )

    def read(self, path: str) -> bytes | None:
        row = self._db.execute("SELECT digest FROM files WHERE path = ?", (path,)).fetchone()
        if row is None:
            return None
        try:
            return self._blob(row[0]).read_bytes()
        except FileNotFoundError:
            return None

    def remove(self, path: str) -> None:
        row = self._db.execute("DELETE FROM files WHERE path = ? RETURNING digest", (path,))
        found = row.fetchone()
        if found is None:
            return
        (digest,) = found
        users = self._db.execute("SELECT 1 FROM files WHERE digest = ? LIMIT 1", (digest,))
        if users.fetchone() is None:
            self._blob(digest).unlink(missing_ok=True)

    def clear(self) -> None:
        self._db.execute("DELETE FROM files")
        shutil.rmtree(self._root, ignore_errors=True)
        self._root.mkdir(exist_ok=True)

    def _blob(self, digest: str) -> Path:
        return self._root / digest[:2] / digest


class SqliteUploads:
    """`UploadRecords` in SQLite: CDN tokens, and uploads with the parts received so far."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def load(self) -> tuple[dict[str, float], list[tuple[str, Pending]]]:
        tokens = dict(self._db.execute("SELECT token, expires_at FROM tokens").fetchall())
        pending = {
            upload_id: Pending(path, content_type, created_at)
            for upload_id, path, content_type, created_at in self._db.execute(
                "SELECT upload_id, path, content_type, created_at FROM uploads ORDER BY rowid"
            )
        }
        for upload_id, number, data in self._db.execute("SELECT * FROM upload_parts"):
            if upload_id in pending:
                pending[upload_id].parts[number] = bytes(data)
        return tokens, list(pending.items())

    def token(self, token: str, expiry: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?)", (token, expiry))

    def forget_tokens(self, expired_by: float) -> None:
        self._db.execute("DELETE FROM tokens WHERE expires_at <= ?", (expired_by,))

    def expect(self, upload_id: str, pending: Pending) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?)",
            (upload_id, pending.path, pending.content_type, pending.created_at),
        )

    def part(self, upload_id: str, number: int, data: bytes) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO upload_parts VALUES (?, ?, ?)", (upload_id, number, data)
        )

    def done(self, upload_id: str) -> None:
        with _transaction(self._db):
            self._db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
            self._db.execute("DELETE FROM upload_parts WHERE upload_id = ?", (upload_id,))


class SqliteDeliveries(NoDeliveryRecords):
    """`DeliveryRecords` in SQLite: webhooks still to deliver, and the last attempts made (kept
    in memory too, for the log's readers)."""

    def __init__(self, db: sqlite3.Connection, attempts_kept: int) -> None:
        rows = db.execute(
            "SELECT record FROM attempts ORDER BY id DESC LIMIT ?", (attempts_kept,)
        ).fetchall()
        super().__init__(Attempt(**json.loads(text)) for (text,) in reversed(rows))
        self._db = db
        self._attempts_kept = attempts_kept

    def load(self) -> list[PendingDelivery]:
        return [
            PendingDelivery(request_id, target, bytes(body), attempt, due_at)
            for request_id, target, body, attempt, due_at in self._db.execute(
                "SELECT * FROM deliveries ORDER BY due_at"
            )
        ]

    async def schedule(self, delivery: PendingDelivery) -> bool:
        self._save(delivery)
        return True

    def _save(self, delivery: PendingDelivery) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?)",
            (
                delivery.request_id,
                delivery.target,
                delivery.body,
                delivery.attempt,
                delivery.due_at,
            ),
        )

    async def attempted(self, attempt: Attempt, following: PendingDelivery | None) -> None:
        with _transaction(self._db):
            cursor = self._db.execute(
                "INSERT INTO attempts (record) VALUES (?)", (json.dumps(attempt.to_json()),)
            )
            if following is None:
                self._db.execute(
                    "DELETE FROM deliveries WHERE request_id = ?", (attempt.request_id,)
                )
            else:
                self._save(following)
            last = cursor.lastrowid or 0
            if last % 1000 == 0:
                self._db.execute(
                    "DELETE FROM attempts WHERE id <= ?", (last - self._attempts_kept,)
                )
        await super().attempted(attempt, following)

    async def clear(self) -> None:
        with _transaction(self._db):
            self._db.execute("DELETE FROM deliveries")
            self._db.execute("DELETE FROM attempts")
        await super().clear()
