"""One credential as its issuer sees it: what it is now, its signed version, the e-mails
sent for it, the credits it took (in words, never rule codes), and its revocation or
suspension. Reads only; the actions on it are services.credentials.single_actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import orjson

from credo.domain.credentials import SeatReason, Status
from credo.domain.entities import Credential, FormerVersion, LedgerEntry, SentMail
from credo.domain.errors import NotFound
from credo.services.billing.credit_reports import year_span
from credo.services.context import ServiceContext
from credo.services.credentials.documents import credential_url
from credo.services.mail import outcomes
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import load_org, org_now

MAX_MAILS = 50
MAX_VERSIONS = 50
MAX_CHARGES = 50


@dataclass(frozen=True, slots=True)
class Version:
    """The signed version verifiers get now. Each change signs anew and revokes the copy
    before it; what earlier versions said is in Detail.former."""

    signed_at: datetime | None
    recipient_name: str
    recipient_email: str
    issued_on: date
    expires_on: date | None


@dataclass(frozen=True, slots=True)
class MailLine:
    mail: SentMail
    kind: str
    state: outcomes.MailState
    error: str | None  # in words, for a failed mail or a waiting one that failed before


@dataclass(frozen=True, slots=True)
class Charge:
    entry: LedgerEntry
    year: str  # the billing year as dates
    words: str


@dataclass(frozen=True, slots=True)
class Detail:
    credential: Credential
    group_name: str
    state: str  # published, draft, revoked, suspended or expired
    public_url: str | None  # published credentials have a public page
    version: Version | None  # None for a draft: nothing is signed yet
    former: list[FormerVersion]  # earlier signed versions, the latest replaced first
    mails: list[MailLine]
    charges: list[Charge]
    today: date


def state_of(cred: Credential, today: date) -> str:
    """The credential's status in one word; revoked wins over suspended over expired."""
    if cred.status is not Status.PUBLISHED:
        return "draft"
    if cred.revoked_at is not None:
        return "revoked"
    if cred.suspended_at is not None:
        return "suspended"
    if cred.expires_on is not None and cred.expires_on < today:
        return "expired"
    return "published"


def load(uow: UnitOfWork, ctx: ServiceContext, org_id: str, cred_id: str) -> Detail:
    """NotFound for an id that is not one of the organization's live credentials."""
    org = load_org(uow, org_id)
    cred = uow.credentials.get(org_id, cred_id)
    if cred is None:
        raise NotFound(f"no credential {cred_id}")
    today = org_now(org, ctx.clock).date()
    group = uow.groups.get(org_id, cred.group_id)
    published = cred.status is Status.PUBLISHED
    sub = uow.subscriptions.get(org_id)
    charges = []
    for e in uow.credential_search.charges(org_id, cred_id, MAX_CHARGES):
        year = year_span(sub.anchor, e.billing_year) if sub else f"number {e.billing_year + 1}"
        charges.append(Charge(e, year, charge_words(e, cred, year)))
    return Detail(
        credential=cred,
        group_name=group.name if group else cred.group_id,
        state=state_of(cred, today),
        public_url=credential_url(ctx, cred.id) if published else None,
        version=_version(uow, cred) if published else None,
        former=uow.credentials.former_versions(org_id, cred_id, MAX_VERSIONS),
        mails=[_mail_line(m) for m in uow.credential_search.mails(org_id, cred_id, MAX_MAILS)],
        charges=charges,
        today=today,
    )


def _version(uow: UnitOfWork, cred: Credential) -> Version:
    found = uow.credentials.document(cred.id)
    signed_at = _proof_created(found[1]) if found else None
    return Version(
        signed_at, cred.recipient_name, cred.recipient_email, cred.issued_on, cred.expires_on
    )


def _proof_created(document: str) -> datetime | None:
    """When the document was signed: its proof's `created` (a VC API caller's document
    may carry none, or several proofs)."""
    try:
        doc = orjson.loads(document)
        proof = doc.get("proof") if isinstance(doc, dict) else None
        if isinstance(proof, list):
            proof = proof[0] if proof else None
        created = proof.get("created") if isinstance(proof, dict) else None
        return datetime.fromisoformat(created) if isinstance(created, str) else None
    except (orjson.JSONDecodeError, ValueError):
        return None


def _mail_line(m: SentMail) -> MailLine:
    state = outcomes.state_of(m)
    error = outcomes.error_words(m.last_error) if m.last_error else None
    return MailLine(m, outcomes.kind_words(m.kind), state, error)


def charge_words(e: LedgerEntry, cred: Credential, year: str) -> str:
    """Why the entry took a credit, as a sentence about this credential."""
    # The entry names the recipient of its day: a later recipient change moved the name.
    who = cred.recipient_name if e.recipient_key == cred.recipient_key else e.recipient_key
    credits = "1 credit" if -e.delta == 1 else f"{-e.delta} credits"
    if e.reason == SeatReason.PUBLISH.value:
        event = "Publishing it"
    elif e.reason == SeatReason.RENEWAL.value:
        event = "Renewing it, a credential of an earlier billing year,"
    elif e.reason == SeatReason.RECIPIENT_CHANGE.value:
        event = "Giving it to a new recipient"
    else:
        event = "A change to it"
    return f"{event} made {who} a recipient in the billing year {year}: {credits}."
