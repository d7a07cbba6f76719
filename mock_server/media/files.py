"""Files the fake serves at `/files/...`: uploads and rendered outputs, bounded and expiring."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from falfake.errors import NotFound, PayloadTooLarge, RangeNotSatisfiable
from falfake.settings import Retention

_RANGE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """What is known of a stored file besides its bytes."""

    path: str
    content_type: str
    size: int
    created_at: float


@dataclass(frozen=True, slots=True)
class StoredFile:
    data: bytes
    content_type: str


class FileBackend(Protocol):
    """Where the bytes live: memory by default, a directory with `--data-dir`."""

    def entries(self) -> list[FileEntry]: ...

    def write(self, entry: FileEntry, data: bytes) -> None: ...

    def read(self, path: str) -> bytes | None: ...

    def remove(self, path: str) -> None: ...

    def clear(self) -> None: ...


class MemoryFiles:
    """The default backend: bytes in a dict, gone with the process."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def entries(self) -> list[FileEntry]:
        return []

    def write(self, entry: FileEntry, data: bytes) -> None:
        self._data[entry.path] = data

    def read(self, path: str) -> bytes | None:
        return self._data.get(path)

    def remove(self, path: str) -> None:
        self._data.pop(path, None)

    def clear(self) -> None:
        self._data.clear()


class Files(Protocol):
    """Path -> file, bounded and expiring: what the routes and renders use, whatever the engine
    (this process's `FileStore`, or a database shared by replicas)."""

    async def put(self, path: str, data: bytes, content_type: str) -> None:
        """Store `data` at `path`; 413 for a file larger than all the room there is."""
        ...

    async def read(self, path: str) -> StoredFile:
        """The file at `path`; NotFound when there is none (or it expired)."""
        ...

    async def entry(self, path: str) -> FileEntry | None: ...

    async def newest(self, limit: int) -> list[FileEntry]: ...

    async def total_bytes(self) -> int: ...

    async def reset(self) -> None: ...


class FileStore:
    """Path -> file. A file lives `file_ttl_seconds`; past `max_files` files or `max_file_bytes`
    bytes the oldest go first."""

    def __init__(
        self,
        retention: Retention,
        clock: Callable[[], float],
        backend: FileBackend | None = None,
    ) -> None:
        self._retention = retention
        self._clock = clock
        self._backend = backend or MemoryFiles()
        self._index: OrderedDict[str, FileEntry] = OrderedDict()
        self._bytes = 0
        for entry in sorted(self._backend.entries(), key=lambda e: e.created_at):
            self._index[entry.path] = entry
            self._bytes += entry.size

    def __len__(self) -> int:
        return len(self._index)

    async def total_bytes(self) -> int:
        return self._bytes

    async def put(self, path: str, data: bytes, content_type: str) -> None:
        retention = self._retention
        if len(data) > retention.max_file_bytes:
            raise PayloadTooLarge(f"File is larger than the {retention.max_file_bytes} bytes kept.")
        self._expire(self._clock())
        self._drop(path)
        while self._index and (
            len(self._index) >= retention.max_files
            or self._bytes + len(data) > retention.max_file_bytes
        ):
            self._drop(next(iter(self._index)))
        entry = FileEntry(path, content_type, len(data), self._clock())
        self._backend.write(entry, data)
        self._index[path] = entry
        self._bytes += entry.size

    async def newest(self, limit: int) -> list[FileEntry]:
        """Up to `limit` stored files, the newest first."""
        self._expire(self._clock())
        return sorted(self._index.values(), key=lambda e: e.created_at, reverse=True)[:limit]

    async def entry(self, path: str) -> FileEntry | None:
        """The file's description, if it is stored and has not expired."""
        return self._entry(path)

    def _entry(self, path: str) -> FileEntry | None:
        self._expire(self._clock())
        return self._index.get(path)

    async def read(self, path: str) -> StoredFile:
        entry = self._entry(path)
        data = None if entry is None else self._backend.read(path)
        if entry is None or data is None:
            raise NotFound("File not found")
        return StoredFile(data=data, content_type=entry.content_type)

    async def reset(self) -> None:
        self._index.clear()
        self._bytes = 0
        self._backend.clear()

    def _expire(self, now: float) -> None:
        ttl = self._retention.file_ttl_seconds
        while self._index:
            oldest = next(iter(self._index.values()))
            if oldest.created_at + ttl > now:
                break
            self._drop(oldest.path)

    def _drop(self, path: str) -> None:
        entry = self._index.pop(path, None)
        if entry is not None:
            self._bytes -= entry.size
            self._backend.remove(path)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) bytes a single-range `Range` header asks for; None: all of it.

    Multi-range and unparsable headers are ignored, as RFC 9110 allows; an unsatisfiable range
    raises `RangeNotSatisfiable`.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first_text, last_text = match.groups()
    if first_text == "":
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text != "" and int(last_text) < first:
        return None
    if first >= size:
        raise RangeNotSatisfiable(size)
    last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    return first, last
