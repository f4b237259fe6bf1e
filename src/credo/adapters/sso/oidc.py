"""OpenID Connect: the authorization code flow with PKCE (Authlib's OAuth 2 client) and the
ID token's checks (signature by joserfc against the provider's published keys; issuer,
audience, times and nonce here, as OpenID Connect Core 1.0 section 3.1.3.7 lists them).

Every call to the provider goes over HTTPS, verified against the system's certificate
authorities or the bundle the settings name (CREDO_SSO_CA_BUNDLE). An owner types the
issuer, so, as for webhooks, a host that resolves to a loopback, private or reserved address
is refused unless CREDO_SSO_ALLOW_PRIVATE_NETWORKS is on (a provider on the same network as
a self-hosted server). The check is made when resolving, before connecting: unlike the
webhook sender, the connection is not pinned to the checked address."""

from __future__ import annotations

import hashlib
import ssl
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from credo.adapters.webhook_sender import resolve
from credo.domain.errors import SsoRefused
from credo.domain.sso import Refusal
from credo.domain.webhooks import address_allowed
from credo.services.people.sso_ports import Identity, OidcClient

# Asymmetric signatures only: "none" and the HMAC family (keyed with the client secret,
# which an attacker who learns it could then forge with) are refused.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
LEEWAY = timedelta(seconds=60)  # clock skew between us and the provider
MAX_BODY = 1_000_000
TIMEOUT = 10.0


def _refuse(reason: Refusal, why: str) -> SsoRefused:
    return SsoRefused(reason.value, "the identity provider's answer could not be accepted", why=why)


