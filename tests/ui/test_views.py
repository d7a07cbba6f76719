"""What the dashboard makes of the fake's data: times, sizes, media found in an output."""

from __future__ import annotations

import json

import pytest

from falfake.ui import views


def test_media_are_found_anywhere_in_an_output_by_content_type() -> None:
    output = {
        "video": {"url": "v.mp4", "content_type": "video/mp4"},
        "images": [{"url": "a.png", "content_type": "image/png"}, {"url": "b", "width": 1}],
        "audio": {"url": "s.mp3", "content_type": "audio/mpeg"},
        "other": {"url": "m.glb", "content_type": "model/gltf-binary"},
    }
    assert views.media_in(output) == [("video", "v.mp4"), ("img", "a.png"), ("audio", "s.mp3")]


@pytest.mark.parametrize(
    ("count", "shown"), [(11, "11 B"), (2048, "2.0 KiB"), (3 * 1024**2 + 1, "3.0 MiB")]
)
def test_sizes_are_read_as_people_read_them(count: int, shown: str) -> None:
    assert views.size(count) == shown


def test_times_are_utc_to_the_millisecond() -> None:
    assert views.moment(1_796_222_218.4385) == "2026-12-02 14:36:58.438"
    assert views.moment(None) == ""


def test_a_422s_error_type_is_its_first_entrys() -> None:
    assert views.error_type(None, [{"type": "content_policy_violation"}]) == (
        "content_policy_violation"
    )
    assert views.error_type("client_cancelled", "Request cancelled") == "client_cancelled"
    assert views.error_type(None, "flat") == ""


def test_json_is_shown_as_written_with_lone_surrogates_escaped() -> None:
    shown = views.pretty({"prompt": "猫 \udfff", "aspect_ratio": "\ud800"})
    assert shown.encode("utf-8")  # a page carries it
    assert json.loads(shown) == {"prompt": "猫 \udfff", "aspect_ratio": "\ud800"}
    assert "猫" in shown
