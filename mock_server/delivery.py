"""Delivering webhooks: signed POSTs, retried on fal's schedule, every attempt logged."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from mock_server.clock import Clock
from mock_server.responses import log_timestamp
from mock_server.signing import WebhookSigner
from mock_server.webhooks import WebhookSettings

_LOG_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Attempt:
    """One POST to a webhook target and how it went."""

    request_id: str
    target: str
    attempt: int
    at: str
    status_code: int | None
    error: str | None
    latency_ms: float
    delivered: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Deliveries:
    """Sends webhook bodies (each request's body is fixed; only time and signature change)."""

    def __init__(self, settings: WebhookSettings, signer: WebhookSigner, clock: Clock) -> None:
        self._settings = settings
        self._signer = signer
        self._clock = clock
        self._log: deque[Attempt] = deque(maxlen=_LOG_SIZE)
        self._tasks: set[asyncio.Task[bool]] = set()

    def attempts(self, request_id: str | None = None) -> list[Attempt]:
        """The delivery log, oldest first, for one request or all."""
        return [a for a in self._log if request_id is None or a.request_id == request_id]

    def clear(self) -> None:
        self._log.clear()

    def start(self, target: str, request_id: str, body: bytes) -> None:
        """Deliver in the background, retrying on fal's schedule."""
        task = asyncio.get_running_loop().create_task(self.deliver(target, request_id, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def deliver(self, target: str, request_id: str, body: bytes) -> bool:
        """POST until a 2xx, at most `retries` times more; True when delivered."""
        settings = self._settings
        # Never through a proxy: HTTPS_PROXY may well point at this fake.
        async with httpx.AsyncClient(timeout=settings.timeout_seconds, trust_env=False) as http:
            for attempt in range(1, settings.retries + 2):
                if attempt > 1:
                    await self._clock.sleep(settings.delay(attempt - 1))
                if await self._attempt(http, target, request_id, body, attempt):
                    return True
        return False

    async def _attempt(
        self, http: httpx.AsyncClient, target: str, request_id: str, body: bytes, attempt: int
    ) -> bool:
        now = self._clock.now()
        timestamp = str(int(now))
        user_id = self._settings.user_id
        headers = {
            "Content-Type": "application/json",
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": timestamp,
            "X-Fal-Webhook-Signature": self._signer.sign(request_id, user_id, timestamp, body),
        }
        started = time.perf_counter()
        status_code, error = None, None
        try:
            response = await http.post(target, content=body, headers=headers)
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        delivered = status_code is not None and 200 <= status_code < 300
        self._log.append(
            Attempt(
                request_id=request_id,
                target=target,
                attempt=attempt,
                at=log_timestamp(now),
                status_code=status_code,
                error=error,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                delivered=delivered,
            )
        )
        return delivered
