"""The local CA: made once, kept in its folder, and signing leaves for every fal host."""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.verification import PolicyBuilder, Store

from falfake.hosts import FAL_HOSTS
from falfake.runtime.tls import CertificateAuthority, default_ca_dir


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


def test_without_xdg_the_default_folder_is_under_the_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_ca_dir() == tmp_path / ".local" / "share" / "falfake" / "ca"


def test_the_leaf_is_no_ca_and_says_so_critically(tmp_path: Path) -> None:
    leaf, _ = CertificateAuthority(tmp_path).issue_leaf()
    constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (constraints.critical, constraints.value.ca) == (True, False)


def test_the_server_offers_http_1_1_over_alpn(tmp_path: Path) -> None:
    authority = CertificateAuthority(tmp_path)
    server_side = authority.server_context()
    client_side = ssl.create_default_context(cafile=str(authority.cert_path))
    client_side.set_alpn_protocols(["h2", "http/1.1"])
    server_in, client_in = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_out, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_side.wrap_bio(server_in, server_out, server_side=True)
    client = client_side.wrap_bio(client_in, client_out, server_hostname="queue.fal.run")
    for _ in range(10):  # a handshake in memory: each side reads what the other wrote
        for side in (client, server):
            with contextlib.suppress(ssl.SSLWantReadError):
                side.do_handshake()
        server_in.write(client_out.read())
        client_in.write(server_out.read())
    assert client.selected_alpn_protocol() == "http/1.1"


def test_a_ca_key_of_another_kind_is_refused_by_name(tmp_path: Path) -> None:
    authority = CertificateAuthority(tmp_path).ensure()
    other = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "ca-key.pem").write_bytes(other)
    with pytest.raises(TypeError, match="does not hold the EC key falfake writes"):
        authority.issue_leaf()


def test_the_ca_may_sign_leaves_and_nothing_else(tmp_path: Path) -> None:
    ca = x509.load_pem_x509_certificate(
        CertificateAuthority(tmp_path).ensure().cert_path.read_bytes()
    )
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (constraints.critical, constraints.value.ca, constraints.value.path_length) == (
        True,
        True,
        0,
    )
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    allowed = {"digital_signature", "key_cert_sign", "crl_sign"}
    for name in [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    ]:
        assert getattr(usage.value, name) is (name in allowed), name


def test_a_ca_with_a_file_missing_is_made_anew_in_a_new_nested_folder(tmp_path: Path) -> None:
    authority = CertificateAuthority(tmp_path / "a" / "b").ensure()
    first = authority.cert_path.read_bytes()
    (tmp_path / "a" / "b" / "ca-key.pem").unlink()
    assert CertificateAuthority(tmp_path / "a" / "b").ensure().cert_path.read_bytes() != first


def test_a_stale_bundle_is_written_again(tmp_path: Path) -> None:
    authority = CertificateAuthority(tmp_path).ensure()
    authority.bundle_path.write_bytes(b"stale")
    CertificateAuthority(tmp_path).ensure()
    assert authority.bundle_path.read_bytes().startswith(authority.cert_path.read_bytes())
