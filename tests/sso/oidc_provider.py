"""A real, independent OpenID Provider for tests: pyop's Provider served over HTTPS on
127.0.0.1 (a self-signed certificate from tests/tls.py), in a thread.

Its endpoints are pyop's own: discovery, JWKS, authorization (it signs in `user` at once,
no login form), token (code exchange with PKCE and client_secret_basic) and userinfo.
`tamper`, when set, rewrites the ID token of the next token responses: the bad cases
(a wrong audience or issuer, an expired token, one signed by a stranger key, or none)."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from Cryptodome.PublicKey import RSA
from cryptography import x509
from jwkest.jwk import RSAKey, SYMKey
from jwkest.jws import JWS
from pyop.authz_state import AuthorizationState
from pyop.exceptions import InvalidAuthorizationCode, InvalidClientAuthentication, OAuthError
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo

from tests.tls import self_signed

CLIENT_ID = "credo-test-client"
CLIENT_SECRET = "op-client-secret-0123456789"


def rsa_key(kid: str) -> RSAKey:
    # jwkest (pyop's JOSE library) takes pycryptodome keys.
    return RSAKey(key=RSA.generate(2048), kid=kid, alg="RS256")


@dataclass
class LocalProvider:
    issuer: str
    provider: Provider
    cert: Path
    users: dict[str, dict[str, Any]]
    user: str = "alice"
    signing_key: RSAKey = field(default_factory=lambda: rsa_key("op-key"))
    # Rewrites an ID token's claims (and may choose the key or "none"): (claims) -> claims.
    tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    sign_with: RSAKey | str | None = None  # another key, "hs256" or "none" (no signature)
    codes_issued: list[str] = field(default_factory=list)
    jwks: Any = None  # served instead of the provider's keys, when set

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def rewrite(self, id_token: str) -> str:
        payload = id_token.split(".")[1]
        claims: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
        if self.tamper is not None:
            claims = self.tamper(claims)
        if self.sign_with == "none":
            head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
            return f"{head.decode()}.{body.decode()}."
        if self.sign_with == "hs256":  # keyed with the client secret, which the client knows
            hmac = SYMKey(key=CLIENT_SECRET.encode(), alg="HS256")
            return str(JWS(json.dumps(claims), alg="HS256").sign_compact([hmac]))
        key = self.sign_with if isinstance(self.sign_with, RSAKey) else self.signing_key
        return str(JWS(json.dumps(claims), alg="RS256").sign_compact([key]))


def _handler(op: LocalProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode() if not isinstance(body, bytes) else body
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            p = op.provider
            if url.path == "/.well-known/openid-configuration":
                self._send(200, p.provider_configuration.to_dict())
            elif url.path == "/jwks":
                self._send(200, op.jwks if op.jwks is not None else p.jwks)
            elif url.path == "/authorize":
                try:
                    request = p.parse_authentication_request(url.query)
                except Exception as exc:
                    self._send(400, {"error": type(exc).__name__})
                    return
                response = p.authorize(request, op.user)
                op.codes_issued.append(response["code"])
                location = response.request(request["redirect_uri"], False)
                self._send(302, b"", {"Location": location})
            elif url.path == "/userinfo":
                try:
                    info = p.handle_userinfo_request(url.query, dict(self.headers))
                except OAuthError as exc:
                    self._send(401, {"error": type(exc).__name__})
                    return
                self._send(200, info.to_dict())
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if urlparse(self.path).path != "/token":
                self._send(404, {"error": "not_found"})
                return
            try:
                response = op.provider.handle_token_request(body, dict(self.headers))
            except (InvalidAuthorizationCode, InvalidClientAuthentication) as exc:
                self._send(400, {"error": "invalid_grant", "error_description": str(exc)[:100]})
                return
            except OAuthError as exc:
                self._send(400, {"error": exc.oauth_error})
                return
            token = response.to_dict()
            if op.tamper is not None or op.sign_with is not None:
                token["id_token"] = op.rewrite(token["id_token"])
            self._send(200, token)

    return Handler


@contextmanager
def running_provider(
    tmp: Path, redirect_uri: str, users: dict[str, dict[str, Any]]
) -> Iterator[LocalProvider]:
    """An OpenID Provider at https://127.0.0.1:<port>, knowing one client (CLIENT_ID, with
    `redirect_uri`) and `users` (user id -> claims: email, name...)."""
    cert, key = self_signed(tmp, [x509.IPAddress(IPv4Address("127.0.0.1"))])
    signing = rsa_key("op-key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    issuer = f"https://127.0.0.1:{server.server_address[1]}"
    configuration = {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "userinfo_endpoint": issuer + "/userinfo",
        "jwks_uri": issuer + "/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
    }
    clients = {
        CLIENT_ID: {
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [redirect_uri],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }
    }
    state = AuthorizationState(HashBasedSubjectIdentifierFactory("test-salt"))
    provider = Provider(signing, configuration, state, clients, Userinfo(users))
    op = LocalProvider(issuer, provider, cert, users, signing_key=signing)
    server.RequestHandlerClass = _handler(op)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield op
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def authorization_query(location: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(urlparse(location).query))


__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "LocalProvider",
    "authorization_query",
    "running_provider",
    "urlencode",
]
