"""The webhook signing key: Ed25519, made once in the fake's key folder, published as a JWKS.

fal signs `request_id \\n user_id \\n timestamp \\n sha256_hex(body)` and sends the signature as
hex; verifiers accept a match against any key of the JWKS (PROTOCOL.md §12).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_FILE = "webhook-ed25519.pem"


def signed_message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """The exact bytes fal's signature covers."""
    return digest_message(request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())


def digest_message(request_id: str, user_id: str, timestamp: str, body_sha256: str) -> bytes:
    return f"{request_id}\n{user_id}\n{timestamp}\n{body_sha256}".encode()


def verifies(jwks: JwksBody, message: bytes, signature_hex: str) -> bool:
    """Whether `signature_hex` signs `message` with a key of `jwks`, as a receiver checks it."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    for jwk in jwks["keys"]:
        public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"]))
        try:
            public.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


class JwkBody(TypedDict):
    """What `falfake.contracts.wire.Jwk` describes; a contract test holds the two together."""

    kty: str
    crv: str
    kid: str
    x: str
    use: str


class JwksBody(TypedDict):
    keys: list[JwkBody]


class WebhookSigner:
    """Signs webhook deliveries and describes its public key as fal's JWKS does.

    The key is read (or made) on first use, so the cryptography library loads only for a fake
    that signs a webhook or is asked for its JWKS.
    """

    def __init__(self, key: Ed25519PrivateKey | Callable[[], Ed25519PrivateKey]) -> None:
        self._load = key if callable(key) else (lambda: key)
        self._key: Ed25519PrivateKey | None = None

    @classmethod
    def generated(cls) -> WebhookSigner:
        """A signer with a new key of its own, made when first needed."""

        def generate() -> Ed25519PrivateKey:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            return Ed25519PrivateKey.generate()

        return cls(generate)

    @classmethod
    def in_folder(cls, folder: Path) -> WebhookSigner:
        """The key kept in `folder`, made on first use."""
        return cls(lambda: _key_in(folder))

    def _private(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = self._load()
        return self._key

    def sign(self, message: bytes) -> str:
        """The hex signature of `message` (`signed_message` or `digest_message` makes it)."""
        return self._private().sign(message).hex()

    def jwks(self) -> JwksBody:
        """`{"keys": [...]}` with fal's fields: `x` base64url with padding, `kid` 43 chars."""
        from cryptography.hazmat.primitives import serialization

        public = (
            self._private()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        kid = base64.urlsafe_b64encode(hashlib.sha256(public).digest()).rstrip(b"=")
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "kid": kid.decode(),
                    "x": base64.urlsafe_b64encode(public).decode(),
                    "use": "sig",
                }
            ]
        }


def _key_in(folder: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.touch(mode=0o600)
        path.write_bytes(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{path} does not hold the Ed25519 key falfake writes")
    return key
