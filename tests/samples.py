"""Requests as the store holds them, one of each kind of output and state: what a record of a
request (SQLite's text, a packed finished request) must give back unchanged."""

from __future__ import annotations

import dataclasses

from falfake.endpoints.reference_to_video import video_output
from falfake.errors import ClientCancelled, InvalidInput
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


REQUESTS = [
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
    request(Job(logs=(), outcome=InvalidInput([{"loc": ["body"], "msg": "x"}]), fails_late=True)),
    request(Job(logs=(), outcome=PICTURES)),
    request(Job(logs=(), outcome=SPEECH)),
    request(Job(logs=(LogLine(0.5, "stubbed"),), outcome=GIVEN)),
]
NAMES = ["queued", "running-with-images", "cancelled", "failing", "images", "speech", "given"]
