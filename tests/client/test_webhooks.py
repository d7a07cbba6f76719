"""`verify_webhook` and `JwksCache` for receivers."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from falfake.client import JwksCache, WebhookVerificationError, verify_webhook
from falfake.client.webhooks import FAL_JWKS_URL

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
BODY = b'{"request_id": "r1", "status": "OK"}'


def jwk(padded: bool = True) -> dict[str, str]:
    x = base64.urlsafe_b64encode(PUBLIC).decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x if padded else x.rstrip("=")}


def jwks(padded: bool = True) -> dict[str, list[dict[str, str]]]:
    return {"keys": [jwk(padded)]}


def headers(body: bytes = BODY, timestamp: str = "1785000000") -> dict[str, str]:
    message = f"r1\ngithub|1\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()
    return {
        "x-fal-webhook-request-id": "r1",
        "X-Fal-Webhook-User-Id": "github|1",
        "X-Fal-Webhook-Timestamp": timestamp,
        "X-Fal-Webhook-Signature": KEY.sign(message).hex(),
    }


@pytest.mark.parametrize("padded", [True, False])
def test_a_genuine_delivery_verifies_with_padded_or_unpadded_keys(padded: bool) -> None:
    verify_webhook(headers(), BODY, jwks(padded), now=1785000000)


def test_any_key_of_the_jwks_may_match() -> None:
    other = base64.urlsafe_b64encode(bytes(32)).decode()
    rotated = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": other}, jwk()]}
    verify_webhook(headers(), BODY, rotated, now=1785000000)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda h: h.pop("X-Fal-Webhook-Signature"), "Missing header", id="no-signature"
        ),
        pytest.param(
            lambda h: h.update({"X-Fal-Webhook-Signature": "zz"}), "not hex", id="not-hex"
        ),
        pytest.param(
            lambda h: h.update({"X-Fal-Webhook-Timestamp": "soon"}), "Bad timestamp", id="bad-time"
        ),
        pytest.param(
            lambda h: h.update({"X-Fal-Webhook-User-Id": "github|2"}), "No key", id="other-user"
        ),
    ],
)
def test_broken_deliveries_are_refused(change: object, message: str) -> None:
    sent = headers()
    change(sent)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError, match=message):
        verify_webhook(sent, BODY, jwks(), now=1785000000)


def test_the_five_minute_window_holds_both_ways() -> None:
    verify_webhook(headers(), BODY, jwks(), now=1785000000 + 300)
    verify_webhook(headers(), BODY, jwks(), now=1785000000 - 300)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers(), BODY, jwks(), now=1785000000 - 301)


def test_jwks_is_fetched_once_a_day() -> None:
    now = [0.0]
    with respx.mock() as mock:
        route = mock.get(FAL_JWKS_URL).respond(200, json=jwks())
        cache = JwksCache(clock=lambda: now[-1])
        assert cache.get() == jwks()
        cache.get()
        now.append(24 * 3600)
        cache.get()
    assert route.call_count == 2


def test_an_unreachable_jwks_is_a_verification_error() -> None:
    with respx.mock() as mock:
        mock.get(FAL_JWKS_URL).mock(side_effect=httpx.ConnectError("down"))
        with pytest.raises(WebhookVerificationError, match="Cannot fetch"):
            JwksCache().get()
