"""Local files given to the client: bytes, paths and file objects, with a name and a media type."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from falfake.client.errors import LocalFileError

_URL_PREFIXES = ("http://", "https://", "data:")
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF8", "image/gif", "gif"),
]


@dataclass(frozen=True, slots=True)
class FileData:
    data: bytes
    name: str
    content_type: str


def read_file(
    value: Any, *, content_type: str | None = None, file_name: str | None = None
) -> FileData | None:
    """The file `value` stands for, or None when it is a URL (or anything else not local)."""
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        guessed_type, extension = _sniff(data)
        name = file_name or f"upload.{extension}"
        return FileData(data, name, content_type or guessed_type)
    if isinstance(value, str) and (value.startswith(_URL_PREFIXES) or not Path(value).is_file()):
        return None
    if isinstance(value, str | Path):
        path = Path(value)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LocalFileError(f"Cannot read {path}: {exc.strerror}") from exc
        return _named(data, file_name or path.name, content_type)
    if hasattr(value, "read"):
        data = value.read()
        if isinstance(data, str):
            data = data.encode()
        name = file_name or Path(str(getattr(value, "name", "upload.bin"))).name
        return _named(data, name, content_type)
    return None


def _named(data: bytes, name: str, content_type: str | None) -> FileData:
    guessed = mimetypes.guess_type(name)[0] or _sniff(data)[0]
    return FileData(data, name, content_type or guessed)


def _sniff(data: bytes) -> tuple[str, str]:
    for magic, media_type, extension in _MAGIC:
        if data.startswith(magic):
            return media_type, extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return "application/octet-stream", "bin"
