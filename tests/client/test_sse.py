"""The SSE decoder: events split anywhere, comments skipped, every line ending."""

from __future__ import annotations

import pytest

from falfake.client.sse import SSEDecoder


def decode(*chunks: str) -> list[str]:
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_an_event_split_across_chunks_arrives_once_whole() -> None:
    assert decode('data: {"a"', ": 1}", "\n", "\n") == ['{"a": 1}']


def test_keepalive_comments_and_other_fields_are_skipped() -> None:
    assert decode(": keep-alive\n\nevent: status\nid: 3\ndata: x\nretry: 10\n\n") == ["x"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_line_ending(newline: str) -> None:
    text = f"data: one{newline}{newline}data: two{newline}{newline}"
    assert decode(text) == ["one", "two"]


def test_a_carriage_return_at_a_chunk_end_waits_for_its_line_feed() -> None:
    assert decode("data: one\r", "\n\r\n") == ["one"]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert decode("data: a\ndata:b\ndata\n\n") == ["a\nb\n"]


def test_an_unfinished_event_is_not_emitted() -> None:
    assert decode("data: one\n") == []


def test_blank_lines_without_data_emit_nothing() -> None:
    assert decode("\n\n\n") == []
