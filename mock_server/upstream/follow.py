"""Following a forwarded request upstream: polled (with its logs) until COMPLETED, then its result
read. Two things need it: webhooks (fal cannot reach a receiver on the app's machine, so the fake
asks the upstream for no webhook and sends the app's itself, signed with its own key, the
output's URLs pointing at the fake) and recordings (`upstream.recordings`), which keep every
state the request went through.

A request being followed lives in this process: a restart stops following it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from falfake.settings import Upstream
from falfake.upstream.targets import parsed, rewritten
from falfake.webhooks.delivery import Deliveries
from falfake.webhooks.payloads import serialised

logger = logging.getLogger("falfake")
# The reply headers a recording keeps: what they say about the result, nothing that identifies
# the caller or the request (ids change on every run).
KEPT_HEADERS = ("content-type", "x-fal-billable-units", "x-fal-error-type")
# How long a request is followed before it is given up (fal keeps requests 1 h too).
FOLLOW_SECONDS = 3600.0


@dataclass(slots=True)
class Followed:
    """What a followed request went through: each new state, seconds after it was submitted
    (its status, queue position and the log lines printed since the state before), and its
    result."""

    request_id: str
    states: list[dict[str, Any]] = field(default_factory=list)
    result_status: int = 0
    result: Any = None
    result_headers: dict[str, str] = field(default_factory=dict)


Observer = Callable[[Followed], Awaitable[None]]


class Follower:
    def __init__(self, upstream: Upstream, deliveries: Deliveries) -> None:
        self.upstream, self.deliveries = upstream, deliveries
        self._tasks: set[asyncio.Task[None]] = set()

    def follow(
        self,
        request_id: str,
        status_url: str,
        response_url: str,
        then: list[Observer],
    ) -> None:
        """Follow the upstream request in the background; hand what it went through to each of
        `then` once it is done."""
        self._spawn(self._follow(Followed(request_id), status_url, response_url, then))

    def finished(self, followed: Followed, then: list[Observer]) -> None:
        """Hand a request that finished at once (a sync run) to `then`, in the background."""

        self._spawn(_observe(followed, then))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background, held until it ends (the loop keeps weak references)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def webhook(self, url: str, rewrite: Callable[[str], str]) -> Observer:
        """Send the app's webhook for the followed request, as fal would have."""

        async def deliver(followed: Followed) -> None:
            body = payload(followed, rewrite)
            await self.deliveries.start(url, followed.request_id, body)

        return deliver

    async def _follow(
        self, followed: Followed, status_url: str, response_url: str, then: list[Observer]
    ) -> None:
        headers = {"authorization": f"Key {self.upstream.key}"}
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with httpx.AsyncClient(headers=headers, timeout=30.0) as client:
            while loop.time() < started + FOLLOW_SECONDS:
                try:
                    status = (await client.get(status_url, params={"logs": "1"})).json()
                    _observed(followed, status, loop.time() - started)
                    if status.get("status") == "COMPLETED":
                        result = await client.get(response_url)
                        followed.result_status = result.status_code
                        followed.result = parsed(result.content)
                        followed.result_headers = kept_headers(result.headers)
                        break
                except (httpx.HTTPError, ValueError, AttributeError) as exc:
                    logger.info("following %s upstream: %r", followed.request_id, exc)
                await asyncio.sleep(self.upstream.poll_seconds)
            else:
                logger.warning("gave up following %s upstream", followed.request_id)
                return
        await _observe(followed, then)


async def _observe(followed: Followed, then: list[Observer]) -> None:
    """Hand `followed` to each observer; one that fails (a media download, a full disk) is
    logged in a line and the others still run."""
    for observer in then:
        try:
            await observer(followed)
        except Exception as exc:  # in a background task: a traceback would reach no one
            logger.warning("falfake: after %s finished upstream: %r", followed.request_id, exc)


def _observed(followed: Followed, status: dict[str, Any], seconds: float) -> None:
    """Keep a state that is new: another status or queue position, or more log lines (only the
    new lines are kept with it)."""
    logs = status.get("logs") or []
    new = logs[sum(len(state["logs"]) for state in followed.states) :]
    moved = (status.get("status"), status.get("queue_position"))
    last = followed.states[-1] if followed.states else None
    if last is None or new or (last["status"], last["queue_position"]) != moved:
        followed.states.append(
            {
                "after_seconds": round(seconds, 3),
                "status": moved[0],
                "queue_position": moved[1],
                "logs": new,
            }
        )


def payload(followed: Followed, rewrite: Callable[[str], str]) -> bytes:
    """The webhook body of a finished request, as fal sends it (PROTOCOL.md §12)."""
    ok = followed.result_status == 200
    return serialised(
        {
            "error": None if ok else f"Invalid status code: {followed.result_status}",
            "gateway_request_id": followed.request_id,
            "payload": rewritten(followed.result, rewrite),
            "request_id": followed.request_id,
            "status": "OK" if ok else "ERROR",
        }
    )


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The allow-listed headers of a result reply, for its recording."""
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}


def ran(seconds: float) -> list[dict[str, Any]]:
    """A sync run's lifecycle as a recording keeps one: running at once, done when it answered."""
    done = round(seconds, 3)
    return [
        {"after_seconds": 0.0, "status": "IN_PROGRESS", "queue_position": None, "logs": []},
        {"after_seconds": done, "status": "COMPLETED", "queue_position": None, "logs": []},
    ]
