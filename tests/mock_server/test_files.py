"""The file store's bound and `Range` parsing."""

from __future__ import annotations

import pytest

from mock_server.errors import NotFound, RangeNotSatisfiable
from mock_server.files import FileStore, byte_range


def test_oldest_files_go_past_the_limit() -> None:
    files = FileStore(max_files=2)
    for name in ["a", "b", "c"]:
        files.put(name, name.encode(), "text/plain")
    with pytest.raises(NotFound):
        files.read("a")
    assert files.read("c").data == b"c"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-0", (0, 0)),
        ("bytes=5-", (5, 9)),
        ("bytes=-3", (7, 9)),
        ("bytes=-30", (0, 9)),
        ("bytes=2-100", (2, 9)),
        ("bytes=-", None),
        ("bytes=4-2", None),
        ("bytes=0-1,3-4", None),
        (f"bytes=0-{'9' * 40}", None),
    ],
)
def test_byte_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, size=10) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=-1", 0)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, size)
