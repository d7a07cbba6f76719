"""The webhook signing key: Ed25519, made once in the fake's key folder, published as a JWKS.

What is signed, and how a receiver checks it, is `falfake.contracts.webhook_signatures`.
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
    def from_pem(cls, pem: bytes) -> WebhookSigner:
        """The key written as PKCS#8 PEM (as `pem_of_new_key` makes it), loaded when first
        needed."""
        return cls(lambda: _loaded(pem, "the shared key"))

    @classmethod
    def in_folder(cls, folder: Path) -> WebhookSigner:
        """The key kept in `folder`, made on first use."""
        return cls(lambda: _key_in(folder))

    def _private(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = self._load()
        return self._key

    def sign(self, message: bytes) -> str:
        """The hex signature of `message` (`webhook_signatures.signed_message` makes it)."""
        return self._private().sign(message).hex()

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` (raw bytes) is this key's signature of `message`."""
        from cryptography.exceptions import InvalidSignature

        try:
            self._private().public_key().verify(signature, message)
        except InvalidSignature:
            return False
        return True

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

    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(pem_of_new_key())
    return _loaded(path.read_bytes(), str(path))


def pem_of_new_key() -> bytes:
    """A new Ed25519 key as PKCS#8 PEM, as the fake keeps it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _loaded(pem: bytes, where: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{where} does not hold the Ed25519 key falfake writes")
    return key
