"""The local CA: made once, kept in its folder, and signing leaves for every fal host."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from mock_server.hosts import FAL_HOSTS
from mock_server.tls import CertificateAuthority, default_ca_dir


def test_the_ca_is_made_once_and_reused(tmp_path: Path) -> None:
    first = CertificateAuthority(tmp_path).ensure().cert_path.read_bytes()
    again = CertificateAuthority(tmp_path).ensure().cert_path.read_bytes()
    assert first == again
    assert (tmp_path / "ca-key.pem").stat().st_mode & 0o077 == 0


def test_the_bundle_trusts_the_public_roots_too(tmp_path: Path) -> None:
    authority = CertificateAuthority(tmp_path).ensure()
    bundle = authority.bundle_path.read_bytes()
    assert bundle.startswith(authority.cert_path.read_bytes())
    assert bundle.endswith(Path(certifi.where()).read_bytes())


@pytest.mark.parametrize("name", [*FAL_HOSTS, "localhost"])
def test_the_leaf_verifies_for_every_fal_host(tmp_path: Path, name: str) -> None:
    authority = CertificateAuthority(tmp_path)
    leaf, _ = authority.issue_leaf()
    ca = x509.load_pem_x509_certificate(authority.cert_path.read_bytes())
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName(name))
    verifier.verify(leaf, [])


def test_the_leaf_covers_the_loopback_addresses(tmp_path: Path) -> None:
    leaf, _ = CertificateAuthority(tmp_path).issue_leaf()
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }


def test_the_default_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_ca_dir() == tmp_path / "falfake" / "ca"