class AuthlibOidc:
    def __init__(self, ca_bundle: Path | None = None, *, allow_private: bool = False) -> None:
        self._tls = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
        self._allow_private = allow_private

    def _check(self, url: str) -> None:
        """An https address whose host resolves to public addresses only (unless private
        networks are allowed)."""
        parts = httpx.URL(url) if url.startswith("https://") else None
        if parts is None or not parts.host:
            raise _refuse(Refusal.PROVIDER, f"not an https address: {url[:200]}")
        if self._allow_private:
            return
        try:
            addresses = resolve(parts.host, parts.port or 443)
        except (OSError, ValueError, UnicodeError):
            raise _refuse(Refusal.PROVIDER, f"{parts.host[:200]} does not resolve") from None
        if not addresses or not all(address_allowed(a) for a in addresses):
            raise _refuse(
                Refusal.PROVIDER, f"{parts.host[:200]} resolves to a private or reserved address"
            )

    # -- the provider's documents
    def _get_json(self, url: str) -> dict[str, Any]:
        self._check(url)
        try:
            with httpx.Client(verify=self._tls, timeout=TIMEOUT) as http:
                r = http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise _refuse(Refusal.PROVIDER, f"{url[:200]}: {type(exc).__name__}") from None
        if r.status_code != 200 or len(r.content) > MAX_BODY:
            raise _refuse(Refusal.PROVIDER, f"{url[:200]} answered {r.status_code}")
        try:
            body = r.json()
        except ValueError:
            raise _refuse(Refusal.PROVIDER, f"{url[:200]} answered no JSON") from None
        if not isinstance(body, dict):
            raise _refuse(Refusal.PROVIDER, f"{url[:200]} answered no JSON object")
        return body

    def discover(self, issuer: str) -> dict[str, Any]:
        """The provider's configuration; its `issuer` must be exactly the one configured."""
        meta = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if meta.get("issuer") != issuer:
            raise _refuse(
                Refusal.TOKEN, f"discovery names issuer {str(meta.get('issuer'))[:200]!r}"
            )
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(meta.get(name), str) or not meta[name].startswith("https://"):
                raise _refuse(Refusal.PROVIDER, f"discovery lacks an https {name}")
        return meta

    def _oauth(self, client: OidcClient) -> OAuth2Client:
        return OAuth2Client(
            client_id=client.client_id,
            client_secret=client.client_secret,
            scope="openid email profile",
            redirect_uri=client.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            verify=self._tls,
            timeout=TIMEOUT,
        )

    # -- the flow
    def authorization_url(
        self, client: OidcClient, *, state: str, nonce: str, code_verifier: str
    ) -> str:
        meta = self.discover(client.issuer)
        with self._oauth(client) as oauth:
            url, _ = oauth.create_authorization_url(
                meta["authorization_endpoint"],
                state=state,
                nonce=nonce,
                code_verifier=code_verifier,
            )
        return str(url)

    def identity(
        self, client: OidcClient, *, code: str, code_verifier: str, nonce: str, now: datetime
    ) -> Identity:
        meta = self.discover(client.issuer)
        self._check(meta["token_endpoint"])
        with self._oauth(client) as oauth:
            try:
                token = oauth.fetch_token(
                    meta["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
            except Exception as exc:  # Authlib's OAuthError, httpx's errors, bad JSON
                raise _refuse(
                    Refusal.PROVIDER, f"token request failed: {type(exc).__name__}"
                ) from None
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise _refuse(Refusal.TOKEN, "no ID token in the token response")
            claims = self.check_id_token(id_token, meta, client=client, nonce=nonce, now=now)
            info = claims
            if "email" not in claims and isinstance(meta.get("userinfo_endpoint"), str):
                info = self._userinfo(oauth, meta["userinfo_endpoint"], claims)
        email = info.get("email")
        if not isinstance(email, str) or not email:
            raise _refuse(Refusal.EMAIL, "no e-mail claim")
        # False, or "false" as some providers' userinfo writes it. A provider that sends no
        # claim at all (Microsoft Entra ID) vouches for its directory's addresses.
        if str(info.get("email_verified", "true")).lower() == "false":
            raise _refuse(Refusal.EMAIL, "the provider says the e-mail is not verified")
        name = info.get("name")
        try:
            exp = datetime.fromtimestamp(float(claims["exp"]), tz=now.tzinfo)
        except (OverflowError, ValueError, OSError):  # checked already; far past any use
            exp = now
        return Identity(
            email=email,
            name=name if isinstance(name, str) else "",
            once=("code", hashlib.sha256(code.encode()).hexdigest()),
            once_until=max(exp, now) + LEEWAY,
        )

    def _userinfo(
        self, oauth: OAuth2Client, endpoint: str, claims: dict[str, Any]
    ) -> dict[str, Any]:
        self._check(endpoint)
        try:
            r = oauth.get(endpoint)
            info = r.json()
        except Exception as exc:  # httpx's errors, bad JSON
            raise _refuse(Refusal.PROVIDER, f"userinfo failed: {type(exc).__name__}") from None
        if r.status_code != 200 or not isinstance(info, dict):
            raise _refuse(Refusal.PROVIDER, f"userinfo answered {r.status_code}")
        if info.get("sub") != claims.get("sub"):  # Core 1.0 section 5.3.2
            raise _refuse(Refusal.TOKEN, "userinfo names another subject")
        return info

    def check_id_token(
        self,
        id_token: str,
        meta: dict[str, Any],
        *,
        client: OidcClient,
        nonce: str,
        now: datetime,
    ) -> dict[str, Any]:
        """The ID token's claims, once every check of Core 1.0 section 3.1.3.7 passed."""
        published = self._get_json(meta["jwks_uri"])
        try:
            keys = KeySet.import_key_set(published)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _refuse(Refusal.PROVIDER, f"JWKS not usable: {type(exc).__name__}") from None
        try:
            claims: dict[str, Any] = jwt.decode(id_token, keys, algorithms=ALGORITHMS).claims
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _refuse(Refusal.TOKEN, f"ID token signature: {type(exc).__name__}") from None
        if claims.get("iss") != client.issuer:
            raise _refuse(Refusal.TOKEN, f"ID token issuer {str(claims.get('iss'))[:200]!r}")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if client.client_id not in audiences:
            raise _refuse(Refusal.TOKEN, "ID token audience is not this client")
        if len(audiences) > 1 and claims.get("azp") != client.client_id:
            raise _refuse(Refusal.TOKEN, "ID token for several audiences without our azp")
        stamp = now.timestamp()
        leeway = LEEWAY.total_seconds()
        times = [claims.get("exp"), claims.get("iat"), claims.get("nbf", 0)]
        if not all(_number(v) for v in times):
            raise _refuse(Refusal.TOKEN, "ID token times are not numbers")
        exp, iat, nbf = (float(v) for v in times)
        if exp <= stamp - leeway:
            raise _refuse(Refusal.TOKEN, "ID token expired")
        if iat > stamp + leeway or nbf > stamp + leeway:
            raise _refuse(Refusal.TOKEN, "ID token not valid yet")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise _refuse(Refusal.TOKEN, "ID token without subject")
        if claims.get("nonce") != nonce:
            raise _refuse(Refusal.TOKEN, "ID token nonce does not match")
        return claims


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
