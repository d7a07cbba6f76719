"""Verifying fal's webhook signatures, for receivers (PROTOCOL.md §12).

fal signs `request_id \\n user_id \\n timestamp \\n sha256_hex(raw body)` with Ed25519 and sends the
signature as hex; it publishes its keys as a JWKS. A delivery is genuine when the signature matches
any key of the JWKS and its timestamp is within five minutes of now.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from falfake.client.errors import FalClientError

FAL_JWKS_URL = "https://rest.alpha.fal.ai/.well-known/jwks.json"
TOLERANCE_SECONDS = 300
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
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        request_id = lowered["x-fal-webhook-request-id"]
        user_id = lowered["x-fal-webhook-user-id"]
        timestamp = lowered["x-fal-webhook-timestamp"]
        signature = bytes.fromhex(lowered["x-fal-webhook-signature"])
    except KeyError as missing:
        raise WebhookVerificationError(f"Missing header {missing}") from None
    except ValueError:
        raise WebhookVerificationError("The signature is not hex") from None
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookVerificationError(f"Bad timestamp {timestamp!r}")
    moment = time.time() if now is None else now
    if abs(moment - int(timestamp)) > tolerance:
        raise WebhookVerificationError(f"Timestamp {timestamp} is more than {tolerance} s away")
    digest = hashlib.sha256(body).hexdigest()
    message = f"{request_id}\n{user_id}\n{timestamp}\n{digest}".encode()
    for key in public_keys(jwks):
        try:
            key.verify(signature, message)
            return
        except InvalidSignature:
            continue
    raise WebhookVerificationError("No key of the JWKS matches the signature")


def public_keys(jwks: Mapping[str, Any]) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS; `x` may come with or without base64 padding."""
    keys = []
    for entry in jwks.get("keys", []):
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP":
            continue
        if entry.get("crv") != "Ed25519" or not isinstance(entry.get("x"), str):
            continue
        x = entry["x"]
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (binascii.Error, ValueError):
            continue
    return keys


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
