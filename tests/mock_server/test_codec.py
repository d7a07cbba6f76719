"""Requests survive the trip to SQLite's text and back unchanged, errors with their wire form."""

from __future__ import annotations

import dataclasses

import pytest

from falfake.endpoints.reference_to_video import video_output
from falfake.errors import (
    AlreadyCompleted,
    BodyNotParsed,
    ClientCancelled,
    FalError,
    InvalidInput,
    RateLimited,
    StartTimeout,
)
from falfake.media.specs import (
    AudioSpec,
    Generation,
    GivenFile,
    ImageSource,
    ImageSpec,
    MediaSlot,
    VideoSpec,
)
from falfake.queue.models import Job, LogLine, QueuedRequest, Status
from falfake.runtime.codec import decode_error, decode_request, encode_error, encode_request
from falfake.validation import Priority

IMAGE = ImageSource(digest="d1", label="cat.png", index=0, data=b"\x89PNG bytes")
PLACEHOLDER = ImageSource(digest="d2", label="reference image: https://x/y.png", index=1)
VIDEO = VideoSpec(1280, 720, 8, prompt="A cat \ud800 <IMAGE_REF_0>", request_id="r1")
PICTURES = Generation(
    body={"images": [None, None], "seed": 42, "has_nsfw_concepts": [False, True]},
    slots=tuple(
        MediaSlot(
            at=("images", n),
            spec=ImageSpec(512, 384, "png", "a cat", "r1", index=n, blank=n == 1),
            file_name=f"image_{n}.png",
            fields={"width": 512, "height": 384, "content_type": "image/png"},
            with_size=False,
        )
        for n in range(2)
    ),
    billable_units="2",
    inline=True,
)
GIVEN = Generation(
    body={"video": {}},
    slots=(
        MediaSlot(
            at=("video",),
            spec=GivenFile(b"\x00golden\xff", "video/mp4"),
            file_name="given0_golden.mp4",
            fields={"content_type": "video/mp4", "file_name": "golden.mp4"},
        ),
    ),
)
SPEECH = Generation(
    body={"audio": None},
    slots=(MediaSlot(at=("audio",), spec=AudioSpec(2.5, "mp3", "hello", "r1"), file_name="a.mp3"),),
)


def request(job: Job, **changes: object) -> QueuedRequest:
    base = QueuedRequest(
        request_id="r1",
        endpoint_id="owner/app/path",
        app_id="owner/app",
        job=job,
        priority=Priority.LOW,
        seq=7,
        submitted_at=1.5,
        eligible_at=2.5,
        start_deadline=9.0,
        output_path="b/x",
        webhook_url="http://127.0.0.1:1/hook",
        media_root="http://127.0.0.1:8000",
        run_seconds=0.25,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "original",
    [
        request(Job(logs=(LogLine(0.5, "half", "WARN"),), outcome=video_output(VIDEO))),
        request(
            Job(
                logs=(),
                outcome=video_output(dataclasses.replace(VIDEO, images=(IMAGE, PLACEHOLDER))),
            ),
            status=Status.IN_PROGRESS,
            started_at=3.0,
            finishes_at=5.0,
        ),
        request(
            Job(logs=(), outcome=video_output(VIDEO)),
            status=Status.COMPLETED,
            started_at=3.0,
            finishes_at=5.0,
            completed_at=4.0,
            failure=ClientCancelled("r1"),
            webhook_pending=True,
        ),
        request(
            Job(logs=(), outcome=InvalidInput([{"loc": ["body"], "msg": "x"}]), fails_late=True)
        ),
        request(Job(logs=(), outcome=PICTURES)),
        request(Job(logs=(), outcome=SPEECH)),
        request(Job(logs=(LogLine(0.5, "stubbed"),), outcome=GIVEN)),
    ],
    ids=["queued", "running-with-images", "cancelled", "failing", "images", "speech", "given"],
)
def test_a_request_round_trips(original: QueuedRequest) -> None:
    images = {IMAGE.digest: IMAGE.data}
    decoded = decode_request(encode_request(original), images.get)
    assert dataclasses.replace(decoded, job=original.job, failure=original.failure) == original
    assert encode_request(decoded) == encode_request(original)
    assert decoded.job.logs == original.job.logs
    if isinstance(original.job.outcome, Generation):
        assert decoded.job.outcome == original.job.outcome
        assert isinstance(decoded.job.outcome, Generation)
        data = [image.data for image in decoded.job.outcome.images]
        assert data == [image.data for image in original.job.outcome.images]


@pytest.mark.parametrize(
    "error",
    [
        InvalidInput(
            [{"loc": ["body", "prompt"], "msg": "bad \udcff", "type": "x"}], request_id="r"
        ),
        BodyNotParsed(),
        ClientCancelled("r"),
        StartTimeout("r"),
        AlreadyCompleted("r", documented_shape=True),
        RateLimited("Too many requests", retry_after=3),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_error_keeps_its_class_status_body_and_headers(error: FalError) -> None:
    decoded = decode_error(encode_error(error))
    assert type(decoded) is type(error)
    assert (decoded.status_code, decoded.body(), decoded.headers(), decoded.request_id) == (
        error.status_code,
        error.body(),
        error.headers(),
        error.request_id,
    )
