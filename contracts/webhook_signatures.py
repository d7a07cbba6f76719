"""fal's webhook signatures (PROTOCOL.md §12), once for everyone who signs or checks them.

fal signs `request_id \\n user_id \\n timestamp \\n sha256_hex(raw body)` with Ed25519, sends the
signature as hex in `X-Fal-Webhook-Signature`, and publishes its keys as a JWKS. A delivery is
genuine when the signature matches any Ed25519 key of the JWKS and its timestamp is within five
minutes of the receiver's clock. The fake signs with `signed_message`; the client's
`verify_webhook` and the fake's dashboard check with `check` and `signature_matches`.

Nothing here raises on what a sender controls: a malformed JWKS, key or signature is a mismatch
(`False`), or a `SignatureError` naming the problem.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE_SECONDS = 300
REQUEST_ID = "x-fal-webhook-request-id"
USER_ID = "x-fal-webhook-user-id"
TIMESTAMP = "x-fal-webhook-timestamp"
SIGNATURE = "x-fal-webhook-signature"


class SignatureError(ValueError):
    """A delivery that is not provably from the holder of the JWKS; the message says why."""


def signed_message(request_id: str, user_id: str, timestamp: str, body_sha256: str) -> bytes:
    """The exact bytes a signature covers, from the hex SHA-256 of the raw body."""
    return f"{request_id}\n{user_id}\n{timestamp}\n{body_sha256}".encode()


def public_keys(jwks: object) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS (`x` with or without base64 padding); anything else in it, or
    a JWKS that is not one, gives no key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    keys = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP":
            continue
        x = entry.get("x")
        if entry.get("crv") != "Ed25519" or not isinstance(x, str) or not x.isascii():
            continue
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (binascii.Error, ValueError):
            continue
    return keys


def signature_matches(jwks: object, message: bytes, signature_hex: str) -> bool:
    """Whether `signature_hex` signs `message` with a key of `jwks`."""
    from cryptography.exceptions import InvalidSignature

    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    for key in public_keys(jwks):
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


def check(
    headers: Mapping[str, str],
    body: bytes,
    jwks: object,
    *,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> None:
    """Return if the delivery is genuine and fresh at `now`; raise `SignatureError` if not."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        request_id, user_id = lowered[REQUEST_ID], lowered[USER_ID]
        timestamp, signature = lowered[TIMESTAMP], lowered[SIGNATURE]
    except KeyError as missing:
        raise SignatureError(f"Missing header {missing}") from None
    if not timestamp.isascii() or not timestamp.isdigit():
        raise SignatureError(f"Bad timestamp {timestamp!r}")
    if abs(now - int(timestamp)) > tolerance:
        raise SignatureError(f"Timestamp {timestamp} is more than {tolerance} s away")
    try:
        bytes.fromhex(signature)
    except ValueError:
        raise SignatureError("The signature is not hex") from None
    message = signed_message(request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())
    if not signature_matches(jwks, message, signature):
        raise SignatureError("No key of the JWKS matches the signature")
