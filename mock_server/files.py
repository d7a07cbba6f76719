"""Files the fake serves at `/files/...`: generated outputs now, uploads later; bounded in count."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

from mock_server.errors import NotFound, RangeNotSatisfiable

_RANGE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})")


@dataclass(frozen=True, slots=True)
class StoredFile:
    data: bytes
    content_type: str


class FileStore:
    """Path -> bytes, dropping the oldest file past `max_files`."""

    def __init__(self, max_files: int) -> None:
        self._max_files = max_files
        self._files: OrderedDict[str, StoredFile] = OrderedDict()

    def put(self, path: str, data: bytes, content_type: str) -> None:
        self._files[path] = StoredFile(data=data, content_type=content_type)
        self._files.move_to_end(path)
        while len(self._files) > self._max_files:
            self._files.popitem(last=False)

    def reset(self) -> None:
        self._files.clear()

    def read(self, path: str) -> StoredFile:
        """The file at `path`; NotFound when there is none (or it expired)."""
        stored = self._files.get(path)
        if stored is None:
            raise NotFound("File not found")
        return stored


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
