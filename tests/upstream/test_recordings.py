"""Recordings as files: named by what they match, scrubbed of the key, read back for replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from falfake.upstream.recordings import (
    REDACTED,
    differing_fields,
    file_of,
    load,
    match_key,
    matched_input,
    media_marked,
    recorded_logs,
    replayable,
    scrubbed,
    timings,
    write,
)

STATES = [
    {"after_seconds": 0.1, "status": "IN_QUEUE", "queue_position": 0, "logs": []},
    {"after_seconds": 2.0, "status": "IN_PROGRESS", "queue_position": None,
     "logs": [{"message": "Loading"}]},
    {"after_seconds": 10.0, "status": "COMPLETED", "queue_position": None,
     "logs": [{"message": "Done"}]},
]  # fmt: skip


def test_ignored_fields_do_not_change_what_a_call_matches() -> None:
    one = matched_input({"prompt": "a", "seed": 1}, ["seed"])
    two = matched_input({"seed": 2, "prompt": "a"}, ["seed"])
    assert one == two == {"prompt": "a"}
    assert match_key("fal-ai/x", one) == match_key("fal-ai/x", two)
    assert match_key("fal-ai/x", one) != match_key("fal-ai/y", one)


def test_the_key_is_scrubbed_from_every_string_keys_included() -> None:
    node = {"url": "https://x/?key=s3cret", "s3cret": ["a s3cret b"], "n": 1}
    assert scrubbed(node, "s3cret") == {
        "url": f"https://x/?key={REDACTED}",
        REDACTED: [f"a {REDACTED} b"],
        "n": 1,
    }


def test_media_objects_become_markers_and_keep_their_other_fields() -> None:
    output = {"images": [{"url": "https://cdn/a.png", "width": 4}], "note": "https://cdn/a.png"}
    marked = media_marked(output, lambda url: {"$file": "media/a.png"})
    assert marked == {"images": [{"$file": "media/a.png", "width": 4}], "note": "https://cdn/a.png"}


def test_replayed_times_and_logs_are_the_recorded_ones() -> None:
    assert timings(STATES, speed=1.0) == (2.0, 8.0)
    assert timings(STATES, speed=4.0) == (0.5, 2.0)
    assert recorded_logs(STATES) == [(0.0, "Loading"), (1.0, "Done")]


def test_a_lifecycle_that_never_ran_queued_until_it_completed() -> None:
    assert timings([{"after_seconds": 3.0, "status": "COMPLETED", "logs": []}], 1.0) == (3.0, 0.0)


def test_recording_the_same_call_again_replaces_it(tmp_path: Path) -> None:
    for seed in (1, 2):
        result = {"status": 200, "body": {"seed": seed}}
        write(tmp_path, "fal-ai/x", {"p": 1}, {"states": STATES, "result": result},
              secret="k", version="1", now=0.0)  # fmt: skip
    (recording,) = load(tmp_path)
    assert recording.path == file_of(tmp_path, "fal-ai/x", {"p": 1})
    assert recording.data["result"]["body"] == {"seed": 2}
    assert recording.data["recorded_at"] == "1970-01-01T00:00:00+00:00"
    assert replayable(recording)
    assert [p.name for p in recording.path.parent.iterdir()] == [recording.path.name]


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        pytest.param({"status": 422, "body": {"detail": []}}, True, id="failed"),
        pytest.param({"status": 200, "body": "not an output"}, False, id="not-an-output"),
        pytest.param({}, False, id="no-result"),
    ],
)
def test_a_failed_lifecycle_replays_but_a_broken_recording_does_not(
    tmp_path: Path, result: dict[str, object], kept: bool
) -> None:
    write(tmp_path, "fal-ai/x", {}, {"states": STATES, "result": result},
          secret="k", version="1", now=0.0)  # fmt: skip
    assert replayable(load(tmp_path)[0]) is kept


@pytest.mark.parametrize(
    ("recorded", "asked", "fields"),
    [
        pytest.param({"a": 1, "b": 2}, {"a": 1, "b": 3}, ["b"], id="value"),
        pytest.param({"a": 1}, {"a": 1, "c": 0}, ["c"], id="added"),
        pytest.param({"a": 1}, [1], ["(input)"], id="not-an-object"),
    ],
)
def test_a_miss_names_the_fields_that_differ(
    recorded: object, asked: object, fields: list[str]
) -> None:
    assert differing_fields(recorded, asked) == fields


def test_a_recording_is_plain_readable_json(tmp_path: Path) -> None:
    path = write(tmp_path, "fal-ai/x", {"p": 1}, {"states": [], "result": {}},
                 secret="k", version="1", now=0.0)  # fmt: skip
    assert json.loads(path.read_text())["endpoint"] == "fal-ai/x"
    assert path.read_text().startswith('{\n  "format": 1,')


def test_a_line_first_seen_mid_run_is_printed_mid_run_again() -> None:
    middle = {"after_seconds": 6.0, "status": "IN_PROGRESS", "queue_position": None,
              "logs": [{"message": "Half way"}]}  # fmt: skip
    states = [STATES[0], STATES[1], middle, STATES[2]]
    assert recorded_logs(states) == [(0.0, "Loading"), (0.5, "Half way"), (1.0, "Done")]


@pytest.mark.parametrize(
    ("content", "media"),
    [
        pytest.param("not json", None, id="not-json"),
        pytest.param('{"endpoint": "fal-ai/x"}', None, id="a-field-missing"),
        pytest.param(None, "../../secret.txt", id="media-outside-the-folder"),
        pytest.param(None, "media/gone.png", id="media-gone"),
    ],
)
def test_a_file_that_is_not_a_recording_is_left_aside_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str | None, media: str | None
) -> None:
    (tmp_path / "secret.txt").write_text("never served")
    good = {"states": STATES, "result": {"status": 200, "body": {}}}
    write(tmp_path, "fal-ai/x", {"p": 1}, good, secret="k", version="1", now=0.0)
    broken = tmp_path / "fal-ai--x" / "broken.json"
    if content is None:
        body = {"image": {"$file": media}}
        bad = {**good, "result": {"status": 200, "body": body}}
        write(tmp_path / "other", "fal-ai/x", {"p": 2}, bad, secret="k", version="1", now=0.0)
        (tmp_path / "other" / "fal-ai--x").rename(tmp_path / "fal-ai--y")
        broken = next((tmp_path / "fal-ai--y").glob("*.json"))
    else:
        broken.write_text(content)
    assert [r.matched for r in load(tmp_path)] == [{"p": 1}]
    assert f"{broken} is not a recording falfake can replay" in caplog.text
