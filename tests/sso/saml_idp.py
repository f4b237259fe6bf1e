"""A real, independent SAML 2.0 identity provider for tests: pysaml2's IdP Server, its
single sign-on service served over HTTPS on 127.0.0.1 (tests/tls.py) in a thread.

`GET /sso?SAMLRequest=...&RelayState=...` (HTTP-Redirect) signs in `user` at once and
answers the HTTP-POST form a browser would submit to the service provider's ACS.
`response()` makes a response directly, for the bad cases: `edit` changes the XML of the
assertion (its audience, recipient, times...) and the IdP signs it again, so the case is
exactly what a provider with that key would send; `sign=False` sends it unsigned."""

from __future__ import annotations

import base64
import html
import re
import shutil
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server

from tests.tls import self_signed

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"saml": SAML, "samlp": SAMLP, "ds": DS}
ASSERTION = f"{SAML}:Assertion"


def signing_pair(directory: Path, name: str) -> tuple[Path, Path]:
    """An RSA key and a self-signed certificate for XML signatures (xmlsec1 signs)."""
    key = rsa.generate_private_key(65537, 2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def idp_config(
    entity_id: str, sso_url: str, cert: Path, key: Path, sp_metadata: str | None = None
) -> IdPConfig:
    conf = IdPConfig()
    conf.load(
        {
            "entityid": entity_id,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": str(key),
            "cert_file": str(cert),
            "metadata": {"inline": [sp_metadata]} if sp_metadata else {},
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(sso_url, BINDING_HTTP_REDIRECT)]},
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "policy": {"default": {"lifetime": {"minutes": 5}}},
                }
            },
        }
    )
    return conf


@dataclass
class LocalIdp:
    entity_id: str
    base: str
    cert: Path  # the TLS certificate (its own CA)
    signing_cert: Path
    signing_key: Path
    metadata: str  # what the organization's owner uploads
    server: Server | None = None
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    user: str = "alice"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def trust(self, sp_metadata: str) -> None:
        """Learns the service provider (Credo's metadata for the organization)."""
        conf = idp_config(
            self.entity_id, self.base + "/sso", self.signing_cert, self.signing_key, sp_metadata
        )
        self.server = Server(config=conf)

    def response(
        self,
        *,
        in_response_to: str | None,
        acs: str,
        sp_entity_id: str,
        user: str | None = None,
        sign: bool = True,
        edit: Callable[[Any], None] | None = None,
        resign: bool = True,
        by: Server | None = None,
    ) -> str:
        """A SAMLResponse (base64) for `user`; `by`: another IdP's server signs it;
        `resign=False`: the edit comes after the signature (which no longer holds, unless
        the edit only moves signed parts: XML signature wrapping)."""
        server = by or self.server
        assert server is not None, "trust() the service provider first"
        who = self.users[user or self.user]
        xml = str(
            server.create_authn_response(
                identity={"mail": [who["email"]], "displayName": [who["name"]]},
                in_response_to=in_response_to,
                destination=acs,
                sp_entity_id=sp_entity_id,
                name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=who["email"]),
                authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
                sign_assertion=sign,
                sign_response=False,
            )
        )
        if edit is not None:
            root = etree.fromstring(xml.encode())
            edit(root)
            xml = etree.tostring(root).decode()
            if sign and resign:
                assertion = root.find("saml:Assertion", NS)
                xml = server.sec.sign_statement(xml, ASSERTION, node_id=assertion.get("ID"))
        return base64.b64encode(xml.encode()).decode()


def _handler(idp: LocalIdp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path != "/sso" or idp.server is None or "SAMLRequest" not in query:
                self.send_error(404)
                return
            request = idp.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
            message = request.message
            acs = (
                message.assertion_consumer_service_url
                or idp.server.config.metadata.assertion_consumer_service(
                    message.issuer.text, BINDING_HTTP_POST
                )[0]["location"]
            )
            saml_response = idp.response(
                in_response_to=message.id, acs=acs, sp_entity_id=message.issuer.text
            )
            body = (
                f'<form method="post" action="{html.escape(acs)}">'
                f'<input type="hidden" name="SAMLResponse" value="{saml_response}">'
                f'<input type="hidden" name="RelayState" value="{html.escape(query.get("RelayState", ""))}">'
                "</form>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def posted_form(page: str) -> tuple[str, dict[str, str]]:
    """The action and fields of the auto-posting form the IdP answered."""
    action = re.search(r'action="([^"]+)"', page)
    assert action, page
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    return html.unescape(action.group(1)), {k: html.unescape(v) for k, v in fields.items()}


@contextmanager
def running_idp(tmp: Path, users: dict[str, dict[str, str]]) -> Iterator[LocalIdp]:
    cert, key = self_signed(tmp, [x509.IPAddress(IPv4Address("127.0.0.1"))])
    signing_cert, signing_key = signing_pair(tmp, "idp-signing")
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        base = f"https://127.0.0.1:{server.server_address[1]}"
        entity_id = base + "/idp"
        metadata = str(
            entity_descriptor(idp_config(entity_id, base + "/sso", signing_cert, signing_key))
        )
        idp = LocalIdp(entity_id, base, cert, signing_cert, signing_key, metadata, users=users)
        server.RequestHandlerClass = _handler(idp)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield idp
        finally:
            server.shutdown()
            thread.join(5)
    finally:
        server.server_close()


def stranger(idp: LocalIdp, tmp: Path, sp_metadata: str, entity_id: str | None = None) -> Server:
    """Another IdP's server: the same entity ID (or `entity_id`) with a key of its own."""
    cert, key = signing_pair(tmp, "stranger")
    conf = idp_config(entity_id or idp.entity_id, idp.base + "/sso", cert, key, sp_metadata)
    return Server(config=conf)
