"""`--rate-limit`: submits and sync runs per second per key, past it fal's 429."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from falfake import ManualClock, Settings, create_app
from falfake.errors import RateLimited
from falfake.queue.rate_limit import RateLimiter
from tests.conftest import APP, BASE_URL, ENDPOINT, SUBMIT_URL, VALID_INPUT

pytestmark = pytest.mark.anyio


async def test_a_key_may_burst_up_to_the_rate_then_waits_for_tokens(clock: ManualClock) -> None:
    limiter = RateLimiter(2.0, clock.now)
    await limiter.check("Key a")
    await limiter.check("Key a")
    with pytest.raises(RateLimited) as refused:
        await limiter.check("Key a")
    assert refused.value.headers() == {"Retry-After": "1"}
    await limiter.check("Key b")  # another key has its own bucket
    clock.advance(0.5)
    await limiter.check("Key a")
    with pytest.raises(RateLimited):
        await limiter.check("Key a")


async def test_without_a_rate_nothing_is_limited(clock: ManualClock) -> None:
    limiter = RateLimiter(None, clock.now)
    for _ in range(1000):
        await limiter.check("Key a")


@pytest.fixture
def limited(settings: Settings, clock: ManualClock) -> httpx.AsyncClient:
    app = create_app(dataclasses.replace(settings, rate_limit=1.0), clock=clock)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def test_submits_past_the_rate_get_fals_429_and_polls_do_not(
    limited: httpx.AsyncClient, clock: ManualClock
) -> None:
    key = {"Authorization": "Key one"}
    async with limited:
        first = await limited.post(SUBMIT_URL, json=VALID_INPUT, headers=key)
        refused = await limited.post(SUBMIT_URL, json=VALID_INPUT, headers=key)
        run = await limited.post(f"/run/{ENDPOINT}", json=VALID_INPUT, headers=key)
        other_key = await limited.post(
            SUBMIT_URL, json=VALID_INPUT, headers={"Authorization": "Key two"}
        )
        request_id = first.json()["request_id"]
        polls = [
            await limited.get(f"/queue/{APP}/requests/{request_id}/status", headers=key)
            for _ in range(5)
        ]
        clock.advance(1.0)
        again = await limited.post(SUBMIT_URL, json=VALID_INPUT, headers=key)
    assert first.status_code == other_key.status_code == again.status_code == 200
    for response in (refused, run):
        assert response.status_code == 429
        assert response.json() == {"detail": "Too many requests", "error_type": "rate_limited"}
        assert response.headers["x-fal-error-type"] == "rate_limited"
        assert response.headers["retry-after"] == "1"
    assert {poll.status_code for poll in polls} == {202}


async def test_buckets_of_keys_not_seen_lately_are_forgotten_so_keys_cannot_grow_memory(
    clock: ManualClock,
) -> None:
    limiter = RateLimiter(1.0, clock.now)
    await limiter.check("Key first")
    for n in range(10_000):
        await limiter.check(f"Key {n}")
    await limiter.check("Key first")  # a full bucket again: its empty one was forgotten
    with pytest.raises(RateLimited):
        await limiter.check("Key 9999")


async def test_a_rate_under_one_a_second_lets_one_through_per_period(clock: ManualClock) -> None:
    limiter = RateLimiter(0.5, clock.now)
    await limiter.check("Key a")
    with pytest.raises(RateLimited) as refused:
        await limiter.check("Key a")
    assert refused.value.headers() == {"Retry-After": "2"}
    clock.advance(2.0)
    await limiter.check("Key a")
