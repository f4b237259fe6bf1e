"""The recipient's wallet: every credential issued to an address on this server, across
organizations, for its recipient alone.

Recipients have no password. They ask for a link by e-mail; the answer is the same whether
or not the address holds credentials, and asking is rate-limited per address and per
client. The link carries a random token (only its hash is kept), works once, for 15
minutes, and opens a session of 12 hours on the recipient key, not on one credential."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import orjson

from credo.clock import Clock
from credo.domain.entities import OutboxMessage
from credo.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    ResetLinkInvalid,
    TooManyResetRequests,
)
from credo.ids import new_id
from credo.services.context import ServiceContext
from credo.services.people.accounts import token_hash
from credo.services.ports import UnitOfWork
from credo.services.recipients.addresses import MalformedEmail, recipient_key
from credo.services.recipients.wallet_ports import Held, Profile

SIGN_IN = "wallet.sign_in"  # the outbox kind of the e-mailed link
LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
REQUEST_WINDOW = timedelta(hours=1)
MAX_REQUESTS_PER_ADDRESS = 3
MAX_REQUESTS_PER_CLIENT = 20
MAX_TOKEN_LENGTH = 100
_SLUG = re.compile(r"^[a-z0-9]{8,40}$")


@dataclass(frozen=True, slots=True)
class Session:
    recipient_key: str
    csrf_token: str


def request_link(uow: UnitOfWork, ctx: ServiceContext, *, email: str, client: str) -> None:
    """E-mail a sign-in link if the address holds credentials here; otherwise do the same
    visible nothing. TooManyResetRequests past the limits. The caller commits."""
    now = ctx.clock.now()
    garbled = "\x00" in email  # no address holds one (and PostgreSQL stores none)
    email = email.replace("\x00", "")
    since = now - REQUEST_WINDOW
    by_address = f"wallet:email:{email.strip().lower()}"
    by_client = f"wallet:client:{client}"
    if (
        uow.accounts.failures_since(by_address, since) >= MAX_REQUESTS_PER_ADDRESS
        or uow.accounts.failures_since(by_client, since) >= MAX_REQUESTS_PER_CLIENT
    ):
        raise TooManyResetRequests("too many sign-in links asked for; wait an hour and try again")
    uow.accounts.record_failure(by_address, now)
    uow.accounts.record_failure(by_client, now)
    if garbled:
        return
    try:
        address, key = recipient_key(email)
    except MalformedEmail:
        return
    # Every outbox row belongs to an organization: the one that issued to it last.
    org_id = uow.wallet.latest_organization(key.value)
    if org_id is None:
        return
    token = secrets.token_urlsafe(32)
    uow.wallet.add_link(token_hash(token), key.value, now, now + LINK_LIFETIME)
    uow.outbox.add(
        OutboxMessage(
            id=new_id("mail", now),
            organization_id=org_id,
            kind=SIGN_IN,
            to_address=address,
            credential_id=None,
            # The token itself, like a password reset's nonce: the e-mail must carry it.
            payload=orjson.dumps({"token": token, "minutes": 15}).decode(),
            created_at=now,
            next_attempt_at=now,
        )
    )


def link_url(ctx: ServiceContext, token: str) -> str:
    return f"{ctx.base_url}/wallet/enter/{token}"


def _usable(uow: UnitOfWork, clock: Clock, token: str) -> str:
    if not token.isascii() or len(token) > MAX_TOKEN_LENGTH:
        raise ResetLinkInvalid("this sign-in link is not valid; ask for a new one")
    found = uow.wallet.link(token_hash(token))
    if found is None:
        raise ResetLinkInvalid("this sign-in link is not valid; ask for a new one")
    key, expires, used = found
    if used is not None:
        raise ResetLinkInvalid("this sign-in link was used already; ask for a new one")
    if expires <= clock.now():
        raise ResetLinkInvalid("this sign-in link has expired; ask for a new one")
    return key


def check_link(uow: UnitOfWork, clock: Clock, token: str) -> None:
    _usable(uow, clock, token)


def open_session(uow: UnitOfWork, clock: Clock, token: str) -> tuple[str, Session]:
    """Spend the link; answers the session's cookie token and the session. The caller
    commits."""
    key = _usable(uow, clock, token)
    now = clock.now()
    if not uow.wallet.use_link(token_hash(token), now):
        raise ResetLinkInvalid("this sign-in link was used already; ask for a new one")
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    uow.wallet.add_session(token_hash(cookie), key, csrf, now, now + SESSION_LIFETIME)
    return cookie, Session(key, csrf)


def session(uow: UnitOfWork, clock: Clock, cookie: str | None) -> Session | None:
    if not cookie or not cookie.isascii() or len(cookie) > MAX_TOKEN_LENGTH:
        return None
    found = uow.wallet.session(token_hash(cookie), clock.now())
    return Session(*found) if found else None


def end_session(uow: UnitOfWork, cookie: str | None) -> None:
    if cookie and cookie.isascii() and len(cookie) <= MAX_TOKEN_LENGTH:
        uow.wallet.end_session(token_hash(cookie))


def held(uow: UnitOfWork, key: str) -> list[Held]:
    return uow.wallet.held(key)


def one(uow: UnitOfWork, key: str, cred_id: str) -> Held:
    """One credential of this recipient; NotFound for anyone else's (the same answer as
    for none)."""
    found = uow.wallet.held(key, cred_id)
    if not found:
        raise NotFound(f"no credential {cred_id}")
    return found[0]


def set_hidden(uow: UnitOfWork, key: str, cred_id: str, hidden: bool) -> None:
    one(uow, key, cred_id)
    uow.credentials.set_hidden(cred_id, hidden)


def check_csrf(s: Session, given: str | None) -> None:
    if not given or not secrets.compare_digest(given.encode(), s.csrf_token.encode()):
        raise Forbidden("the form has expired or did not come from this site; reload the page")


# --- the public profile ----------------------------------------------------------------------


def profile(uow: UnitOfWork, key: str) -> Profile | None:
    return uow.wallet.profile(key)


def save_profile(
    uow: UnitOfWork,
    clock: Clock,
    key: str,
    *,
    public: bool,
    display_name: str,
    shown: list[str],
) -> Profile:
    """Turn the profile on or off and choose what it shows (only the recipient's own
    credentials). Its address stays the same once made."""
    name = " ".join(display_name.split())
    if public and not 1 <= len(name) <= 200:
        raise InvalidInput(
            "the profile needs a name of 1 to 200 characters",
            errors=[{"field": "display_name", "message": "1 to 200 characters"}],
        )
    mine = {h.credential.id for h in uow.wallet.held(key)}
    old = uow.wallet.profile(key)
    slug = old.slug if old is not None else secrets.token_hex(8)
    new = Profile(key, slug, name[:200], public, frozenset(c for c in shown if c in mine))
    uow.wallet.save_profile(new, clock.now())
    return new


def public_profile(uow: UnitOfWork, slug: str) -> tuple[Profile, list[Held]]:
    """A public profile and the credentials it shows: chosen, still published, and not
    hidden. NotFound when it is off or unknown."""
    if not _SLUG.match(slug):
        raise NotFound("no such profile")
    found = uow.wallet.profile_by_slug(slug)
    if found is None or not found.public:
        raise NotFound("no such profile")
    shown = [
        h
        for h in uow.wallet.held(found.recipient_key)
        if h.credential.id in found.shown and not h.credential.hidden
    ]
    return found, shown
