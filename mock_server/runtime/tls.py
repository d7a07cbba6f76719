"""The fake's own certificate authority, so clients can reach "https://queue.fal.run" on 127.0.0.1.

The CA is made once and kept in a folder of the fake's (never the system trust store); each start
issues a fresh leaf certificate for fal's host names and the loopback addresses. The cryptography
library is imported by the first call that needs it: a fake that no client reaches over TLS
never loads it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from falfake.hosts import FAL_HOSTS

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

LEAF_NAMES = (*FAL_HOSTS, "localhost")
LEAF_ADDRESSES = ("127.0.0.1", "::1")


def default_ca_dir() -> Path:
    """`$XDG_DATA_HOME/falfake/ca`, by default `~/.local/share/falfake/ca`."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "falfake" / "ca"


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """Files of the local CA: `ca.pem` alone, and `bundle.pem` (it plus the public roots)."""

    folder: Path

    @property
    def cert_path(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def bundle_path(self) -> Path:
        """For `SSL_CERT_FILE`: trusts the fake without distrusting every other HTTPS host."""
        return self.folder / "bundle.pem"

    @property
    def _key_path(self) -> Path:
        return self.folder / "ca-key.pem"

    def ensure(self) -> CertificateAuthority:
        """Create the CA on first use; later calls keep the one on disk."""
        import certifi
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        if not (self.cert_path.exists() and self._key_path.exists()):
            self.folder.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            self._key_path.touch(mode=0o600)
            self._key_path.write_bytes(_private_pem(key))
            self.cert_path.write_bytes(
                _self_signed_ca(key).public_bytes(serialization.Encoding.PEM)
            )
        bundle = self.cert_path.read_bytes() + Path(certifi.where()).read_bytes()
        if not self.bundle_path.exists() or self.bundle_path.read_bytes() != bundle:
            self.bundle_path.write_bytes(bundle)
        return self

    def issue_leaf(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A new certificate for fal's hosts and the loopback, signed by this CA, and its key."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.ensure()
        ca_key = serialization.load_pem_private_key(self._key_path.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{self._key_path} does not hold the EC key falfake writes")
        ca_cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        return _leaf(leaf_key, ca_key, ca_cert), leaf_key

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting a freshly issued leaf certificate."""
        from cryptography.hazmat.primitives import serialization

        leaf, leaf_key = self.issue_leaf()
        ca_cert = self.cert_path.read_bytes()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.set_alpn_protocols(["http/1.1"])
        # ssl loads chains only from files; a private temporary one per start, so fakes sharing
        # the folder never read each other's half-written leaf.
        with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".pem") as chain:
            chain.write(
                leaf.public_bytes(serialization.Encoding.PEM) + ca_cert + _private_pem(leaf_key)
            )
            chain.flush()
            context.load_cert_chain(chain.name)
        return context


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _self_signed_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "falfake local CA")])
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(days=1))
        .not_valid_after(_now() + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf(
    key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> x509.Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    names: list[x509.GeneralName] = [x509.DNSName(name) for name in LEAF_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in LEAF_ADDRESSES]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "queue.fal.run")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(days=1))
        .not_valid_after(_now() + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
