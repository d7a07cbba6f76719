"""What a stream sends for an output: cumulative text for LLM-like outputs, progress for media."""

from __future__ import annotations

import itertools

import pytest

from falfake.queue.streaming import MAX_TEXT_EVENTS, event_times, media_events, text_events


def test_text_is_sent_word_by_word_cumulatively_then_whole() -> None:
    body = {"output": "one two three", "partial": False}
    assert text_events(body, "output") == [
        {"output": "one", "partial": True},
        {"output": "one two", "partial": True},
        {"output": "one two three", "partial": False},
    ]


def test_a_long_text_takes_at_most_the_event_budget_and_every_event_extends_the_last() -> None:
    words = " ".join(f"w{n}" for n in range(1000))
    events = text_events({"output": words}, "output")
    assert len(events) <= MAX_TEXT_EVENTS + 1
    texts = [event["output"] for event in events]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert events[-1] == {"output": words, "partial": False}


def test_an_empty_text_is_one_final_event() -> None:
    assert text_events({"output": ""}, "output") == [{"output": "", "partial": False}]


def test_media_sends_progress_with_previews_then_the_output() -> None:
    preview = {"url": "data:image/jpeg;base64,AA==", "width": 8, "height": 8}
    output = {"images": [{"url": "http://x/files/a.jpeg"}]}
    assert media_events(output, 2, [preview]) == [
        {"progress": 0.333, "message": "Generating", "images": [preview]},
        {"progress": 0.667, "message": "Generating", "images": [preview]},
        output,
    ]


def test_media_without_images_sends_progress_alone() -> None:
    assert media_events({"video": {}}, 1) == [
        {"progress": 0.5, "message": "Generating"},
        {"video": {}},
    ]


def test_events_are_spread_over_the_run_and_the_last_ends_it() -> None:
    assert event_times(100.0, 2.0, 4) == pytest.approx([100.5, 101.0, 101.5, 102.0])
