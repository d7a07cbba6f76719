"""A client pointed at fal's real hosts, with every request answered by respx, and no real waits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from falfake.client import FalClient, Hosts

QUEUE = "https://queue.fal.run"
SUBMIT = f"{QUEUE}/google/gemini-omni-flash/reference-to-video"
REQUESTS = f"{QUEUE}/google/gemini-omni-flash/requests"
RUN = "https://fal.run/google/gemini-omni-flash/reference-to-video"
INPUT = {"prompt": "A cat <IMAGE_REF_0>", "image_urls": ["https://example.com/cat.png"]}
OUTPUT = {
    "video": {
        "url": "https://v3b.fal.media/files/b/0a9ea0cc/u66I5Q5EHikrGF39EEk8t_output.mp4",
        "content_type": "video/mp4",
        "file_name": "output.mp4",
        "file_size": 4404019,
    }
}


def queued(request_id: str = "r1") -> dict[str, object]:
    base = f"{REQUESTS}/{request_id}"
    return {
        "status": "IN_QUEUE",
        "request_id": request_id,
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
        "logs": None,
        "metrics": {},
        "queue_position": 0,
    }


def cdn_token(mock: respx.MockRouter) -> respx.Route:
    """fal's CDN token call, answered with a token valid for months."""
    return mock.post("https://rest.fal.ai/storage/auth/token").respond(
        200,
        json={
            "token": "t",
            "base_url": "https://v3.fal.media",
            "expires_at": "2027-01-01T00:00:00Z",
        },
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def now() -> list[float]:
    """A clock the test moves by appending."""
    return [1_785_000_000.0]


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def fal(mock: respx.MockRouter, sleeps: list[float], now: list[float]) -> Iterator[FalClient]:
    with FalClient("key-id:secret", hosts=Hosts(), sleep=sleeps.append, clock=lambda: now[-1]) as c:
        yield c
