"""When to retry, and how long to wait: what fal's Python client retries (PROTOCOL.md §15.3)."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

RETRIED_STATUS = frozenset({408, 409, 429})
INGRESS_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff base * 2**(n-1) seconds times a jitter in [0.5, 1.5), capped; Retry-After wins."""

    max_attempts: int = 10
    base_delay: float = 0.1
    max_delay: float = 30.0
    max_retry_after: float = 60.0

    def delay(
        self,
        attempt: int,
        retry_after: str | None = None,
        random_value: Callable[[], float] = random.random,
        now: Callable[[], float] = time.time,
    ) -> float:
        """Seconds to wait after failed attempt number `attempt` (from 1)."""
        waited = _retry_after_seconds(retry_after, now)
        if waited is not None:
            return min(waited, self.max_retry_after)
        backoff: float = self.base_delay * 2 ** (attempt - 1) * (0.5 + random_value())
        return min(backoff, self.max_delay)


def should_retry(response: httpx.Response) -> bool:
    """408/409/429; 502/503/504 only from the ingress (an nginx page, no fal request id); never a
    user start timeout."""
    if response.status_code in RETRIED_STATUS:
        return True
    if response.status_code not in INGRESS_STATUS:
        return False
    if response.headers.get("x-fal-request-timeout-type"):
        return False
    return "x-fal-request-id" not in response.headers and "nginx" in response.text.lower()


def should_retry_error(error: httpx.TransportError, request_timeout_sent: bool) -> bool:
    """Connection failures always; timeouts unless the caller set a start timeout."""
    return not (isinstance(error, httpx.TimeoutException) and request_timeout_sent)


def _retry_after_seconds(value: str | None, now: Callable[[], float]) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now(), 0.0)
