"""Issuing through the W3C VC API (`POST /credentials/issue`): sign a credential the
organization submits, taking a seat exactly as publishing does (credits.md R3.1, R4, R11).

- The credential must be a well-formed VC 2.0 (or 1.1) credential (`domain.vcdm`), without a
  proof; JSON-LD processing then refuses undefined terms and unknown contexts (422).
- `issuer` is the organization: absent, it is set to the organization's DID (did:web of its
  domain, else the did:key of its current signing key; services.dids), and an issuer object
  without an `id` gets that id; any other issuer is refused (422) rather than overwritten,
  since signing a document that names someone else would be a silent forgery of the
  caller's intent.
- A VC 1.1 credential without `issuanceDate` gets one (now), as Digital Bazaar's `vc.issue`
  does.
- The seat's recipient key is the e-mail the credential carries (`credentialSubject.email`,
  an unhashed OB `IdentityObject` of type `emailAddress`, or a `mailto:` subject id), else
  the subject's `id`, else a key of its own (one seat per credential). The first subject
  that has an e-mail (else an id) decides; a credential takes one seat.
- The signed credential is stored as a published credential of the organization's VC API
  group (seat year, ledger entry, audit, R5 and R7 as for any other credential).
- Status: a VC 2.0 credential without `credentialStatus` gets a status position (from the
  process's block before the lock, as `positions.StatusPositions` hands out; under the lock
  when the issue is done there; a refused or re-signed issue leaves it unused) and the same two
  BitstringStatusListEntry values (revocation, suspension) as a published credential, so
  `POST /credentials/status` (`update_status`) can revoke or suspend it. A credential that
  already has a `credentialStatus` keeps it as given and gets no position: its caller runs
  that status list, and Credo will not sign a second, contradicting one into it. A VC 1.1
  credential gets none either (its context does not define BitstringStatusListEntry, and
  undefined terms are refused), nor does one issued with `options.credentialStatus: false`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from credo.domain import vcdm
from credo.domain.credentials import SeatReason, Status
from credo.domain.entities import Credential, Group, Organization, SigningKey
from credo.domain.errors import Conflict, InvalidInput, NotFound
from credo.domain.openbadges import status_entries
from credo.domain.seats import SeatEvent
from credo.ids import new_id
from credo.services import audit_log
from credo.services.billing import charging
from credo.services.context import ServiceContext
from credo.services.credentials import audited, documents, status
from credo.services.credentials.groups import vc_api_group, vc_api_group_id
from credo.services.credentials.issuing import locked_period, signing_of
from credo.services.ports import UnitOfWork
from credo.services.recipients.addresses import require_key
from credo.services.runner import Runner
from credo.services.tenancy import dids
from credo.services.tenancy.clocks import lock_org, org_now

FIELD = "credential"
MAX_KEY = 320  # the width of recipient_key; a longer subject id is keyed by its hash
MAX_NAME = 200
MAX_DOCUMENT_ID = 500  # the width of credentials.document_id; a longer id is not stored


@dataclass(frozen=True, slots=True)
class IssuedVc:
    credential_id: str
    document: dict[str, Any]
    credits_charged: int


@dataclass(frozen=True, slots=True)
class Recipient:
    key: str
    email: str  # "" when the credential carries none
    name: str


@dataclass(frozen=True, slots=True)
class AheadVc:
    """A credential signed before the organization's lock (see `prepare`)."""

    org: Organization
    group: Group
    key_id: str
    now: datetime
    year: int
    cred: Credential
    document: dict[str, Any]

    @property
    def creds(self) -> list[Credential]:
        return [self.cred]


