"""A packed finished request comes back equal to what was packed, holds nothing the garbage
collector tracks, and is small; what cannot be packed is said so, not lost."""

from __future__ import annotations

import dataclasses
import enum
import gc

import pytest

from falfake.endpoints.reference_to_video import video_output
from falfake.media.specs import Generation, VideoSpec
from falfake.queue.compact import Packed, pack, unpack
from falfake.queue.models import Job, LogLine, QueuedRequest, Status
from falfake.runtime.codec import encode_request
from tests.samples import NAMES, REQUESTS, request

SEED = request(
    Job(
        logs=(LogLine(0.0, "Validating input"), LogLine(1.0, "Video generated")),
        outcome=video_output(
            VideoSpec(1280, 720, 8, prompt="A cat <IMAGE_REF_0>", request_id="r1")
        ),
    ),
    status=Status.COMPLETED,
    started_at=3.0,
    finishes_at=5.0,
    completed_at=5.0,
)


def packed(original: QueuedRequest) -> Packed:
    found = pack(original)
    assert found is not None
    return found


@pytest.mark.parametrize("original", REQUESTS, ids=NAMES)
def test_a_request_comes_back_equal(original: QueuedRequest) -> None:
    again = unpack(packed(original))
    # Errors compare by identity: their class and state are compared through the record.
    assert dataclasses.replace(again, job=original.job, failure=original.failure) == original
    assert encode_request(again) == encode_request(original)
    assert again.job.logs == original.job.logs
    if isinstance(original.job.outcome, Generation):
        assert again.job.outcome == original.job.outcome
        originals = [image.data for image in original.job.outcome.images]
        assert [image.data for image in again.job.outcome.images] == originals


def test_image_bytes_are_kept_as_they_are_not_copied_into_the_record() -> None:
    with_image = REQUESTS[NAMES.index("running-with-images")]
    outcome = with_image.job.outcome
    assert isinstance(outcome, Generation)
    data = outcome.images[0].data
    assert data is not None
    entry = packed(with_image)
    again = unpack(entry).job.outcome
    assert isinstance(again, Generation)
    assert again.images[0].data is data
    assert data not in entry[5]  # the record


def test_the_collector_does_not_track_a_packed_request() -> None:
    entries = [packed(original) for original in REQUESTS]
    gc.collect()  # tuples of untracked values are untracked at their first collection
    assert not any(gc.is_tracked(entry) for entry in entries)
    assert all(gc.is_tracked(original) for original in REQUESTS)


class Shade(enum.StrEnum):
    DARK = "dark"


def test_a_request_holding_what_marshal_cannot_keep_is_not_packed() -> None:
    odd = dataclasses.replace(
        SEED, job=Job(logs=(), outcome=Generation(body={"shade": Shade.DARK}))
    )
    assert pack(odd) is None


def test_a_job_keeps_its_output_as_bytes_the_collector_does_not_track() -> None:
    job = Job(logs=(), outcome=video_output(VideoSpec(64, 36, 3, prompt="a cat")))
    gc.collect()
    kept = [found for found in gc.get_referents(job) if found is not Job]
    assert [found for found in kept if gc.is_tracked(found)] == []
    assert job.outcome == video_output(VideoSpec(64, 36, 3, prompt="a cat"))


def test_requests_whose_jobs_share_log_lines_share_them_packed() -> None:
    logs = (LogLine(0.0, "Validating input"), LogLine(1.0, "Video generated"))
    first, second = (
        packed(
            dataclasses.replace(
                SEED, job=Job(logs=logs, outcome=video_output(VideoSpec(64, 36, 3)))
            )
        )
        for _ in range(2)
    )
    assert first[4] is second[4]
    assert unpack(first).job.logs is unpack(second).job.logs
