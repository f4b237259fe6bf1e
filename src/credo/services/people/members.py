"""Who may work on an organization and how they get in: members and their roles,
invitations, password resets by e-mail, the organization's API keys, and owner logins
made from the command line.

A reset (or invitation) link carries a token: an HMAC of a random nonce under a secret
derived from the master key. The database keeps only the token's SHA-256
(password_resets) and the outbox row only the nonce, so nobody who can read the database,
outbox included, can make a working link without the master key; the mail worker derives
the token again when it composes the message (as notifications does for recipients'
manage links). A token works once, and for an hour (an invitation's for three days)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from credo.clock import Clock
from credo.domain.accounts import Permission, Role, api_key_name_problem, password_problem
from credo.domain.entities import ApiKey, OutboxMessage, User
from credo.domain.errors import (
    InvalidInput,
    LastOwner,
    NotFound,
    ResetLinkInvalid,
    TooManyResetRequests,
)
from credo.ids import new_id
from credo.services import audit_log
from credo.services.context import ServiceContext
from credo.services.people import accounts
from credo.services.people.accounts import Member, token_hash
from credo.services.people.ports import PasswordHasher
from credo.services.ports import UnitOfWork
from credo.services.recipients.addresses import MalformedEmail, recipient_key, require_key
from credo.services.tenancy import organizations
from credo.services.tenancy.clocks import load_org, lock_org

PASSWORD_RESET = "password.reset"
ACCOUNT_INVITE = "account.invite"
KINDS = (PASSWORD_RESET, ACCOUNT_INVITE)

RESET_LIFETIME = timedelta(hours=1)
INVITE_LIFETIME = timedelta(days=3)
# Requests are counted whether or not the address has an account, so the limit itself
# tells nothing about who has one.
REQUEST_WINDOW = timedelta(hours=1)
MAX_REQUESTS_PER_EMAIL = 3
MAX_REQUESTS_PER_CLIENT = 20
MAX_TOKEN_LENGTH = 100


# --- links --------------------------------------------------------------------------------


def _reset_secret(link_secret: bytes) -> bytes:
    # Its own key, apart from the recipients' links: one leaking says nothing of the other.
    return hmac.new(link_secret, b"credo password resets v1", hashlib.sha256).digest()


def reset_token(ctx: ServiceContext, nonce: str) -> str:
    if not ctx.link_secret:
        raise ValueError("no link secret: password reset links cannot be made")
    mac = hmac.new(_reset_secret(ctx.link_secret), nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def reset_url(ctx: ServiceContext, nonce: str) -> str:
    return f"{ctx.base_url}/password-reset/{reset_token(ctx, nonce)}"


def _send_link(
    uow: UnitOfWork,
    ctx: ServiceContext,
    user: User,
    org_id: str,
    kind: str,
    lifetime: timedelta | None,
    **fields: Any,
) -> None:
    """An outbox row for `user`, with a fresh single-use link when `lifetime` is given.
    The row belongs to `org_id` because every outbox row belongs to an organization."""
    now = ctx.clock.now()
    payload: dict[str, Any] = {"name": user.name, **fields}
    if lifetime is not None:
        nonce = secrets.token_urlsafe(32)
        uow.accounts.add_reset(token_hash(reset_token(ctx, nonce)), user.id, now, now + lifetime)
        payload["nonce"] = nonce
    uow.outbox.add(
        OutboxMessage(
            id=new_id("mail", now),
            organization_id=org_id,
            kind=kind,
            to_address=user.email,
            credential_id=None,
            payload=orjson.dumps(payload).decode(),
            created_at=now,
            next_attempt_at=now,
        )
    )


# --- password resets ----------------------------------------------------------------------


def request_password_reset(
    uow: UnitOfWork, ctx: ServiceContext, *, email: str, client: str
) -> None:
    """E-mails a reset link if the address has an account in some organization; does the
    same visible nothing otherwise. Raises TooManyResetRequests past the limits. The caller
    commits."""
    now = ctx.clock.now()
    email = email.replace("\x00", "")  # no address has one, and PostgreSQL stores none
    by_email = f"reset:email:{email.strip().lower()}"
    by_client = f"reset:client:{client}"
    since = now - REQUEST_WINDOW
    if (
        uow.accounts.failures_since(by_email, since) >= MAX_REQUESTS_PER_EMAIL
        or uow.accounts.failures_since(by_client, since) >= MAX_REQUESTS_PER_CLIENT
    ):
        raise TooManyResetRequests("too many password reset requests; wait an hour and try again")
    uow.accounts.record_failure(by_email, now)
    uow.accounts.record_failure(by_client, now)
    try:
        key = recipient_key(email)[1].value
    except MalformedEmail:
        return
    user = uow.accounts.user_by_email_key(key)
    if user is None:
        return
    orgs = uow.accounts.organizations_of(user.id)
    if not orgs:
        return  # a person in no organization has nothing to sign in to
    _send_link(uow, ctx, user, orgs[0][0], PASSWORD_RESET, RESET_LIFETIME)


def check_reset(uow: UnitOfWork, clock: Clock, token: str) -> User:
    """The person a reset token is for; ResetLinkInvalid if unknown, used or expired."""
    found = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        found = uow.accounts.reset(token_hash(token))
    user = None
    if found is not None and found[2] is None and found[1] > clock.now():
        user = uow.accounts.user(found[0])
    if user is None:
        raise ResetLinkInvalid("this link has expired or was used already; ask for a new one")
    return user


def complete_reset(
    uow: UnitOfWork, passwords: PasswordHasher, clock: Clock, *, token: str, password: str
) -> User:
    """Sets the new password, uses the token up and ends every session of the person (a
    reset is often what follows a stolen password). The caller commits."""
    user = check_reset(uow, clock, token)
    problem = password_problem(password)
    if problem:  # checked before the token is used, so a retry can use it
        raise InvalidInput("the password is too weak", [{"field": "password", "message": problem}])
    if not uow.accounts.use_reset(token_hash(token), clock.now()):
        raise ResetLinkInvalid("this link was used already; ask for a new one")
    uow.accounts.set_password(user.id, passwords.hash(password))
    uow.accounts.delete_sessions_of(user.id)
    # Whoever proved they read the mailbox may sign in again at once.
    uow.accounts.clear_failures(f"email:{user.email.strip().lower()}")
    return user


# --- members ------------------------------------------------------------------------------


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(
            "unknown role", [{"field": "role", "message": "choose owner, issuer or viewer"}]
        ) from None


def list_members(uow: UnitOfWork, member: Member) -> list[tuple[User, Role]]:
    member.require(Permission.MEMBERS)
    return [(u, Role(r)) for u, r in uow.accounts.members(member.organization.id)]


def invite(
    uow: UnitOfWork,
    ctx: ServiceContext,
    passwords: PasswordHasher,
    member: Member,
    *,
    email: str,
    name: str,
    role: str,
) -> bool:
    """Adds the person with this e-mail to the member's organization, making their account
    if they have none (True then): its password is random and unknown, and the invitation
    e-mail carries a link to choose one. Either way they are told by e-mail."""
    member.require(Permission.MEMBERS)
    chosen = parse_role(role)
    given, key = require_key(email, "email")
    user = uow.accounts.user_by_email_key(key.value)
    created = user is None
    if user is None:
        user = accounts.create_user(
            uow,
            passwords,
            ctx.clock,
            email=given,
            name=_display_name(name, given),
            password=secrets.token_urlsafe(32),
        )
    accounts.add_member(uow, ctx.clock, member.organization.id, user.id, chosen)
    org_id = member.organization.id
    _audit(uow, ctx.clock.now(), org_id, "member.added", user.id, None, chosen.value)
    _send_link(
        uow,
        ctx,
        user,
        member.organization.id,
        ACCOUNT_INVITE,
        INVITE_LIFETIME if created else None,
        organization=member.organization.name,
        inviter=member.user.name,
        role=chosen.value,
    )
    return created


def _display_name(name: str, email: str) -> str:
    # Without a name, the address's local part: a whole address (up to 254 characters)
    # may not fit the 200 a name has. Control characters (NUL above all, which
    # PostgreSQL refuses to store) become spaces.
    shown = "".join(c if c.isprintable() else " " for c in name).strip()
    return (shown or email.rpartition("@")[0])[:200]


def _plausible_id(value: str) -> bool:
    # Ids come from URLs: anything else cannot name a row, and some strings (NUL) cannot
    # even be sent to PostgreSQL.
    return len(value) <= 40 and value.isascii() and value.replace("_", "").isalnum()


def _other_owners_left(uow: UnitOfWork, org_id: str, user_id: str) -> None:
    """Refuses to take the owner role from the last owner. Call while holding the
    organization lock: two owners demoting each other at once must not leave none."""
    membership = uow.accounts.membership(org_id, user_id) if _plausible_id(user_id) else None
    if membership is None:
        raise NotFound("no such member")
    if membership.role == Role.OWNER.value and uow.accounts.count_owners(org_id) <= 1:
        raise LastOwner("the organization would be left without an owner; make another first")


def change_role(uow: UnitOfWork, member: Member, user_id: str, role: str, now: datetime) -> None:
    member.require(Permission.MEMBERS)
    chosen = parse_role(role)
    org_id = lock_org(uow, member.organization.id).id
    if chosen is not Role.OWNER:
        _other_owners_left(uow, org_id, user_id)
    was = uow.accounts.membership(org_id, user_id) if _plausible_id(user_id) else None
    if was is None:
        raise NotFound("no such member")
    uow.accounts.set_role(org_id, user_id, chosen.value)
    if was.role != chosen.value:
        _audit(uow, now, org_id, "member.role_changed", user_id, was.role, chosen.value)


def remove_member(uow: UnitOfWork, member: Member, user_id: str, now: datetime) -> None:
    """Their sessions stay, but no longer reach this organization (accounts.resolve)."""
    member.require(Permission.MEMBERS)
    org_id = lock_org(uow, member.organization.id).id
    _other_owners_left(uow, org_id, user_id)
    was = uow.accounts.membership(org_id, user_id)
    uow.accounts.remove_membership(org_id, user_id)
    _audit(uow, now, org_id, "member.removed", user_id, was.role if was else None, None)


def _audit(
    uow: UnitOfWork,
    now: datetime,
    org_id: str,
    action: str,
    user_id: str,
    old_role: str | None,
    new_role: str | None,
) -> None:
    user = uow.accounts.user(user_id)
    email = user.email if user else None
    before = None if old_role is None else {"email": email, "role": old_role}
    after = None if new_role is None else {"email": email, "role": new_role}
    audit_log.one(uow, now, org_id, action, "member", user_id, before, after)


# --- API keys -----------------------------------------------------------------------------


def api_keys(uow: UnitOfWork, member: Member) -> list[ApiKey]:
    member.require(Permission.API_KEYS)
    return uow.api_keys.all(member.organization.id)


def create_api_key(
    uow: UnitOfWork, clock: Clock, member: Member, name: str, department_id: str | None = None
) -> str:
    """The new key itself: show it once, only its hash is kept. `name` is trimmed;
    `department_id`: the one department it reaches (None: the whole organization)."""
    member.require(Permission.API_KEYS)
    name = name.strip()
    problem = api_key_name_problem(name)
    if problem is not None:
        raise InvalidInput(f"the name {problem}", [{"field": "name", "message": problem}])
    org_id = member.organization.id
    return organizations.issue_api_key(uow, org_id, clock.now(), name, department_id)


def revoke_api_key(uow: UnitOfWork, clock: Clock, member: Member, key_id: str) -> None:
    member.require(Permission.API_KEYS)
    if not _plausible_id(key_id) or not organizations.revoke_api_key(
        uow, member.organization.id, key_id, clock.now()
    ):
        raise NotFound("no such key, or it is revoked already")


# --- logins made by an operator (the CLI) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Login:
    user: User
    password: str | None  # set when one was made: print it once, it is not kept
    joined: bool  # the person was added to the organization now


def new_password() -> str:
    return secrets.token_urlsafe(15)  # 120 random bits, 20 characters


def add_login(
    uow: UnitOfWork,
    passwords: PasswordHasher,
    clock: Clock,
    org_id: str,
    *,
    email: str,
    name: str,
    role: Role,
    reset_password: bool = False,
) -> Login:
    """A login to the organization for this e-mail: a new account with a made-up password,
    or the existing one (its password replaced only with `reset_password`, which also ends
    its sessions). Conflict if the person is a member already, unless `reset_password`."""
    load_org(uow, org_id)
    given, key = require_key(email, "email")
    user = uow.accounts.user_by_email_key(key.value)
    password = None
    if user is None:
        password = new_password()
        user = accounts.create_user(
            uow, passwords, clock, email=given, name=_display_name(name, given), password=password
        )
    elif reset_password:
        password = new_password()
        uow.accounts.set_password(user.id, passwords.hash(password))
        uow.accounts.delete_sessions_of(user.id)
        after = {"email": user.email}
        audit_log.one(
            uow, clock.now(), org_id, "member.password_reset", "member", user.id, None, after
        )
    joined = uow.accounts.membership(org_id, user.id) is None
    if joined or not reset_password:
        accounts.add_member(uow, clock, org_id, user.id, role)
        _audit(uow, clock.now(), org_id, "member.added", user.id, None, role.value)
    return Login(user, password, joined)