def prepare(
    runner: Runner,
    ctx: ServiceContext,
    org_id: str,
    credential: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
) -> AheadVc | None:
    """As issuing.prepare, for POST /credentials/issue: read, number and sign before the
    lock, holding no unit of work while signing. None when the organization's VC API group
    does not exist yet or the process hands out no positions: `issue_credential` then does
    all of it under the lock. A refusal raised here (a credential it will not sign) is not
    answered (Mutation.ahead): the issue refuses it again, in its own order of checks."""
    if ctx.positions is None:
        return None
    known = signing_of(runner, ctx, org_id, vc_api_group_id(org_id))
    if known is None:
        return None
    org, key = known.org, known.key
    now = org_now(org, ctx.clock)
    year = known.subscription.year_at(now).index
    doc = _prepared(credential, dids.issuer_id(ctx, org, key), now)
    cred_id = new_id("cred", ctx.clock.now())
    recipient = recipient_of(doc, cred_id)
    issued_on, expires_on = _dates(doc, now.date())
    status_index = None
    if _wants_status(doc, options):
        status_index = ctx.positions.take(org_id, 1)
        doc["credentialStatus"] = status_entries(ctx.base_url, key.id, status_index)
    signed = _sign(ctx, org, key, doc, now)
    cred = _credential(
        cred_id, org_id, known.group.id, recipient, year, now, status_index, doc, signed,
        issued_on, expires_on,
    )  # fmt: skip
    return AheadVc(org, known.group, key.id, now, year, cred, signed)


def _credential(
    cred_id: str,
    org_id: str,
    group_id: str,
    recipient: Recipient,
    year: int,
    now: datetime,
    status_index: int | None,
    doc: Mapping[str, Any],
    signed: Mapping[str, Any],
    issued_on: date,
    expires_on: date | None,
) -> Credential:
    return Credential(
        id=cred_id,
        organization_id=org_id,
        group_id=group_id,
        recipient_name=recipient.name,
        recipient_email=recipient.email,
        recipient_key=recipient.key,
        status=Status.PUBLISHED,
        issued_on=issued_on,
        expires_on=expires_on,
        seat_year=year,
        created_at=now,
        updated_at=now,
        status_index=status_index,
        document_id=_document_id(doc),
        document=orjson.dumps(signed).decode(),
    )


def _sign(
    ctx: ServiceContext, org: Organization, key: SigningKey, doc: dict[str, Any], now: datetime
) -> dict[str, Any]:
    method = dids.verification_method(org, key)
    return ctx.signer.sign(
        [doc], key, cryptosuite=org.cryptosuite, created=now, verification_method=method
    )[0]


def _issue_ahead(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, ahead: AheadVc
) -> IssuedVc | None:
    """Store what `prepare` signed, then charge holding the lock for the charge alone. None,
    having written nothing, when what it read has changed since."""
    cred = ahead.cred
    uow.credentials.add_many([cred], counted=False)
    got = locked_period(uow, ctx, org_id, ahead.group.id, ahead, cred.recipient_key)
    if got is None:
        uow.credentials.discard(org_id, [cred.id])
        return None
    locked, p = got
    uow.credentials.count_added([cred])
    seated = None if locked.seated is None else ({cred.recipient_key} if locked.seated else set())
    event = SeatEvent(cred.id, cred.recipient_key, SeatReason.PUBLISH)
    charged = charging.charge(uow, org_id, p, [event], seated)
    audit_log.record(uow, ctx.clock.now(), audited.published([cred]))
    return IssuedVc(cred.id, ahead.document, charged)


