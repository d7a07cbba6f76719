"""Requests survive the trip to SQLite's text and back unchanged, errors with their wire form."""

from __future__ import annotations

import dataclasses

import pytest

from falfake.errors import (
    AlreadyCompleted,
    BodyNotParsed,
    ClientCancelled,
    FalError,
    InvalidInput,
    RateLimited,
    StartTimeout,
)
from falfake.media.specs import Generation
from falfake.queue.models import QueuedRequest
from falfake.runtime.codec import decode_error, decode_request, encode_error, encode_request
from tests.samples import IMAGE, NAMES, REQUESTS


@pytest.mark.parametrize("original", REQUESTS, ids=NAMES)
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
