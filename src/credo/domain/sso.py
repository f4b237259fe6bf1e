"""Single sign-on for staff, per organization: its settings and the rules they follow. Pure.

An organization signs its staff in with one identity provider, by OpenID Connect or SAML
2.0. The provider may only sign in people whose e-mail domain the organization has verified
(a DNS TXT record `credo-verification=<token>` at the domain); sign-in finds the
organization by that domain. A verified domain belongs to one organization at most."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from credo.domain.accounts import Role


class Protocol(StrEnum):
    OIDC = "oidc"
    SAML = "saml"


class Refusal(StrEnum):
    """Why a sign-in through the identity provider was refused: the log says which."""

    STATE = "unknown_or_used_state"  # no such sign-in started here, or it was finished
    REPLAY = "replayed"  # the same code or assertion seen before
    PROVIDER = "provider_error"  # the provider answered an error, or could not be reached
    TOKEN = "invalid_token"  # signature, issuer, audience, times, nonce of an ID token
    ASSERTION = "invalid_assertion"  # signature, audience, recipient, times of an assertion
    UNSOLICITED = "unsolicited"  # a SAML response no request of ours asked for
    EMAIL = "no_email"  # no (verified) e-mail address in what the provider said
    DOMAIN = "domain_not_verified"  # the e-mail's domain is not one of the organization's
    NOT_CONFIGURED = "not_configured"  # single sign-on is off for the organization


@dataclass(frozen=True, slots=True)
class SsoSettings:
    """An organization's single sign-on. `oidc_secret_set` tells whether a client secret is
    stored (sealed); the secret itself never travels with these settings."""

    organization_id: str
    protocol: Protocol | None  # None: single sign-on is off
    oidc_issuer: str | None
    oidc_client_id: str | None
    oidc_secret_set: bool
    saml_idp_entity_id: str | None
    saml_idp_metadata: str | None
    default_role: Role
    required: bool  # password sign-in refused for the organization's members
    allow_unsolicited: bool  # SAML responses the identity provider starts (IdP-initiated)
    updated_at: datetime | None

    @property
    def ready(self) -> bool:
        """Whether sign-in can go to the identity provider."""
        if self.protocol is Protocol.OIDC:
            return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_secret_set)
        if self.protocol is Protocol.SAML:
            return bool(self.saml_idp_metadata and self.saml_idp_entity_id)
        return False


def unconfigured(org_id: str) -> SsoSettings:
    return SsoSettings(org_id, None, None, None, False, None, None, Role.VIEWER, False, False, None)


@dataclass(frozen=True, slots=True)
class SsoDomain:
    organization_id: str
    domain: str
    token: str  # the TXT record's value is `credo-verification=<token>`
    created_at: datetime
    verified_at: datetime | None


VERIFICATION_PREFIX = "credo-verification="

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain(text: str) -> str:
    return text.strip().rstrip(".").lower()


def domain_problem(domain: str) -> str | None:
    """Why a (normalized) domain name is refused, or None. ASCII names only: an
    internationalized domain is entered in its xn-- form."""
    if not domain:
        return "is required"
    if len(domain) > 253:
        return "must be at most 253 characters"
    labels = domain.split(".")
    if len(labels) < 2:
        return "must be a domain name such as example.org"
    if not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        return "must be a domain name such as example.org (letters, digits, hyphens)"
    return None


def verification_record(token: str) -> str:
    return VERIFICATION_PREFIX + token


def is_verified_by(records: list[str], token: str) -> bool:
    """Whether one of a domain's TXT records carries the token (exactly; spaces around it
    are forgiven, as DNS consoles add them)."""
    wanted = verification_record(token)
    return any(record.strip() == wanted for record in records)


def email_domain(email: str) -> str | None:
    """The domain of an e-mail address, lowercased; None if it has none."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    domain = normalize_domain(domain)
    return domain if domain_problem(domain) is None else None


def issuer_problem(issuer: str) -> str | None:
    """Why an OpenID Connect issuer is refused, or None: an https URL without query or
    fragment (OpenID Connect Discovery 1.0, section 2)."""
    if not issuer:
        return "is required"
    if len(issuer) > 500:
        return "must be at most 500 characters"
    if not issuer.startswith("https://") or len(issuer) <= len("https://"):
        return "must be an https:// address"
    if any(c in issuer for c in "?#") or any(c.isspace() or ord(c) < 32 for c in issuer):
        return "must be an https:// address without query, fragment or spaces"
    return None


BREAK_GLASS_MAIL = "sso.break_glass"  # the outbox kind telling owners of a break-glass sign-in
