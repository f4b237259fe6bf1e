"""People who sign in to the dashboard: accounts, memberships, sessions, rate limits.

A session token is 256 random bits in a cookie; the database keeps its SHA-256 only. Every
sign-in failure is recorded per e-mail and per client address; too many within the window
refuse further attempts for both (whatever the password), so guessing is slow."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from credo.clock import Clock
from credo.domain.accounts import Permission, Role, allowed, password_problem
from credo.domain.entities import Membership, Organization, User, WebSession
from credo.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    SsoRequired,
    TooManyAttempts,
)
from credo.ids import new_id
from credo.services.people.ports import PasswordHasher
from credo.services.ports import UnitOfWork
from credo.services.recipients.addresses import require_key

SESSION_LIFETIME = timedelta(days=14)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 20


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    uow: UnitOfWork,
    passwords: PasswordHasher,
    clock: Clock,
    *,
    email: str,
    name: str,
    password: str,
) -> User:
    given, key = require_key(email, "email")
    problem = password_problem(password)
    if problem:
        raise InvalidInput("the password is too weak", [{"field": "password", "message": problem}])
    if uow.accounts.user_by_email_key(key.value) is not None:
        raise Conflict("an account with this e-mail already exists")
    now = clock.now()
    user = User(new_id("usr", now), given, name.strip() or given, passwords.hash(password), now)
    uow.accounts.add_user(user, key.value)
    return user


def add_member(uow: UnitOfWork, clock: Clock, org_id: str, user_id: str, role: Role) -> None:
    if uow.accounts.membership(org_id, user_id) is not None:
        raise Conflict("already a member of this organization")
    uow.accounts.add_membership(Membership(org_id, user_id, role.value, clock.now()))


def _clean(text: str, limit: int = 320) -> str:
    # Whatever a person types is stored as a rate-limit subject: databases refuse NUL.
    return text.replace("\x00", "").strip().lower()[:limit]


def _subjects(email: str, client: str) -> tuple[str, str]:
    return f"email:{_clean(email)}", f"client:{_clean(client, 300)}"


def sign_in(
    uow: UnitOfWork,
    passwords: PasswordHasher,
    clock: Clock,
    *,
    email: str,
    password: str,
    client: str,
    break_glass: bool = False,
) -> tuple[str, WebSession] | None:
    """A new session (its cookie token, and the row) for a correct e-mail and password;
    None for a wrong one (wrong e-mail and wrong password alike), with the failure recorded:
    the caller commits either way. SsoRequired for a member of an organization that
    requires single sign-on, unless `break_glass` (services.people.sso.break_glass)."""
    now = clock.now()
    by_email, by_client = _subjects(email, client)
    since = now - FAILURE_WINDOW
    if (
        uow.accounts.failures_since(by_email, since) >= MAX_FAILURES_PER_EMAIL
        or uow.accounts.failures_since(by_client, since) >= MAX_FAILURES_PER_CLIENT
    ):
        raise TooManyAttempts("too many failed sign-ins; wait 15 minutes and try again")
    user = uow.accounts.user_by_email_key(_clean(email))
    # Verify against a real hash even for an unknown e-mail, so timing tells nothing.
    known = user.password_hash if user else _DUMMY_HASH.get(passwords)
    if not passwords.verify(known, password) or user is None:
        uow.accounts.record_failure(by_email, now)
        uow.accounts.record_failure(by_client, now)
        return None
    uow.accounts.clear_failures(by_email)
    orgs = uow.accounts.organizations_of(user.id)
    if not break_glass and uow.sso.requiring_organizations([o[0] for o in orgs]):
        raise SsoRequired(
            "your organization signs you in through its identity provider: enter your e-mail "
            "address and leave the password empty"
        )
    return new_session(uow, now, user.id, orgs[0][0] if orgs else None)


def new_session(
    uow: UnitOfWork, now: datetime, user_id: str, org_id: str | None, *, sso: bool = False
) -> tuple[str, WebSession]:
    """A browser session for a person who proved who they are: (cookie token, row).
    `sso`: proved by `org_id`'s identity provider."""
    token = secrets.token_urlsafe(32)
    session = WebSession(
        token_hash=token_hash(token),
        user_id=user_id,
        organization_id=org_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
        sso_organization_id=org_id if sso else None,
    )
    uow.accounts.add_session(session)
    return token, session


class _DummyHash:
    """One hash of a random password per process, for unknown e-mails."""

    def __init__(self) -> None:
        self._value: str | None = None

    def get(self, passwords: PasswordHasher) -> str:
        if self._value is None:
            self._value = passwords.hash(secrets.token_urlsafe(16))
        return self._value


_DUMMY_HASH = _DummyHash()


@dataclass(frozen=True, slots=True)
class Member:
    """Who is asking, in which organization, with which role."""

    user: User
    organization: Organization
    role: Role
    session: WebSession
    organizations: list[tuple[str, str, str]]  # (id, name, role) of all theirs

    def can(self, permission: Permission) -> bool:
        return allowed(self.role, permission)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            article = "an" if self.role.value[0] in "aeiou" else "a"
            raise Forbidden(f"{article} {self.role.value} cannot do this; ask an owner")


def resolve(uow: UnitOfWork, clock: Clock, token: str) -> Member | None:
    """The member behind a session cookie, or None (unknown, expired, or no organization)."""
    session = uow.accounts.session(token_hash(token))
    if session is None or session.expires_at <= clock.now():
        return None
    user = uow.accounts.user(session.user_id)
    if user is None:
        return None
    orgs = usable(uow, session, uow.accounts.organizations_of(user.id))
    current = next((o for o in orgs if o[0] == session.organization_id), None)
    if current is None:
        if not orgs:
            return None
        current = orgs[0]  # removed from the one it was working on: fall back
    org = uow.organizations.get(current[0])
    if org is None:
        return None
    return Member(user, org, Role(current[2]), session, orgs)


def usable(
    uow: UnitOfWork, session: WebSession, orgs: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """The organizations a session may work in: of those requiring single sign-on, only
    the one whose identity provider (or break-glass) signed it in. Read on every request,
    so requiring single sign-on shuts password sessions out at once."""
    requiring = set(uow.sso.requiring_organizations([o[0] for o in orgs]))
    if not requiring:
        return orgs
    return [o for o in orgs if o[0] not in requiring or o[0] == session.sso_organization_id]


def switch_organization(uow: UnitOfWork, member: Member, org_id: str) -> None:
    if not any(o[0] == org_id for o in member.organizations):
        raise NotFound("no such organization")
    uow.accounts.set_session_organization(member.session.token_hash, org_id)


def sign_out(uow: UnitOfWork, token: str) -> None:
    uow.accounts.delete_session(token_hash(token))
