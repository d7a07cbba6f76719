"""Following upstream requests: what a finished one is handed to, and a failing observer."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from falfake.settings import Secret, Upstream
from falfake.upstream.follow import Followed, Follower, payload, ran

pytestmark = pytest.mark.anyio


async def test_an_observer_that_fails_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    follower = Follower(Upstream("fal", Secret("k")), deliveries=None)  # type: ignore[arg-type]
    done = asyncio.Event()

    async def broken(followed: Followed) -> None:
        raise OSError("disk full")

    async def fine(followed: Followed) -> None:
        done.set()

    follower.finished(Followed("r-1", ran(1.0), 200, {}), [broken, fine])
    await asyncio.wait_for(done.wait(), timeout=10)
    assert "after r-1 finished upstream: OSError('disk full')" in caplog.text
    assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_a_sync_run_is_kept_as_running_at_once_then_done() -> None:
    assert [(s["after_seconds"], s["status"]) for s in ran(1.23456)] == [
        (0.0, "IN_PROGRESS"),
        (1.235, "COMPLETED"),
    ]


def test_the_webhook_of_a_failed_request_says_so_as_fal_does() -> None:
    body = json.loads(payload(Followed("r", [], 422, {"detail": []}), lambda url: url))
    assert body == {
        "error": "Invalid status code: 422",
        "gateway_request_id": "r",
        "payload": {"detail": []},
        "request_id": "r",
        "status": "ERROR",
    }
