"""`credo serve --ssl-certfile --ssl-keyfile` serves HTTPS (some verifiers and the W3C test
suites insist on it): a self-signed certificate made here, a real server, a real TLS
handshake."""

from __future__ import annotations

import ssl
from ipaddress import IPv4Address
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.e2e.server import HOST, running_server
from tests.tls import self_signed


def test_credo_serve_speaks_https(tmp_path: Path) -> None:
    cert, key = self_signed(
        tmp_path, [x509.IPAddress(IPv4Address(HOST)), x509.DNSName("localhost")]
    )
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

    cert, _ = self_signed(tmp_path, [x509.IPAddress(IPv4Address(HOST)), x509.DNSName("localhost")])
    r = CliRunner().invoke(cli, ["serve", "--ssl-certfile", str(cert)])
    assert r.exit_code == 2 and "both" in r.output
    r = CliRunner().invoke(cli, ["serve", "--ssl-certfile", str(cert), "--ssl-keyfile", "nope"])
    assert r.exit_code == 2
