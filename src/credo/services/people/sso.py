"""Single sign-on for staff: owners set it up; sign-in goes to the organization's identity
provider and comes back here, where the person is found, or made a member (just in time).

Whatever the provider sends back is checked by the protocol adapters (adapters/sso); here
the sign-in must have been started by us (its state, spent once), the code or assertion
must not have been used before (both kept in the database, so any process refuses a
replay), and the e-mail's domain must be one the organization verified."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import replace
from datetime import timedelta

from credo.clock import Clock
from credo.domain.accounts import Permission, Role
from credo.domain.audit_log import Actor, ActorKind, changes
from credo.domain.entities import User, WebSession
from credo.domain.errors import Conflict, InvalidInput, NotFound, SsoRefused
from credo.domain.sso import (
    BREAK_GLASS_MAIL,
    Protocol,
    Refusal,
    SsoDomain,
    SsoSettings,
    domain_problem,
    email_domain,
    is_verified_by,
    issuer_problem,
    normalize_domain,
    unconfigured,
    verification_record,
)
from credo.ids import new_id
from credo.services import audit_log
from credo.services.people import accounts
from credo.services.people.accounts import Member
from credo.services.people.owners import mail_owners
from credo.services.people.ports import PasswordHasher
from credo.services.people.sso_ports import (
    DnsResolver,
    Identity,
    OidcClient,
    PendingSignIn,
    SamlProtocol,
    SamlServiceProvider,
    Sealer,
)
from credo.services.ports import UnitOfWork
from credo.services.recipients.addresses import require_key

log = logging.getLogger("credo.sso")

REQUEST_LIFETIME = timedelta(minutes=10)  # from leaving for the provider to coming back
# Never written to storage or logs, so no one mistakes a password-less account for one
# whose hash failed to load: argon2 refuses it as a hash, so no password matches it.
NO_PASSWORD = "!sso"


def _secret_binding(org_id: str) -> str:
    return f"sso-oidc-client-secret:{org_id}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- settings (owners) ---------------------------------------------------------------


def settings_of(uow: UnitOfWork, member: Member) -> tuple[SsoSettings, list[SsoDomain]]:
    member.require(Permission.SINGLE_SIGN_ON)
    org_id = member.organization.id
    return uow.sso.settings(org_id) or unconfigured(org_id), uow.sso.domains(org_id)


def _current(uow: UnitOfWork, org_id: str) -> SsoSettings:
    return uow.sso.settings(org_id) or unconfigured(org_id)


def _state(s: SsoSettings) -> dict[str, object]:
    """Settings as the audit log keeps them: the metadata by its digest, no secret."""
    metadata = s.saml_idp_metadata
    return {
        "protocol": None if s.protocol is None else s.protocol.value,
        "oidc_issuer": s.oidc_issuer,
        "oidc_client_id": s.oidc_client_id,
        "saml_idp_entity_id": s.saml_idp_entity_id,
        "saml_metadata_sha256": None if metadata is None else _hash(metadata)[:16],
        "default_role": s.default_role.value,
        "required": s.required,
        "allow_unsolicited": s.allow_unsolicited,
    }


def _audit(
    uow: UnitOfWork, clock: Clock, old: SsoSettings, new: SsoSettings, *, secret: bool = False
) -> None:
    before, after = changes(_state(old), _state(new))
    if secret:  # a new client secret: that it changed, never what it is
        before["oidc_client_secret_replaced"], after["oidc_client_secret_replaced"] = False, True
    if after:
        org_id = new.organization_id
        audit_log.one(uow, clock.now(), org_id, "sso.updated", "sso", org_id, before, after)


def _audit_domain(uow: UnitOfWork, clock: Clock, org_id: str, action: str, domain: str) -> None:
    audit_log.one(uow, clock.now(), org_id, action, "sso_domain", domain, None, {"domain": domain})


def configure_oidc(
    uow: UnitOfWork,
    clock: Clock,
    sealer: Sealer,
    member: Member,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
) -> None:
    """Single sign-on by OpenID Connect. An empty `client_secret` keeps the stored one."""
    member.require(Permission.SINGLE_SIGN_ON)
    org_id = member.organization.id
    issuer, client_id, client_secret = issuer.strip(), client_id.strip(), client_secret.strip()
    errors = []
    if problem := issuer_problem(issuer):
        errors.append({"field": "issuer", "message": problem})
    if not client_id or len(client_id) > 300 or not client_id.isprintable():
        errors.append({"field": "client_id", "message": "is required (printable, at most 300)"})
    current = _current(uow, org_id)
    keep = not client_secret
    if keep and not current.oidc_secret_set:
        errors.append({"field": "client_secret", "message": "is required"})
    if len(client_secret) > 1000 or not client_secret.isprintable():
        errors.append({"field": "client_secret", "message": "at most 1000 printable characters"})
    if errors:
        raise InvalidInput("the OpenID Connect settings are not right", errors)
    sealed = None if keep else sealer.seal(client_secret.encode(), _secret_binding(org_id))
    new = replace(
        current,
        protocol=Protocol.OIDC,
        oidc_issuer=issuer,  # exactly as the provider names itself (Auth0 ends in "/")
        oidc_client_id=client_id,
        oidc_secret_set=True,
        updated_at=clock.now(),
    )
    uow.sso.save_settings(new, sealed, keep_secret=keep)
    _audit(uow, clock, current, new, secret=not keep)
    log.info("single sign-on set to OpenID Connect", extra={"organization_id": org_id})


def configure_saml(
    uow: UnitOfWork, clock: Clock, saml: SamlProtocol, member: Member, *, metadata: str
) -> None:
    """Single sign-on by SAML 2.0 with the identity provider `metadata` describes."""
    member.require(Permission.SINGLE_SIGN_ON)
    org_id = member.organization.id
    metadata = metadata.strip()
    if not metadata or len(metadata) > 500_000:
        raise InvalidInput(
            "the metadata is missing or too large",
            [{"field": "metadata", "message": "upload the identity provider's metadata XML"}],
        )
    entity_id = saml.idp_entity_id(metadata)
    current = _current(uow, org_id)
    new = replace(
        current,
        protocol=Protocol.SAML,
        saml_idp_entity_id=entity_id,
        saml_idp_metadata=metadata,
        updated_at=clock.now(),
    )
    uow.sso.save_settings(new, None, keep_secret=True)
    _audit(uow, clock, current, new)
    log.info("single sign-on set to SAML", extra={"organization_id": org_id})


def set_policy(
    uow: UnitOfWork,
    clock: Clock,
    member: Member,
    *,
    default_role: str,
    required: bool,
    allow_unsolicited: bool,
    enabled: bool,
) -> None:
    """The role of people signed in for the first time, "SSO required", IdP-initiated SAML,
    and whether single sign-on is on at all (off keeps the provider's settings)."""
    member.require(Permission.SINGLE_SIGN_ON)
    org_id = member.organization.id
    try:
        role = Role(default_role)
    except ValueError:
        raise InvalidInput(
            "no such role", [{"field": "default_role", "message": "owner, issuer or viewer"}]
        ) from None
    current = _current(uow, org_id)
    protocol = current.protocol
    if not enabled:
        protocol = None
    elif protocol is None:
        protocol = _configured_protocol(current)
    if required and (protocol is None or not replace(current, protocol=protocol).ready):
        raise Conflict("set up an identity provider before requiring single sign-on")
    if required and not any(d.verified_at for d in uow.sso.domains(org_id)):
        raise Conflict("verify an e-mail domain before requiring single sign-on")
    new = replace(
        current,
        protocol=protocol,
        default_role=role,
        required=required and protocol is not None,
        allow_unsolicited=allow_unsolicited,
        updated_at=clock.now(),
    )
    uow.sso.save_settings(new, None, keep_secret=True)
    _audit(uow, clock, current, new)
    if new.required:
        # Every other password session is shut out of the organization at once
        # (accounts.usable); the owner requiring it keeps theirs, as the break-glass would.
        uow.accounts.set_session_organization(member.session.token_hash, org_id, sso=True)
    log.info(
        "single sign-on policy changed",
        extra={"organization_id": org_id, "required": new.required, "role": role.value},
    )


def _configured_protocol(s: SsoSettings) -> Protocol | None:
    if s.saml_idp_metadata:
        return Protocol.SAML
    if s.oidc_issuer:
        return Protocol.OIDC
    return None


def add_domain(uow: UnitOfWork, clock: Clock, member: Member, domain: str) -> SsoDomain:
    member.require(Permission.SINGLE_SIGN_ON)
    org_id = member.organization.id
    name = normalize_domain(domain)
    if problem := domain_problem(name):
        raise InvalidInput("not a domain name", [{"field": "domain", "message": problem}])
    if any(d.domain == name for d in uow.sso.domains(org_id)):
        raise Conflict("this domain is listed already")
    if len(uow.sso.domains(org_id)) >= 50:
        raise Conflict("at most 50 domains per organization")
    made = SsoDomain(org_id, name, secrets.token_urlsafe(24), clock.now(), None)
    uow.sso.add_domain(made)
    _audit_domain(uow, clock, org_id, "sso.domain_added", name)
    return made


def verify_domain(
    uow: UnitOfWork, clock: Clock, dns: DnsResolver, member: Member, domain: str
) -> bool:
    """Looks for the domain's TXT record; True once verified. A domain another
    organization verified first stays theirs (Conflict)."""
    member.require(Permission.SINGLE_SIGN_ON)
    org_id = member.organization.id
    name = normalize_domain(domain)
    found = next((d for d in uow.sso.domains(org_id) if d.domain == name), None)
    if found is None:
        raise NotFound("no such domain")
    if found.verified_at is not None:
        return True
    holder = uow.sso.verified_owner(name)
    if holder is not None and holder != org_id:
        raise Conflict("another organization verified this domain")
    if not is_verified_by(dns.txt(name), found.token):
        log.info(
            "domain verification record not found",
            extra={"organization_id": org_id, "domain": name},
        )
        return False
    uow.sso.mark_verified(org_id, name, clock.now())
    _audit_domain(uow, clock, org_id, "sso.domain_verified", name)
    log.info("domain verified", extra={"organization_id": org_id, "domain": name})
    return True


def remove_domain(uow: UnitOfWork, clock: Clock, member: Member, domain: str) -> None:
    member.require(Permission.SINGLE_SIGN_ON)
    org_id = member.organization.id
    name = normalize_domain(domain)
    if not any(d.domain == name for d in uow.sso.domains(org_id)):
        raise NotFound("no such domain")
    uow.sso.remove_domain(org_id, name)
    _audit_domain(uow, clock, org_id, "sso.domain_removed", name)


def txt_record(d: SsoDomain) -> str:
    return verification_record(d.token)


# -- sign-in -------------------------------------------------------------------------


def provider_for_email(uow: UnitOfWork, email: str) -> SsoSettings | None:
    """The single sign-on of the organization that verified the e-mail's domain, if it is
    on and ready."""
    domain = email_domain(email)
    if domain is None:
        return None
    org_id = uow.sso.verified_owner(domain)
    if org_id is None:
        return None
    found = uow.sso.settings(org_id)
    return found if found is not None and found.ready else None


def oidc_client(uow: UnitOfWork, sealer: Sealer, s: SsoSettings, redirect_uri: str) -> OidcClient:
    sealed = uow.sso.sealed_secret(s.organization_id)
    if sealed is None or not s.oidc_issuer or not s.oidc_client_id:
        raise SsoRefused(Refusal.NOT_CONFIGURED, "single sign-on is not set up")
    secret = sealer.open(sealed, _secret_binding(s.organization_id)).decode()
    return OidcClient(s.oidc_issuer, s.oidc_client_id, secret, redirect_uri)


def begin_oidc(
    uow: UnitOfWork, clock: Clock, s: SsoSettings, next_path: str
) -> tuple[str, str, str]:
    """Records a sign-in under way; answers (state, nonce, PKCE code verifier)."""
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    _pending(uow, clock, state, s.organization_id, Protocol.OIDC, next_path, nonce, verifier)
    return state, nonce, verifier


def begin_saml(
    uow: UnitOfWork,
    clock: Clock,
    saml: SamlProtocol,
    org_id: str,
    sp: SamlServiceProvider,
    next_path: str,
) -> str:
    """Records a SAML sign-in under way; answers where to send the browser (the identity
    provider, with an AuthnRequest and our RelayState)."""
    state = secrets.token_urlsafe(32)
    request_id, url = saml.authn_request(sp, relay_state=state)
    _pending(uow, clock, state, org_id, Protocol.SAML, next_path, request_id=request_id)
    return url


def _pending(
    uow: UnitOfWork,
    clock: Clock,
    state: str,
    org_id: str,
    protocol: Protocol,
    next_path: str,
    nonce: str | None = None,
    code_verifier: str | None = None,
    request_id: str | None = None,
) -> None:
    now = clock.now()
    uow.sso.forget_expired(now)
    uow.sso.add_request(
        PendingSignIn(
            state_hash=_hash(state),
            organization_id=org_id,
            protocol=protocol,
            nonce=nonce,
            code_verifier=code_verifier,
            request_id=request_id,
            next_path=next_path,
            created_at=now,
            expires_at=now + REQUEST_LIFETIME,
        )
    )


def take_pending(uow: UnitOfWork, clock: Clock, state: str, protocol: Protocol) -> PendingSignIn:
    """The sign-in under way that `state` names, spent now (a second use is refused)."""
    pending = uow.sso.take_request(_hash(state), clock.now()) if state else None
    if pending is None or pending.protocol is not protocol:
        raise SsoRefused(Refusal.STATE, "this sign-in has expired or was used; start again")
    return pending


def saml_service_provider(s: SsoSettings, base_url: str) -> SamlServiceProvider:
    if not s.saml_idp_metadata or not s.saml_idp_entity_id:
        raise SsoRefused(
            Refusal.NOT_CONFIGURED,
            "single sign-on is not set up",
            organization_id=s.organization_id,
        )
    return SamlServiceProvider(
        entity_id=f"{base_url}/sso/saml/{s.organization_id}/metadata",
        acs_url=f"{base_url}/sso/saml/{s.organization_id}/acs",
        idp_entity_id=s.saml_idp_entity_id,
        idp_metadata=s.saml_idp_metadata,
        allow_unsolicited=s.allow_unsolicited,
    )


def complete(
    uow: UnitOfWork,
    clock: Clock,
    org_id: str,
    identity: Identity,
) -> tuple[str, WebSession, bool]:
    """Signs in the person the identity provider vouched for: (cookie token, session,
    whether they were made a member just now). Refuses a replay and an e-mail outside the
    organization's verified domains."""
    now = clock.now()
    s = uow.sso.settings(org_id)
    if s is None or s.protocol is None:
        raise SsoRefused(Refusal.NOT_CONFIGURED, "single sign-on is off", organization_id=org_id)
    kind, value = identity.once
    if not uow.sso.first_sight(org_id, kind, value, max(identity.once_until, now)):
        raise SsoRefused(
            Refusal.REPLAY, "this sign-in was used already; start again", organization_id=org_id
        )
    domain = email_domain(identity.email)
    verified = {d.domain for d in uow.sso.domains(org_id) if d.verified_at is not None}
    if domain is None or domain not in verified:
        raise SsoRefused(
            Refusal.DOMAIN,
            "your e-mail address is not in a domain this organization signs in with",
            organization_id=org_id,
        )
    try:
        given, key = require_key(identity.email, "email")
    except InvalidInput:
        raise SsoRefused(
            Refusal.EMAIL,
            "the identity provider sent no usable e-mail address",
            organization_id=org_id,
        ) from None
    user = uow.accounts.user_by_email_key(key.value)
    if user is None:
        name = " ".join(identity.name.split())[:200] or given
        user = User(new_id("usr", now), given, name, NO_PASSWORD, now)
        uow.accounts.add_user(user, key.value)
    joined = False
    if uow.accounts.membership(org_id, user.id) is None:
        accounts.add_member(uow, clock, org_id, user.id, s.default_role)
        joined = True
        # Made by their first sign-in (just in time): the log names them, by the provider.
        audit_log.record(
            uow,
            now,
            [
                audit_log.Change(
                    org_id, "member.added", "member", user.id, None,
                    {"email": user.email, "role": s.default_role.value, "by": "single sign-on"},
                )
            ],
            actor=Actor(ActorKind.MEMBER, user.id, user.email, audit_log.current_actor().source),
        )  # fmt: skip
    token, session = accounts.new_session(uow, now, user.id, org_id, sso=True)
    return token, session, joined


# -- the break-glass ------------------------------------------------------------------


def break_glass(
    uow: UnitOfWork,
    passwords: PasswordHasher,
    clock: Clock,
    *,
    email: str,
    password: str,
    client: str,
) -> tuple[str, WebSession] | None:
    """An owner's password sign-in although their organization requires single sign-on
    (the identity provider is down, or misconfigured). Only owners of such an organization
    may; it is logged at WARNING and every owner of the organization is e-mailed.
    None for a wrong password or someone this is not for (rate limited like /login)."""
    signed = accounts.sign_in(
        uow, passwords, clock, email=email, password=password, client=client, break_glass=True
    )
    if signed is None:
        return None
    token, session = signed
    orgs = uow.accounts.organizations_of(session.user_id)
    requiring = set(uow.sso.requiring_organizations([o[0] for o in orgs]))
    owned = [o for o in orgs if o[0] in requiring and o[2] == Role.OWNER.value]
    if not owned:
        uow.accounts.delete_session(session.token_hash)
        return None
    now = clock.now()
    user = uow.accounts.user(session.user_id)
    for org_id, org_name, _ in owned:
        log.warning(
            "break-glass password sign-in to an organization that requires single sign-on",
            extra={"organization_id": org_id, "user_id": session.user_id, "client": client},
        )
        about = {
            "organization": org_name,
            "who": user.email if user else session.user_id,
            "client": client,
            "at": now.isoformat(),
        }
        mail_owners(uow, org_id, BREAK_GLASS_MAIL, about, now)
        who = Actor(ActorKind.MEMBER, session.user_id, about["who"], client)
        audit_log.record(
            uow,
            now,
            [audit_log.Change(org_id, "sso.break_glass", "member", session.user_id)],
            actor=who,
        )
    uow.accounts.set_session_organization(session.token_hash, owned[0][0], sso=True)
    return token, replace(session, organization_id=owned[0][0], sso_organization_id=owned[0][0])
