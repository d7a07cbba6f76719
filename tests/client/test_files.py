"""What counts as a local file to upload, and its name and media type."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from falfake.client import LocalFileError
from falfake.client.files import FileData, read_file

PNG = b"\x89PNG\r\n\x1a\nrest"


def test_bytes_are_named_and_typed_by_their_magic() -> None:
    assert read_file(PNG) == FileData(PNG, "upload.png", "image/png")
    assert read_file(b"RIFF\0\0\0\0WEBPVP8 ") == FileData(
        b"RIFF\0\0\0\0WEBPVP8 ", "upload.webp", "image/webp"
    )
    assert read_file(b"???") == FileData(b"???", "upload.bin", "application/octet-stream")


def test_paths_and_existing_path_strings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "ref.jpg"
    path.write_bytes(b"jpeg")
    assert read_file(path) == FileData(b"jpeg", "ref.jpg", "image/jpeg")
    assert read_file(str(path)) == FileData(b"jpeg", "ref.jpg", "image/jpeg")


def test_file_objects_are_read_with_their_name() -> None:
    stream = io.BytesIO(PNG)
    stream.name = "/somewhere/pic.png"
    assert read_file(stream) == FileData(PNG, "pic.png", "image/png")


@pytest.mark.parametrize(
    "value", ["https://x/y.png", "data:image/png;base64,AA==", "not-a-file.png", 5, None]
)
def test_urls_and_other_values_are_left_alone(value: object) -> None:
    assert read_file(value) is None


def test_a_missing_path_is_a_client_error(tmp_path: Path) -> None:
    with pytest.raises(LocalFileError, match=r"nope\.png"):
        read_file(tmp_path / "nope.png")


def test_explicit_name_and_type_win() -> None:
    assert read_file(PNG, content_type="x/y", file_name="a.b") == FileData(PNG, "a.b", "x/y")
