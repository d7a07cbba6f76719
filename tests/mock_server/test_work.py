"""Media work runs off the event loop, a bounded number at once, and once per output."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from falfake.media.work import Work

pytestmark = pytest.mark.anyio
WAIT = 10.0  # seconds: only ever reached when the behaviour is broken


async def until(condition: Callable[[], bool]) -> None:
    """Wait for `condition` (set by worker threads) with a generous deadline."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


async def test_no_more_jobs_run_at_once_than_the_limit() -> None:
    work = Work(limit=2)
    release = threading.Event()
    lock = threading.Lock()
    running, most = 0, 0

    def job() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(WAIT)
        with lock:
            running -= 1

    jobs = [asyncio.ensure_future(work.run(job)) for _ in range(5)]
    await until(lambda: running == 2)
    assert work.limiter.statistics().tasks_waiting == 3
    release.set()
    await asyncio.wait_for(asyncio.gather(*jobs), WAIT)
    assert most == 2


async def test_the_event_loop_answers_while_a_job_runs() -> None:
    work = Work(limit=1)
    release = threading.Event()
    job = asyncio.ensure_future(work.run(lambda: release.wait(WAIT)))

    await asyncio.sleep(0)  # the loop is free: this returns although the job still runs
    assert not job.done()
    release.set()
    assert await asyncio.wait_for(job, WAIT) is True


async def test_callers_of_the_same_key_share_one_run() -> None:
    work = Work()
    started, release = asyncio.Event(), asyncio.Event()
    runs = 0

    async def render() -> int:
        nonlocal runs
        runs += 1
        started.set()
        await release.wait()
        return 42

    first = asyncio.ensure_future(work.once("out.mp4", render))
    await started.wait()
    second = asyncio.ensure_future(work.once("out.mp4", render))
    await asyncio.sleep(0)
    release.set()

    assert list(await asyncio.wait_for(asyncio.gather(first, second), WAIT)) == [42, 42]
    assert runs == 1


async def test_a_caller_that_gives_up_does_not_cancel_the_shared_run() -> None:
    work = Work()
    started, release = asyncio.Event(), asyncio.Event()

    async def render() -> int:
        started.set()
        await release.wait()
        return 7

    quitter = asyncio.ensure_future(work.once("out.mp4", render))
    await started.wait()
    stayer = asyncio.ensure_future(work.once("out.mp4", render))
    await asyncio.sleep(0)
    quitter.cancel()
    release.set()

    assert await asyncio.wait_for(stayer, WAIT) == 7
    with pytest.raises(asyncio.CancelledError):
        await quitter


async def test_a_finished_key_runs_again_when_asked_again() -> None:
    work = Work()
    runs = 0

    async def render() -> int:
        nonlocal runs
        runs += 1
        return runs

    assert await work.once("a", render) == 1
    assert await work.once("a", render) == 2
