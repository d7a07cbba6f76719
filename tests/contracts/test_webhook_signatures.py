"""The one webhook check: what is signed, JWKS reading, and every malformed input a mismatch or
a named error, never an exception of another kind."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from falfake.contracts.webhook_signatures import (
    SignatureError,
    check,
    public_keys,
    signature_matches,
    signed_message,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
RAW = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
PADDED = base64.urlsafe_b64encode(RAW).decode()
JWK = {"kty": "OKP", "crv": "Ed25519", "x": PADDED}
BODY = b'{"status": "OK"}'
MESSAGE = signed_message("r1", "github|1", "1785000000", hashlib.sha256(BODY).hexdigest())
SIGNATURE = KEY.sign(MESSAGE).hex()
HEADERS = {
    "X-Fal-Webhook-Request-Id": "r1",
    "X-Fal-Webhook-User-Id": "github|1",
    "X-Fal-Webhook-Timestamp": "1785000000",
    "X-Fal-Webhook-Signature": SIGNATURE,
}


def test_the_message_is_fals_layout() -> None:
    assert signed_message("r", "u", "1", "ab") == b"r\nu\n1\nab"


@pytest.mark.parametrize("x", [PADDED, PADDED.rstrip("=")], ids=["padded", "unpadded"])
def test_a_key_reads_with_or_without_padding(x: str) -> None:
    assert signature_matches({"keys": [{**JWK, "x": x}]}, MESSAGE, SIGNATURE)


@pytest.mark.parametrize(
    "jwks",
    [
        pytest.param(None, id="not-an-object"),
        pytest.param([JWK], id="a-list"),
        pytest.param({"keys": JWK}, id="keys-not-a-list"),
        pytest.param({"keys": ["OKP"]}, id="entry-not-an-object"),
        pytest.param({"keys": [{**JWK, "kty": "RSA"}]}, id="rsa"),
        pytest.param({"keys": [{**JWK, "crv": "X25519"}]}, id="x25519"),
        pytest.param({"keys": [{**JWK, "x": 7}]}, id="x-not-a-string"),
        pytest.param({"keys": [{**JWK, "x": "!!!"}]}, id="x-not-base64"),
        pytest.param({"keys": [{**JWK, "x": "é"}]}, id="x-not-ascii"),
        pytest.param({"keys": [{**JWK, "x": PADDED[:20]}]}, id="x-too-short"),
    ],
)
def test_a_malformed_jwks_gives_no_key_and_no_match(jwks: object) -> None:
    assert public_keys(jwks) == []
    assert not signature_matches(jwks, MESSAGE, SIGNATURE)


def test_the_check_passes_a_genuine_fresh_delivery() -> None:
    check(HEADERS, BODY, {"keys": [{"kty": "oct"}, JWK]}, now=1785000299)


@pytest.mark.parametrize(
    ("changed", "now", "problem"),
    [
        ({"X-Fal-Webhook-Signature": None}, 1785000000, "Missing header 'x-fal-webhook-signature'"),
        ({"X-Fal-Webhook-Timestamp": "soon"}, 1785000000, "Bad timestamp 'soon'"),
        ({"X-Fal-Webhook-Timestamp": "\uff11\uff17"}, 1785000000, "Bad timestamp"),  # wide digits
        ({}, 1785000301, "Timestamp 1785000000 is more than 300 s away"),
        ({"X-Fal-Webhook-Signature": "zz"}, 1785000000, "The signature is not hex"),
        ({"X-Fal-Webhook-User-Id": "github|2"}, 1785000000, "No key of the JWKS matches"),
    ],
)
def test_the_check_names_what_is_wrong(
    changed: dict[str, str | None], now: float, problem: str
) -> None:
    headers = {k: v for k, v in {**HEADERS, **changed}.items() if v is not None}
    with pytest.raises(SignatureError, match=problem):
        check(headers, BODY, {"keys": [JWK]}, now=now)
