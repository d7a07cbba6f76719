"""The file store's bounds and expiry, and `Range` parsing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from falfake import ManualClock
from falfake.errors import NotFound, PayloadTooLarge, RangeNotSatisfiable
from falfake.media.files import FileStore, byte_range
from falfake.settings import Retention

pytestmark = pytest.mark.anyio


@pytest.fixture
def make_files(clock: ManualClock) -> Callable[..., FileStore]:
    return lambda **bounds: FileStore(Retention(**bounds), clock.now)


async def test_a_file_is_served_as_it_was_put(make_files: Callable[..., FileStore]) -> None:
    files = make_files()
    await files.put("b/x/cat.png", b"png bytes", "image/png")
    stored = await files.read("b/x/cat.png")
    assert (stored.data, stored.content_type) == (b"png bytes", "image/png")
    with pytest.raises(NotFound):
        await files.read("b/x/dog.png")


async def test_oldest_files_go_past_the_count_limit(make_files: Callable[..., FileStore]) -> None:
    files = make_files(max_files=2)
    for name in ["a", "b", "c"]:
        await files.put(name, name.encode(), "text/plain")
    with pytest.raises(NotFound):
        await files.read("a")
    assert [(await files.read(name)).data for name in ["b", "c"]] == [b"b", b"c"]


async def test_oldest_files_go_past_the_byte_limit(make_files: Callable[..., FileStore]) -> None:
    files = make_files(max_file_bytes=10)
    await files.put("a", b"1234", "text/plain")
    await files.put("b", b"5678", "text/plain")
    await files.put("c", b"90ab", "text/plain")
    with pytest.raises(NotFound):
        await files.read("a")
    assert (len(files), await files.total_bytes()) == (2, 8)


async def test_a_file_larger_than_all_the_room_is_413_and_drops_nothing(
    make_files: Callable[..., FileStore],
) -> None:
    files = make_files(max_file_bytes=10)
    await files.put("a", b"1234", "text/plain")
    with pytest.raises(PayloadTooLarge):
        await files.put("big", b"x" * 11, "text/plain")
    assert (await files.read("a")).data == b"1234"


async def test_putting_a_path_again_replaces_it_and_counts_it_once(
    make_files: Callable[..., FileStore],
) -> None:
    files = make_files()
    await files.put("a", b"old", "text/plain")
    await files.put("a", b"newer", "text/csv")
    assert ((await files.read("a")).data, (await files.read("a")).content_type) == (
        b"newer",
        "text/csv",
    )
    assert (len(files), await files.total_bytes()) == (1, 5)


async def test_files_expire_after_their_time_to_live(
    make_files: Callable[..., FileStore], clock: ManualClock
) -> None:
    files = make_files(file_ttl_seconds=60.0)
    await files.put("a", b"1", "text/plain")
    clock.advance(30.0)
    await files.put("b", b"2", "text/plain")
    clock.advance(29.9)
    assert (await files.read("a")).data == b"1"
    clock.advance(0.1)
    with pytest.raises(NotFound):
        await files.read("a")
    assert (await files.read("b")).data == b"2"
    assert await files.entry("a") is None


async def test_reset_forgets_every_file(make_files: Callable[..., FileStore]) -> None:
    files = make_files()
    await files.put("a", b"1", "text/plain")
    await files.reset()
    assert (len(files), await files.total_bytes()) == (0, 0)
    with pytest.raises(NotFound):
        await files.read("a")


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
