"""Webhooks of forwarded submits: fal cannot reach a receiver on the app's machine, so the fake
asks the upstream for no webhook, follows the request itself, and once it is COMPLETED sends the
app's webhook through its own deliveries (signed with its own key, retried on fal's schedule),
the output's URLs pointing at the fake.

A request being followed lives in this process: a restart stops following it (its webhook is
then not sent; the journal shows the submit).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx

from falfake.settings import Upstream
from falfake.upstream.targets import rewritten
from falfake.webhooks.delivery import Deliveries
from falfake.webhooks.payloads import serialised

logger = logging.getLogger("falfake")
# How long a request is followed before its webhook is given up (fal keeps requests 1 h too).
FOLLOW_SECONDS = 3600.0


class Follower:
    def __init__(self, upstream: Upstream, deliveries: Deliveries) -> None:
        self.upstream, self.deliveries = upstream, deliveries
        self._tasks: set[asyncio.Task[None]] = set()

    def follow(
        self,
        request_id: str,
        status_url: str,
        response_url: str,
        webhook: str,
        rewrite: Callable[[str], str],
    ) -> None:
        """Follow the upstream request in the background, then deliver to `webhook`."""
        task = asyncio.get_running_loop().create_task(
            self._follow(request_id, status_url, response_url, webhook, rewrite)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow(
        self,
        request_id: str,
        status_url: str,
        response_url: str,
        webhook: str,
        rewrite: Callable[[str], str],
    ) -> None:
        headers = {"authorization": f"Key {self.upstream.key}"}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FOLLOW_SECONDS
        async with httpx.AsyncClient(headers=headers, timeout=30.0) as client:
            while loop.time() < deadline:
                try:
                    status = await client.get(status_url)
                    if status.status_code == 200 and status.json().get("status") == "COMPLETED":
                        result = await client.get(response_url)
                        break
                except (httpx.HTTPError, ValueError) as exc:  # the upstream away for a moment
                    logger.info("following %s upstream: %r", request_id, exc)
                await asyncio.sleep(self.upstream.poll_seconds)
            else:
                logger.warning("gave up following %s upstream: no webhook sent", request_id)
                return
        body = payload(request_id, result.status_code, _json(result), rewrite)
        await self.deliveries.start(webhook, request_id, body)


def payload(request_id: str, status: int, output: Any, rewrite: Callable[[str], str]) -> bytes:
    """The webhook body of a finished request, as fal sends it (PROTOCOL.md §12)."""
    ok = status == 200
    return serialised(
        {
            "error": None if ok else f"Invalid status code: {status}",
            "gateway_request_id": request_id,
            "payload": rewritten(output, rewrite),
            "request_id": request_id,
            "status": "OK" if ok else "ERROR",
        }
    )


def _json(reply: httpx.Response) -> Any:
    try:
        return json.loads(reply.content)
    except ValueError:
        return reply.text
