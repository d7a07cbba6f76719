"""Shared fixtures: a manual clock, fast settings, a fresh app per test and an in-process client."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette

from mock_server import ManualClock, Settings, Timing, create_app

BASE_URL = "http://127.0.0.1:8000"
KEY = {"Authorization": "Key test-key"}
ENDPOINT = "google/gemini-omni-flash/reference-to-video"
APP = "google/gemini-omni-flash"
SUBMIT_URL = f"/queue/{ENDPOINT}"
VALID_INPUT = {
    "prompt": "A cat <IMAGE_REF_0> bats at a ball of yarn",
    "image_urls": ["https://example.com/cat.png"],
    "duration": 3,
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings() -> Settings:
    """One second in the queue, two running, one runner, and small videos so tests stay fast."""
    return Settings(
        timing=Timing(queue_seconds=1.0, run_seconds=2.0, runners=1),
        video_width=320,
        video_height=180,
    )


@pytest.fixture
def request_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"00000000-0000-7000-8000-{next(counter):012d}"


@pytest.fixture
def app(settings: Settings, clock: ManualClock, request_ids: Callable[[], str]) -> Starlette:
    return create_app(settings, clock=clock, new_request_id=request_ids)


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as client:
        yield client