def issue_credential(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    credential: Mapping[str, Any],
    options: Mapping[str, Any] | None = None,
    ahead: AheadVc | None = None,
) -> IssuedVc:
    """Sign `credential` for the organization and take its recipient's seat, all or
    nothing, in the caller's unit of work. `ahead`: what `prepare` did before the lock."""
    if ahead is not None:
        done = _issue_ahead(uow, ctx, org_id, ahead)
        if done is not None:
            return done
    org = lock_org(uow, org_id)
    now = org_now(org, ctx.clock)
    key = documents.current_key(uow, ctx, org_id, now)
    doc = _prepared(credential, dids.issuer_id(ctx, org, key), now)
    cred_id = new_id("cred", ctx.clock.now())
    recipient = recipient_of(doc, cred_id)
    status_index = None
    if _wants_status(doc, options):
        status_index = uow.organizations.take_status_indexes(org_id, 1)
        doc["credentialStatus"] = status_entries(ctx.base_url, key.id, status_index)
    # Sign first: a document JSON-LD refuses is a 422 even when no credit remains.
    signed = _sign(ctx, org, key, doc, now)
    p = charging.period(uow, org_id, now)
    charged = charging.charge(
        uow, org_id, p, [SeatEvent(cred_id, recipient.key, SeatReason.PUBLISH)]
    )
    group = vc_api_group(uow, org_id, now)
    issued_on, expires_on = _dates(doc, now.date())
    cred = _credential(
        cred_id,
        org_id,
        group.id,
        recipient,
        p.year.index,
        now,
        status_index,
        doc,
        signed,
        issued_on,
        expires_on,
    )
    uow.credentials.add_many([cred])
    audit_log.record(uow, ctx.clock.now(), audited.published([cred]))
    return IssuedVc(cred_id, signed, charged)


def _wants_status(doc: Mapping[str, Any], options: Mapping[str, Any] | None) -> bool:
    """Whether Credo adds its status entries (see the module's docstring)."""
    if "credentialStatus" in doc or vcdm.data_model(doc) != 2:
        return False
    return not (options is not None and options.get("credentialStatus") is False)


def _document_id(doc: Mapping[str, Any]) -> str | None:
    doc_id = doc.get("id")
    return doc_id if isinstance(doc_id, str) and len(doc_id) <= MAX_DOCUMENT_ID else None


def update_status(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    credential_id: str,
    purposes: Sequence[str],
    *,
    value: bool = True,
) -> Credential:
    """VC API status update: set (or, for a suspension, clear) the credential's bit on the
    list of each purpose, as `services.status.revoke` and `suspend` do. `credential_id` is
    Credo's credential id, its public URL, or the `id` its issuer gave the document; a
    credential of another organization is as unknown as a missing one (404)."""
    cred = find_credential(uow, ctx, org_id, credential_id)
    if cred.status_index is None:
        raise Conflict("the credential has no Credo status entry; it was issued with its own")
    for purpose in purposes:
        if purpose == documents.REVOCATION:
            if not value:
                raise Conflict("a revocation is for good; it cannot be lifted")
            cred = status.revoke(uow, ctx, org_id, cred.id, None)
        else:
            cred = status.suspend(uow, ctx, org_id, cred.id, suspended=value)
    return cred


def find_credential(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, credential_id: str
) -> Credential:
    prefix = documents.credential_url(ctx, "")
    own = credential_id.removeprefix(prefix) if credential_id.startswith(prefix) else None
    cred = uow.credentials.get(org_id, own or credential_id)
    if cred is None and len(credential_id) <= MAX_DOCUMENT_ID:
        cred = uow.credentials.by_document_id(org_id, credential_id)
    if cred is None:
        raise NotFound(f"no credential {credential_id}")
    return cred


def _refuse(problems: list[dict[str, str]]) -> InvalidInput:
    return InvalidInput(f"{len(problems)} field(s) of the credential are invalid", problems)


def _prepared(credential: Mapping[str, Any], did: str, now: datetime) -> dict[str, Any]:
    """The document to sign: the issuer set (or checked), a VC 1.1 issuanceDate defaulted,
    and every well-formedness rule checked."""
    if not isinstance(credential, Mapping):
        raise _refuse([{"field": FIELD, "message": "must be a JSON object"}])
    if vcdm.too_deep(credential):
        raise _refuse([{"field": FIELD, "message": f"nests more than {vcdm.MAX_DEPTH} levels"}])
    doc = dict(credential)
    if "proof" in doc:
        raise _refuse(
            [{"field": f"{FIELD}.proof", "message": "a credential to issue has no proof yet"}]
        )
    issuer = doc.get("issuer")
    if "issuer" not in doc:
        doc = _with_issuer(doc, did)
    elif isinstance(issuer, Mapping) and "id" not in issuer:
        doc["issuer"] = {"id": did, **issuer}
    if vcdm.data_model(doc) == 1 and "issuanceDate" not in doc:
        doc["issuanceDate"] = vcdm.xsd_now(now)
    problems = vcdm.credential_problems(doc, prefix=f"{FIELD}.")
    given = vcdm.issuer_id(doc)
    if vcdm.is_url(given) and given != did:
        object_issuer = isinstance(doc.get("issuer"), Mapping)
        field = f"{FIELD}.issuer.id" if object_issuer else f"{FIELD}.issuer"
        problems.append(
            {
                "field": field,
                "message": f"the organization signs as {did}; leave issuer out or set it to that",
            }
        )
    if problems:
        raise _refuse(problems)
    return doc


