"""Identifier formats."""

from __future__ import annotations

import re
import uuid

from falfake.ids import RandomPool, file_segment, uuid7


def test_uuid7_has_version_variant_and_the_time_in_milliseconds() -> None:
    value = uuid.UUID(uuid7(1_785_000_000.123))
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == 1_785_000_000_123


def test_uuid7_is_spelled_as_the_standard_library_spells_it() -> None:
    for _ in range(100):
        spelled = uuid7(1_785_000_000.5)
        assert str(uuid.UUID(spelled)) == spelled


def test_uuid7_sorts_by_time() -> None:
    earlier, later = uuid7(1_785_000_000.0), uuid7(1_785_000_000.002)
    assert earlier < later


def test_file_segment_has_fals_shape() -> None:
    assert re.fullmatch(r"[0-9a-f]{8}/[A-Za-z0-9_-]{21}", file_segment())


def test_file_segment_spells_its_random_bytes() -> None:
    drawn = bytes(range(20))

    assert file_segment(lambda n: drawn[:n]) == "00010203/BAUGBwgJCgsMDQ4PEBESE"
    assert file_segment() != file_segment()


def test_the_pool_hands_out_each_drawn_byte_once_and_draws_again_when_empty() -> None:
    draws: list[int] = []

    def draw(count: int) -> bytes:
        draws.append(count)
        return bytes((len(draws) * 16 + n) % 256 for n in range(count))

    pool = RandomPool(draw, size=8)
    taken = [pool.take(3), pool.take(3), pool.take(3), pool.take(20)]

    assert taken[0] + taken[1] == draw_bytes(1, 6)
    assert taken[2] == draw_bytes(2, 3)
    assert len(taken[3]) == 20
    assert draws == [8, 8, 20]


def draw_bytes(draw: int, count: int) -> bytes:
    return bytes((draw * 16 + n) % 256 for n in range(count))
