"""The runners' moves are replayed between requests, a slice at a time, as they fall due; a clock
moved by a test is caught up before the move returns."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from falfake import Settings, Timing, create_app
from falfake.clock import VirtualClock
from falfake.queue.models import Status
from falfake.queue.runners import SLICE, keep_up
from tests.conftest import BASE_URL, KEY, SUBMIT_URL, VALID_INPUT

pytestmark = pytest.mark.anyio


class Store:
    """A store whose moves are all due at once until `due` slices have been replayed."""

    def __init__(self, due: int) -> None:
        self.due = due
        self.limits: list[int] = []
        self.done = asyncio.Event()

    async def keep_up(self, limit: int) -> float | None:
        self.limits.append(limit)
        if len(self.limits) <= self.due:
            return None
        self.done.set()
        return math.inf


async def test_moves_due_are_replayed_in_slices_until_none_is_left() -> None:
    store = Store(due=5)
    task = asyncio.get_running_loop().create_task(keep_up(store, lambda: 0.0))
    await asyncio.wait_for(store.done.wait(), timeout=10)
    task.cancel()
    assert store.limits == [SLICE] * 6


async def test_moving_a_virtual_clock_replays_every_move_before_it_answers() -> None:
    clock = VirtualClock()
    app = create_app(Settings(timing=Timing(1.0, 2.0, 1000)), clock=clock)
    fake = app.state.fake
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=KEY) as http:
        for _ in range(3 * SLICE):
            assert (await http.post(SUBMIT_URL, json=VALID_INPUT)).status_code == 200
        await fake.advance(10.0)
        assert await fake.store.keep_up(1) == math.inf  # nothing left to replay
        listed = await fake.store.recent(3 * SLICE)
        assert {snapshot.request.status for snapshot in listed} == {Status.COMPLETED}
