"""A scenario's output and logs: the generated output replaced or merged, given files served."""

from __future__ import annotations

import base64

import pytest

from falfake.errors import InvalidInput
from falfake.media.specs import Generation, GivenFile, ImageSpec, MediaSlot
from falfake.queue.models import Job, LogLine
from falfake.queue.stubs import Stub, stubbed

RENDERED = MediaSlot(
    at=("images", 0),
    spec=ImageSpec(64, 64),
    file_name="image_0.jpeg",
    fields={"width": 64, "height": 64, "content_type": "image/jpeg"},
)
JOB = Job(
    logs=(LogLine(0.0, "Generating"),),
    outcome=Generation(
        body={"images": [{}], "seed": 1, "timings": {"inference": 0.5, "total": 0.7}},
        slots=(RENDERED,),
    ),
)
VIDEO = MediaSlot(
    at=("video",), spec=ImageSpec(8, 8), file_name="v.mp4", fields={"content_type": "video/mp4"}
)
VIDEO_JOB = Job(logs=(), outcome=Generation(body={"video": {}}, slots=(VIDEO,)))
GOLDEN = {"$bytes": base64.b64encode(b"golden").decode(), "file_name": "golden.mp4"}


def generation(job: Job) -> Generation:
    assert isinstance(job.outcome, Generation)
    return job.outcome


def test_without_a_stub_the_job_is_the_same() -> None:
    assert stubbed(JOB, Stub()) is JOB


def test_fields_are_merged_object_by_object_and_the_rendered_file_stays() -> None:
    job = stubbed(JOB, Stub(output_fields={"seed": 7, "timings": {"total": 9.0}}))
    assert generation(job).body == {
        "images": [{}],
        "seed": 7,
        "timings": {"inference": 0.5, "total": 9.0},
    }
    assert generation(job).slots == (RENDERED,)
    assert job.logs == JOB.logs


def test_an_object_at_a_rendered_files_place_changes_its_fields() -> None:
    (slot,) = generation(stubbed(VIDEO_JOB, Stub(output_fields={"video": {"fps": 1}}))).slots
    assert slot.fields == {"content_type": "video/mp4", "fps": 1}
    assert slot.spec == VIDEO.spec


@pytest.mark.parametrize(
    "fields",
    [
        {"video": {"url": "https://example.com/a.mp4"}},  # a whole file object of its own
        {"video": "none"},
        {"video": GOLDEN},
    ],
)
def test_what_the_stub_puts_at_a_rendered_files_place_replaces_it(
    fields: dict[str, object],
) -> None:
    job = stubbed(VIDEO_JOB, Stub(output_fields=fields))
    assert VIDEO not in generation(job).slots


def test_a_list_replaces_a_list_rendered_files_and_all() -> None:
    job = stubbed(JOB, Stub(output_fields={"images": [{"width": 1}]}))
    assert generation(job).slots == ()
    assert generation(job).body["images"] == [{"width": 1}]


def test_a_given_file_becomes_a_slot_the_fake_serves() -> None:
    job = stubbed(JOB, Stub(output={"video": GOLDEN, "clips": [GOLDEN]}))
    body, slots = generation(job).body, generation(job).slots
    assert body == {"video": {}, "clips": [{}]}
    assert [(s.at, s.file_name) for s in slots] == [
        (("video",), "given0_golden.mp4"),
        (("clips", 0), "given1_golden.mp4"),
    ]
    assert slots[0].spec == GivenFile(b"golden", "video/mp4")
    assert slots[0].fields == {"content_type": "video/mp4", "file_name": "golden.mp4"}


@pytest.mark.parametrize(
    ("marker", "content_type", "served"),
    [
        ({"$bytes": "AA=="}, "application/octet-stream", "given0_file"),
        ({"$bytes": "AA==", "file_name": "../a b.png"}, "image/png", "given0_.._a_b.png"),
        ({"$bytes": "AA==", "content_type": "text/plain"}, "text/plain", "given0_file"),
    ],
)
def test_a_given_files_type_and_served_name(
    marker: dict[str, str], content_type: str, served: str
) -> None:
    (slot,) = generation(stubbed(JOB, Stub(output={"f": marker}))).slots
    assert (slot.spec.content_type, slot.file_name) == (content_type, served)  # type: ignore[union-attr]


def test_logs_are_spread_over_the_run() -> None:
    job = stubbed(JOB, Stub(logs=["one", "two", "three"]))
    assert job.logs == (LogLine(0.25, "one"), LogLine(0.5, "two"), LogLine(0.75, "three"))
    assert generation(job) == generation(JOB)


def test_a_rejected_input_is_not_stubbed() -> None:
    rejected = Job(logs=(), outcome=InvalidInput([{"loc": ["body"], "msg": "x"}]))
    assert stubbed(rejected, Stub(output={"a": 1}, logs=["x"])) is rejected
