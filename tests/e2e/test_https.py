"""`credo serve --ssl-certfile --ssl-keyfile` serves HTTPS (some verifiers and the W3C test
suites insist on it): a self-signed certificate made here, a real server, a real TLS
handshake."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.server import HOST, running_server


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost that is its own CA: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Credo test server")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_credo_serve_speaks_https(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    database = f"sqlite:///{tmp_path / 'credo.db'}"
    with running_server(database, tmp_path / "server", workers=1, tls=(cert, key)) as server:
        assert server.base_url.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=trusted, timeout=10.0) as client:
            r = client.get(f"{server.base_url}/healthz")
            assert r.status_code == 200 and r.json()["status"] == "ok"
            assert r.http_version.startswith("HTTP/1")
        # It is TLS for real: a client that does not trust the certificate is refused ...
        with httpx.Client(timeout=10.0) as client, pytest.raises(httpx.ConnectError):
            client.get(f"{server.base_url}/healthz")
        # ... and plain HTTP on the same port gets no answer.
        plain = server.base_url.replace("https://", "http://")
        with httpx.Client(timeout=10.0) as client, pytest.raises(httpx.HTTPError):
            client.get(f"{plain}/healthz")


def test_https_needs_both_the_certificate_and_the_key(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from credo.entrypoints.cli.main import app as cli

    cert, _ = self_signed(tmp_path)
    r = CliRunner().invoke(cli, ["serve", "--ssl-certfile", str(cert)])
    assert r.exit_code == 2 and "both" in r.output
    r = CliRunner().invoke(cli, ["serve", "--ssl-certfile", str(cert), "--ssl-keyfile", "nope"])
    assert r.exit_code == 2