def _with_issuer(doc: dict[str, Any], did: str) -> dict[str, Any]:
    """`doc` with `issuer` where a reader looks for it: after `id` and `type`."""
    before = [k for k in ("@context", "id", "type") if k in doc]
    return {
        **{k: doc[k] for k in before},
        "issuer": did,
        **{k: v for k, v in doc.items() if k not in before},
    }


def recipient_of(doc: Mapping[str, Any], cred_id: str) -> Recipient:
    """The seat's recipient key (see the module's docstring). An e-mail that is malformed is
    refused (422), as everywhere else."""
    value = doc.get("credentialSubject")
    subjects = [s for s in vcdm.as_list(value) if isinstance(s, Mapping)]
    for i, subject in enumerate(subjects):
        where = f"{FIELD}.credentialSubject" + (f".{i}" if isinstance(value, list) else "")
        found = _email_of(subject, where)
        if found is not None:
            email, field = found
            given, parsed = require_key(email, field)
            return Recipient(parsed.value, given, _name(subject))
    for subject in subjects:
        subject_id = subject.get("id")
        if isinstance(subject_id, str):
            key = subject_id
            if len(key) > MAX_KEY:
                key = "urn:sha256:" + hashlib.sha256(key.encode()).hexdigest()
            return Recipient(key, "", _name(subject))
    # Neither: a key no other credential can have (not an e-mail, not a URL).
    return Recipient(cred_id, "", _name(subjects[0]) if subjects else "")


def _email_of(subject: Mapping[str, Any], where: str) -> tuple[str, str] | None:
    """(e-mail, field it came from) carried by one subject, or None."""
    email = subject.get("email")
    if isinstance(email, str):
        return email, f"{where}.email"
    if "email" in subject:
        raise _refuse([{"field": f"{where}.email", "message": "must be an e-mail address"}])
    identifiers = subject.get("identifier")
    for i, ident in enumerate(vcdm.as_list(identifiers)):
        if (
            isinstance(ident, Mapping)
            and "IdentityObject" in vcdm.types_of(ident)
            and ident.get("identityType") == "emailAddress"
            and ident.get("hashed") is False
            and isinstance(ident.get("identityHash"), str)
        ):
            at = f"{where}.identifier" + (f".{i}" if isinstance(identifiers, list) else "")
            return ident["identityHash"], f"{at}.identityHash"
    subject_id = subject.get("id")
    if isinstance(subject_id, str) and subject_id.lower().startswith("mailto:"):
        return subject_id[len("mailto:") :], f"{where}.id"
    return None


def _name(subject: Mapping[str, Any]) -> str:
    name = subject.get("name")
    return name.strip()[:MAX_NAME] if isinstance(name, str) else ""


def _dates(doc: Mapping[str, Any], today: date) -> tuple[date, date | None]:
    """The row's issue and expiry days, from the credential's validity period when its
    dates fit a calendar (years 1..9999); the issue day defaults to today."""
    start, end = (vcdm.parse_datetime(v, require_zone=False) for v in vcdm.validity_dates(doc))
    expires = end.date() if end is not None and vcdm.EARLIEST < end < vcdm.LATEST else None
    if start is not None and vcdm.EARLIEST < start < vcdm.LATEST:
        issued = start.date()
    else:
        issued = today if expires is None else min(today, expires)
    return issued, expires
