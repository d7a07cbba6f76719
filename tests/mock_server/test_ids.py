"""Identifier formats."""

from __future__ import annotations

import re
import uuid

from mock_server.ids import file_segment, uuid7


def test_uuid7_has_version_variant_and_the_time_in_milliseconds() -> None:
    value = uuid.UUID(uuid7(1_785_000_000.123))
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == 1_785_000_000_123


def test_uuid7_sorts_by_time() -> None:
    earlier, later = uuid7(1_785_000_000.0), uuid7(1_785_000_000.002)
    assert earlier < later


def test_file_segment_has_fals_shape() -> None:
    assert re.fullmatch(r"[0-9a-f]{8}/[A-Za-z0-9_-]{21}", file_segment())


def test_file_segment_spells_its_random_bytes() -> None:
    drawn = bytes(range(20))

    assert file_segment(lambda n: drawn[:n]) == "00010203/BAUGBwgJCgsMDQ4PEBESE"
    assert file_segment() != file_segment()
