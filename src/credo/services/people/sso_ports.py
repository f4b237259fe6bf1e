"""What single sign-on needs: its rows in storage, DNS for domain proofs, a sealer for the
client secret, and the two protocols (adapters/sso)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol as Interface

from credo.domain.sso import Protocol, SsoDomain, SsoSettings


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """A sign-in sent to the identity provider: found again by its state's hash."""

    state_hash: str
    organization_id: str
    protocol: Protocol
    nonce: str | None  # OIDC: the ID token must carry it back
    code_verifier: str | None  # OIDC: PKCE
    request_id: str | None  # SAML: the AuthnRequest's ID (the response's InResponseTo)
    next_path: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the identity provider says signed in, checked by the protocol adapter.

    `once` names what must not be accepted twice (a code's hash, an assertion's ID) and
    `once_until` when it could no longer be accepted anyway."""

    email: str
    name: str
    once: tuple[str, str]  # (kind, value)
    once_until: datetime


class SsoStore(Interface):
    def settings(self, org_id: str) -> SsoSettings | None: ...
    def sealed_secret(self, org_id: str) -> bytes | None: ...
    def save_settings(
        self, s: SsoSettings, sealed_secret: bytes | None, keep_secret: bool
    ) -> None: ...
    def requiring_organizations(self, org_ids: list[str]) -> list[str]: ...
    def domains(self, org_id: str) -> list[SsoDomain]: ...
    def add_domain(self, d: SsoDomain) -> None: ...
    def verified_owner(self, domain: str) -> str | None: ...
    def mark_verified(self, org_id: str, domain: str, at: datetime) -> None: ...
    def remove_domain(self, org_id: str, domain: str) -> None: ...
    def add_request(self, p: PendingSignIn) -> None: ...
    def take_request(self, state_hash: str, at: datetime) -> PendingSignIn | None: ...
    def forget_expired(self, before: datetime) -> None: ...
    def first_sight(self, org_id: str, kind: str, value: str, expires_at: datetime) -> bool: ...


class DnsResolver(Interface):
    def txt(self, name: str) -> list[str]:
        """The TXT records at `name` (each record's strings joined); [] when there are
        none or the name does not exist."""
        ...


class Sealer(Interface):
    def seal(self, secret: bytes, bound_to: str) -> bytes: ...
    def open(self, sealed: bytes, bound_to: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class OidcClient:
    """An organization's registration at its OpenID Provider."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str


class OidcProtocol(Interface):
    def authorization_url(
        self, client: OidcClient, *, state: str, nonce: str, code_verifier: str
    ) -> str:
        """Where to send the browser (discovers the provider; SsoRefused if it fails)."""
        ...

    def identity(
        self, client: OidcClient, *, code: str, code_verifier: str, nonce: str, now: datetime
    ) -> Identity:
        """Redeems the code and checks the ID token; SsoRefused with the reason if not."""
        ...


@dataclass(frozen=True, slots=True)
class SamlServiceProvider:
    """Credo as a SAML service provider for one organization, and its identity provider."""

    entity_id: str
    acs_url: str
    idp_entity_id: str
    idp_metadata: str
    allow_unsolicited: bool


class SamlProtocol(Interface):
    def metadata(self, sp: SamlServiceProvider) -> str: ...

    def authn_request(self, sp: SamlServiceProvider, *, relay_state: str) -> tuple[str, str]:
        """(the request's ID, the identity provider's address to send the browser to)."""
        ...

    def identity(
        self,
        sp: SamlServiceProvider,
        *,
        saml_response: str,
        request_id: str | None,
        now: datetime,
    ) -> Identity:
        """Checks a response (signature, issuer, audience, recipient, times, InResponseTo
        against `request_id`; None: unsolicited); SsoRefused with the reason if not."""
        ...

    def idp_entity_id(self, metadata: str) -> str:
        """The identity provider's entity ID from its metadata; InvalidInput if the
        metadata is not usable (no signing certificate, no single sign-on service)."""
        ...
