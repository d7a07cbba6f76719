"""`--data-dir DIR`: the fake's state in SQLite and its files' bytes on disk, so a restart (or a
crash) loses no request, file, upload or pending webhook.

Each store keeps working in memory and tells its records here every change; on start they hand
everything back. One process owns a directory at a time (an advisory lock says which).
"""

from __future__ import annotations

import fcntl
import sqlite3
from pathlib import Path
from typing import IO

from falfake.clock import Clock
from falfake.errors import StorageError
from falfake.runtime.sqlite_records import (
    DiskFiles,
    SqliteDeliveries,
    SqliteRequests,
    SqliteUploads,
)
from falfake.settings import Settings
from falfake.storage import Stores, in_process_stores

# 2: outputs are generic (a record of 1 could hold the seed's video alone) and may hold a given
# file; falfake before that would misread them.
SCHEMA_VERSION = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY, record TEXT NOT NULL, images TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    digest TEXT PRIMARY KEY, data BLOB NOT NULL, refs INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, digest TEXT NOT NULL, content_type TEXT NOT NULL,
    size INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS files_by_digest ON files (digest);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY, path TEXT NOT NULL, content_type TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS upload_parts (
    upload_id TEXT NOT NULL, number INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (upload_id, number));
CREATE TABLE IF NOT EXISTS deliveries (
    request_id TEXT PRIMARY KEY, target TEXT NOT NULL, body BLOB NOT NULL,
    attempt INTEGER NOT NULL, due_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL);
"""


class DataDirError(StorageError):
    """The directory cannot be used: taken by another fake, or written by another version."""


class DataDir:
    """An open data directory: one SQLite database, a `files/` tree, and the records over them.
    A `falfake.storage.Storage` engine."""

    name = "sqlite"

    def __init__(self, path: Path, *, attempts_kept: int = 10_000) -> None:
        try:
            path.mkdir(parents=True, exist_ok=True)
            self._lock = _locked(path / "lock")
        except OSError as exc:
            raise DataDirError(
                f"Cannot use {path} as a data directory: {exc.strerror or exc}"
            ) from None
        database = path / "falfake.sqlite3"
        try:
            self._db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Durable across a crash of the process; an OS crash may lose the last moment.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            _check_version(self._db)
        except sqlite3.DatabaseError as exc:
            self._lock.close()
            raise DataDirError(f"{database} is not a falfake database: {exc}") from None
        except BaseException:
            self._lock.close()
            raise
        self.requests = SqliteRequests(self._db)
        self.files = DiskFiles(self._db, path / "files")
        self.uploads = SqliteUploads(self._db)
        self.deliveries = SqliteDeliveries(self._db, attempts_kept)

    def stores(self, settings: Settings, clock: Clock) -> Stores:
        return in_process_stores(
            settings,
            clock,
            requests=self.requests,
            files=self.files,
            uploads=self.uploads,
            deliveries=self.deliveries,
        )

    def clock(self, clock: Clock) -> Clock:
        return clock  # one process: its clock is the fake's

    def signing_key(self) -> bytes | None:
        return None  # the fake keeps its key beside its CA, one process as one directory

    async def problem(self) -> str | None:
        """Why the directory cannot serve now (its database unreadable, its files folder gone),
        or None: what `GET /_falfake/health` reports."""
        try:
            self._db.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            return f"the data directory's database cannot be read: {exc}"
        if not self.files.folder.is_dir():
            return f"the data directory's files folder {self.files.folder} is missing"
        return None

    def saved_at(self) -> float | None:
        """The fake's time when it last looked, as the request records keep it."""
        return self.requests.saved_at()

    async def close(self) -> None:
        self.release()

    def release(self) -> None:
        """Save the time and let go of the directory; closing twice is harmless."""
        if self._lock.closed:
            return
        self.requests.flush()
        self._db.close()
        self._lock.close()


def _locked(path: Path) -> IO[str]:
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DataDirError(f"{path.parent} is in use by another falfake process.") from None
    return handle


def _check_version(db: sqlite3.Connection) -> None:
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
    (found,) = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if found != SCHEMA_VERSION:
        raise DataDirError(
            f"The data directory has schema {found}, this falfake writes {SCHEMA_VERSION}."
            " Start with an empty --data-dir."
        )
