"""Verifying fal's webhook signatures, for receivers (PROTOCOL.md §12): the check itself is
`falfake.contracts.webhook_signatures`, the one the fake's dashboard makes too; here it raises the
client's own error, and `JwksCache` fetches and keeps the keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from falfake.client.errors import FalClientError
from falfake.contracts.webhook_signatures import TOLERANCE_SECONDS, SignatureError, check

FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
JWKS_TTL_SECONDS = 24 * 3600


class WebhookVerificationError(FalClientError):
    """The delivery is not provably from fal (or from the falfake whose JWKS was given)."""


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    jwks: Mapping[str, Any],
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> None:
    """Return if the delivery is genuine and fresh; raise `WebhookVerificationError` if not."""
    moment = time.time() if now is None else now
    try:
        check(headers, body, jwks, now=moment, tolerance=tolerance)
    except SignatureError as exc:
        raise WebhookVerificationError(str(exc)) from None


class JwksCache:
    """Fetches a JWKS and keeps it for a day (fal rotates keys slowly; verifiers cache ≤ 24 h)."""

    def __init__(
        self,
        url: str = FAL_JWKS_URL,
        *,
        http: httpx.Client | None = None,
        ttl: float = JWKS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url, self._ttl, self._clock = url, ttl, clock
        self._http = http or httpx.Client(timeout=10)
        self._cached: tuple[float, dict[str, Any]] | None = None

    def get(self) -> dict[str, Any]:
        if self._cached is None or self._clock() - self._cached[0] >= self._ttl:
            try:
                response = self._http.get(self._url)
                response.raise_for_status()
                jwks = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise WebhookVerificationError(f"Cannot fetch {self._url}: {exc}") from exc
            if not isinstance(jwks, dict):
                raise WebhookVerificationError(f"{self._url} is not a JWKS")
            self._cached = (self._clock(), jwks)
        return self._cached[1]

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """`verify_webhook` against the cached keys."""
        verify_webhook(headers, body, self.get())
