"""The webhook signing key and JWKS, checked against PROTOCOL.md's test vector."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from falfake.client.webhooks import verify_webhook
from falfake.contracts.webhook_signatures import signature_matches, signed_message
from falfake.webhooks.signing import KEY_FILE, WebhookSigner

VECTOR_BODY = (
    b'{"error": null, "gateway_request_id": "019e1951-c778-7120-9c82-16efcf40ec82", "payload":'
    b' {"video": {"content_type": "video/mp4", "file_name": "out.mp4", "file_size": 1024, "url":'
    b' "http://127.0.0.1:8000/files/v/out.mp4"}}, "request_id":'
    b' "019e1951-c778-7120-9c82-16efcf40ec82", "status": "OK"}'
)
VECTOR_SIGNATURE = (
    "cf77a00d483e0be52d27b03c956cb947814cd02d7cdc270a52e679887a5454a5"
    "73217f3506cde0058600d8947ae9ed8cf67a2a6618a03cf9ae0214b89bfa4400"
)
REQUEST_ID = "019e1951-c778-7120-9c82-16efcf40ec82"


def vector_signer() -> WebhookSigner:
    return WebhookSigner(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def test_signature_matches_the_protocol_test_vector() -> None:
    assert len(VECTOR_BODY) == 291
    digest = hashlib.sha256(VECTOR_BODY).hexdigest()
    message = signed_message(REQUEST_ID, "github|179462", "1785000000", digest)
    signature = vector_signer().sign(message)
    assert signature == VECTOR_SIGNATURE


def test_jwks_has_fals_shape() -> None:
    (key,) = vector_signer().jwks()["keys"]
    assert key["x"] == "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
    assert list(key) == ["kty", "crv", "kid", "x", "use"]
    assert (key["kty"], key["crv"], key["use"]) == ("OKP", "Ed25519", "sig")
    assert len(key["kid"]) == 43


def test_the_vector_verifies_with_the_served_jwks() -> None:
    headers = {
        "X-Fal-Webhook-Request-Id": REQUEST_ID,
        "X-Fal-Webhook-User-Id": "github|179462",
        "X-Fal-Webhook-Timestamp": "1785000000",
        "X-Fal-Webhook-Signature": VECTOR_SIGNATURE,
    }
    verify_webhook(headers, VECTOR_BODY, vector_signer().jwks(), now=1785000100)


def test_the_shared_check_accepts_the_vector_and_nothing_else() -> None:
    jwks = vector_signer().jwks()
    digest = hashlib.sha256(VECTOR_BODY).hexdigest()
    message = signed_message(REQUEST_ID, "github|179462", "1785000000", digest)
    assert signature_matches(jwks, message, VECTOR_SIGNATURE)
    late = message.replace(b"1785000000", b"1785000001")
    assert not signature_matches(jwks, late, VECTOR_SIGNATURE)
    assert not signature_matches(jwks, message, "not hex")
    other = WebhookSigner(Ed25519PrivateKey.from_private_bytes(bytes(32))).jwks()
    assert not signature_matches(other, message, VECTOR_SIGNATURE)


def test_the_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = WebhookSigner.in_folder(tmp_path).jwks()
    assert WebhookSigner.in_folder(tmp_path).jwks() == first
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) & 0o077 == 0
