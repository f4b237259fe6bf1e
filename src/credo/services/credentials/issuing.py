"""Issuing use cases: create (one or a bulk), publish, edit, delete, read (R1..R9, R11, R12)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol

from credo.domain.credentials import (
    SeatReason,
    Status,
    check_dates,
    edit_need,
    publish_need,
    resolve_dates,
)
from credo.domain.entities import (
    Credential,
    CredentialFilter,
    Group,
    Organization,
    SigningKey,
)
from credo.domain.errors import Conflict, InvalidInput, NotFound
from credo.domain.seats import DepartmentQuote, Quote, SeatEvent
from credo.ids import new_ids
from credo.services import audit_log
from credo.services.billing import charging
from credo.services.context import ServiceContext
from credo.services.credentials import audited, documents, group_settings
from credo.services.credentials.groups import get_group, is_vc_api_group
from credo.services.credentials.ports import Charging, Signing
from credo.services.mail import notifications
from credo.services.ports import UnitOfWork
from credo.services.recipients.addresses import MalformedEmail, recipient_key, require_key
from credo.services.runner import Runner
from credo.services.tenancy.clocks import lock_org, org_now
from credo.services.webhooks import events as webhook_events


@dataclass(frozen=True, slots=True)
class NewCredential:
    recipient_name: str
    recipient_email: str
    issued_on: date | None = None
    expires_on: date | None = None
    expires_given: bool = False


@dataclass(frozen=True, slots=True)
class Changes:
    """A PATCH: None means "not given"; `expires_given` tells an explicit null apart."""

    recipient_name: str | None = None
    recipient_email: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    expires_given: bool = False


@dataclass(frozen=True, slots=True)
class Issued:
    credentials: list[Credential]
    credits_charged: int


@dataclass(frozen=True, slots=True)
class Preview:
    """A dry run's answer: what the real call would charge now (R12)."""

    credits_required: int
    credits_remaining: int
    sufficient: bool
    count: int
    departments: tuple[DepartmentQuote, ...] = ()  # beside the organization's (R21)

    @classmethod
    def of(cls, q: Quote[str], count: int) -> Preview:
        return cls(q.credits_required, q.credits_remaining, q.sufficient, count, q.departments)


@dataclass(frozen=True, slots=True)
class Ahead:
    """A publish's work that needs no lock, done before it (see `prepare`)."""

    org: Organization
    group: Group
    key_id: str
    now: datetime
    year: int
    creds: list[Credential]  # validated, numbered and signed


@dataclass(frozen=True, slots=True)
class _Draft:
    org: Organization
    group: Group
    key: SigningKey
    now: datetime
    year: int
    creds: list[Credential]


PUBLISHED_EVENT = "credential.published"  # the webhook event


def prepare(
    runner: Runner,
    ctx: ServiceContext,
    org_id: str,
    group_id: str,
    items: Sequence[NewCredential],
    *,
    field_prefix: str = "",
) -> Ahead | None:
    """Validate, number and sign new credentials to publish before `issue` takes the
    organization's lock: the lock is then held for the charge and the writes alone. `issue`
    uses this only if the organization, the group, the signing key and the billing year are
    still what they were; else it does the work again under the lock. None when there is
    nothing to do ahead, or when `issue` will refuse anyway (it then says why, in its own
    order of checks). Runs outside any unit of work: it reads in one (unless this process
    remembers what it read: signing_cache), then takes positions in another, then signs
    holding none (no connection is held while waiting for another)."""
    if ctx.positions is None or is_vc_api_group(group_id):
        return None
    minted_at = ctx.clock.now()
    known = signing_of(runner, ctx, org_id, group_id)
    if known is None:
        return None
    draft = _draft(ctx, known, items, field_prefix, minted_at)
    if draft is None:
        return None
    start = ctx.positions.take(org_id, len(draft.creds))
    signed = documents.sign_ahead(
        ctx, draft.org, draft.group, draft.key, draft.creds, start, draft.now
    )
    return Ahead(draft.org, draft.group, draft.key.id, draft.now, draft.year, signed)


def signing_of(runner: Runner, ctx: ServiceContext, org_id: str, group_id: str) -> Signing | None:
    """What a group's publishes sign with: remembered by this process (signing_cache), else
    read in a unit of work of its own. None when the organization or group is not there."""
    known = ctx.signing.get(org_id, group_id) if ctx.signing is not None else None
    if known is None:
        known = runner.read(lambda uow: uow.publishing.signing(org_id, group_id))
        if known is not None and ctx.signing is not None:
            ctx.signing.put(org_id, group_id, known)
    return known


def _draft(
    ctx: ServiceContext,
    found: Signing,
    items: Sequence[NewCredential],
    field_prefix: str,
    minted_at: datetime,
) -> _Draft | None:
    org, group = found.org, found.group
    now = org_now(org, ctx.clock)
    year = found.subscription.year_at(now).index
    try:
        creds = _build(
            org,
            group,
            items,
            now,
            year,
            publish=True,
            field_prefix=field_prefix,
            minted_at=minted_at,
        )
    except InvalidInput:
        return None
    return _Draft(org, group, found.key, now, year, creds)


def _build(
    org: Organization,
    group: Group,
    items: Sequence[NewCredential],
    now: datetime,
    year: int,
    *,
    publish: bool,
    field_prefix: str,
    minted_at: datetime,
) -> list[Credential]:
    """The credentials `items` ask for, or InvalidInput naming every bad field. Ids are
    minted from the real clock (`minted_at`), never a sandbox's test clock."""
    today = now.date()
    creds: list[Credential] = []
    errors: list[dict[str, str]] = []
    ids = new_ids("cred", len(items), minted_at)
    for i, item in enumerate(items):
        prefix = f"{field_prefix}{i}." if field_prefix else ""
        try:
            email, key = recipient_key(item.recipient_email)
        except MalformedEmail as exc:
            errors.append({"field": f"{prefix}recipient.email", "message": str(exc)})
            continue
        try:
            issued_on, expires_on = resolve_dates(
                item.issued_on,
                item.expires_on,
                today=today,
                expires_after_months=group.expires_after_months,
                expires_given=item.expires_given,
            )
        except InvalidInput as exc:
            errors.extend(
                {"field": prefix + e["field"], "message": e["message"]} for e in exc.errors
            )
            continue
        creds.append(
            Credential(
                id=ids[i],
                organization_id=org.id,
                group_id=group.id,
                recipient_name=item.recipient_name,
                recipient_email=email,
                recipient_key=key.value,
                status=Status.PUBLISHED if publish else Status.DRAFT,
                issued_on=issued_on,
                expires_on=expires_on,
                seat_year=year if publish else None,
                created_at=now,
                updated_at=now,
            )
        )
    if errors:
        raise InvalidInput(f"{len(errors)} field(s) are invalid", errors)
    return creds


def issue(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    group_id: str,
    items: Sequence[NewCredential],
    *,
    publish: bool,
    dry_run: bool,
    field_prefix: str = "",
    ahead: Ahead | None = None,
) -> Issued | Preview:
    """Create credentials from one group, as drafts or published, in one transaction.
    A bulk is all or nothing: one bad row or too few credits and nothing is created.
    `ahead`: what `prepare` did for this call before the lock, if it did."""
    if ahead is not None and publish and not dry_run:
        done = _issue_ahead(uow, ctx, org_id, group_id, ahead)
        if done is not None:
            return done
    org = lock_org(uow, org_id)
    group = get_group(uow, org_id, group_id)
    if is_vc_api_group(group.id):
        raise Conflict(
            "this group holds the credentials issued through POST /credentials/issue; "
            "issue Open Badges from a group of your own"
        )
    now = org_now(org, ctx.clock)
    p = charging.period(uow, org_id, now)
    creds = _build(
        org,
        group,
        items,
        now,
        p.year.index,
        publish=publish,
        field_prefix=field_prefix,
        minted_at=ctx.clock.now(),
    )
    group_settings.require_issuable(uow, group, [c.recipient_key for c in creds if publish])
    # R9: drafts are free and take no seat.
    events = [
        SeatEvent(c.id, c.recipient_key, SeatReason.PUBLISH, group.department_id)
        for c in creds
        if publish
    ]
    if dry_run:
        if not events:
            return Preview(0, p.account.remaining, True, len(creds))
        return Preview.of(charging.price(uow, org_id, p, events), len(creds))
    charged = charging.charge(uow, org_id, p, events) if events else 0
    if publish:
        creds = documents.sign_versions(uow, ctx, org, group, creds, now)
    uow.credentials.add_many(creds)
    if publish:
        _notify(uow, ctx, org, group, creds, notifications.PUBLISHED)
        webhook_events.credentials(uow, PUBLISHED_EVENT, creds, ctx.clock.now(), ctx.base_url)
    audit_log.record(uow, ctx.clock.now(), audited.issued(group_id, creds, publish=publish))
    return Issued(creds, charged)


def _issue_ahead(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, group_id: str, ahead: Ahead
) -> Issued | None:
    """Publish what `prepare` signed, holding the organization's lock for as little as can
    be: the credentials and their e-mails are written before it (they change no balance);
    under it, one statement reads all the charge needs, then come the seat, ledger and
    counter writes and the commit. None, having written nothing, when the organization,
    the group, the signing key or the billing year changed since: sign again under it."""
    creds = ahead.creds
    ids = [c.id for c in creds]
    uow.credentials.add_many(creds, counted=False)
    _notify(uow, ctx, ahead.org, ahead.group, creds, notifications.PUBLISHED)
    single = creds[0].recipient_key if len(creds) == 1 else None
    got = locked_period(uow, ctx, org_id, group_id, ahead, single)
    if got is None:
        uow.outbox.discard_for(ids)
        uow.credentials.discard(org_id, ids)
        return None
    locked, p = got
    uow.credentials.count_added(creds)
    assert locked.group is not None
    group_settings.require_issuable(uow, locked.group, [c.recipient_key for c in creds], ids)
    dept = locked.group.department_id
    events = [SeatEvent(c.id, c.recipient_key, SeatReason.PUBLISH, dept) for c in creds]
    seated = (
        None if single is None or locked.seated is None else ({single} if locked.seated else set())
    )
    charged = charging.charge(uow, org_id, p, events, seated)
    if locked.hooked:
        webhook_events.credentials(uow, PUBLISHED_EVENT, creds, ctx.clock.now(), ctx.base_url)
    audit_log.record(uow, ctx.clock.now(), audited.issued(group_id, creds, publish=True))
    return Issued(creds, charged)


class Seen(Protocol):
    """What a publish read and signed with before the lock."""

    @property
    def org(self) -> Organization: ...
    @property
    def group(self) -> Group: ...
    @property
    def key_id(self) -> str: ...
    @property
    def now(self) -> datetime: ...
    @property
    def year(self) -> int: ...


def locked_period(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    group_id: str,
    ahead: Seen,
    single: str | None,
) -> tuple[Charging, charging.Period] | None:
    """Take the organization's lock; its state and billing period, when the organization,
    the group, the signing key and the billing year are still what `ahead` saw (else
    None: the caller undoes its writes and does the work again under the lock). `single`:
    a lone recipient whose open seat the lock's read tells."""
    locked = uow.publishing.lock(org_id, group_id, ahead.year, single)
    if (
        locked is None
        or locked.group is None
        or (ahead.org, ahead.group, ahead.key_id) != (locked.org, locked.group, locked.key_id)
    ):
        p = None
    else:
        p = charging.period_of(
            locked.subscription,
            ahead.now,
            lambda y: locked.used if y == locked.year else uow.usage.used(org_id, y),
        )
    if locked is None or p is None or p.year.index != ahead.year:
        if ctx.signing is not None:
            ctx.signing.forget(org_id, group_id)
        return None
    return locked, p


def _load(uow: UnitOfWork, org_id: str, cred_id: str) -> Credential:
    cred = uow.credentials.get(org_id, cred_id)
    if cred is None:
        raise NotFound(f"no credential {cred_id}")
    return cred


def publish(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, cred_id: str, *, dry_run: bool
) -> Issued | Preview:
    """R3.1: publish a draft, taking a seat unless the recipient holds one this year."""
    org = lock_org(uow, org_id)
    now = org_now(org, ctx.clock)
    cred = _load(uow, org_id, cred_id)
    reason = publish_need(cred.state)
    p = charging.period(uow, org_id, now)
    group = get_group(uow, org_id, cred.group_id)
    events = [SeatEvent(cred.id, cred.recipient_key, reason, group.department_id)]
    group_settings.require_issuable(uow, group, [cred.recipient_key])
    if dry_run:
        return Preview.of(charging.price(uow, org_id, p, events), 1)
    charged = charging.charge(uow, org_id, p, events)
    published = replace(cred, status=Status.PUBLISHED, seat_year=p.year.index, updated_at=now)
    published = documents.sign_versions(uow, ctx, org, group, [published], now)[0]
    uow.credentials.update(published)
    _notify(uow, ctx, org, group, [published], notifications.PUBLISHED)
    webhook_events.credentials(uow, PUBLISHED_EVENT, [published], ctx.clock.now(), ctx.base_url)
    audit_log.record(
        uow, ctx.clock.now(), [audited.credential_change("credential.published", cred, published)]
    )
    return Issued([published], charged)


def edit(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    cred_id: str,
    changes: Changes,
    *,
    dry_run: bool,
) -> Issued | Preview:
    """R3.2, R3.3: edits of a published credential may renew it or re-address it, each of
    which needs the (new) recipient to hold a seat this year."""
    org = lock_org(uow, org_id)
    now = org_now(org, ctx.clock)
    cred = _load(uow, org_id, cred_id)
    if cred.revoked_at is not None:
        raise Conflict("a revoked credential cannot be changed; issue a new one")
    if is_vc_api_group(cred.group_id):
        # Its document is what the organization submitted and signed; Credo cannot rewrite it.
        raise Conflict(
            "a credential issued through POST /credentials/issue cannot be changed; "
            "delete it and issue a new one"
        )
    email, key = cred.recipient_email, cred.recipient_key
    if changes.recipient_email is not None:
        given, parsed = require_key(changes.recipient_email, "recipient.email")
        email, key = given, parsed.value
    issued_on = changes.issued_on or cred.issued_on
    expires_on = changes.expires_on if changes.expires_given else cred.expires_on
    check_dates(issued_on, expires_on)
    dates_changed = (issued_on, expires_on) != (cred.issued_on, cred.expires_on)
    p = charging.period(uow, org_id, now)
    reason = edit_need(
        cred.state, new_key=key, dates_changed=dates_changed, current_year=p.year.index
    )
    events = []
    if reason is not None:
        dept = get_group(uow, org_id, cred.group_id).department_id
        events = [SeatEvent(cred.id, key, reason, dept)]
    if dry_run:
        if not events:  # R3, R9: no seat needed, so nothing (not even R15) can refuse it
            return Preview(0, p.account.remaining, True, 1)
        return Preview.of(charging.price(uow, org_id, p, events), 1)
    charged = 0
    seat_year = cred.seat_year
    if reason is not None:
        charged = charging.charge(uow, org_id, p, events)
        if cred.seat_year is not None:
            charging.leave_seat(uow, org_id, cred.id, cred.recipient_key, cred.seat_year, now)
        seat_year = p.year.index
    updated = replace(
        cred,
        recipient_name=changes.recipient_name or cred.recipient_name,
        recipient_email=email,
        recipient_key=key,
        issued_on=issued_on,
        expires_on=expires_on,
        seat_year=seat_year,
        updated_at=now,
    )
    if updated.status is Status.PUBLISHED and _content(updated) != _content(cred):
        group = get_group(uow, org_id, cred.group_id)
        uow.credentials.supersede(cred, now)  # what the version it replaces said
        updated = documents.sign_versions(uow, ctx, org, group, [updated], now)[0]
        webhook_events.credentials(
            uow, "credential.updated", [updated], ctx.clock.now(), ctx.base_url
        )
    uow.credentials.update(updated)
    audit_log.record(
        uow, ctx.clock.now(), audited.credential_changes("credential.edited", cred, updated)
    )
    if reason is not None:
        # A renewal tells the recipient; a credential moved to a new recipient is, for them,
        # newly published.
        kind = notifications.RENEWED if reason is SeatReason.RENEWAL else notifications.PUBLISHED
        _notify(uow, ctx, org, get_group(uow, org_id, cred.group_id), [updated], kind)
    return Issued([updated], charged)


def _notify(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org: Organization,
    group: Group,
    creds: Sequence[Credential],
    kind: str,
) -> None:
    """Enqueue the recipients' e-mails in the caller's transaction: they go out if and
    only if what they announce is committed."""
    uow.outbox.add_many(notifications.announce(org, group, creds, kind, ctx.clock.now()))


def _content(c: Credential) -> tuple[object, ...]:
    """What the signed document says of the credential."""
    return (c.recipient_name, c.recipient_key, c.issued_on, c.expires_on)


def delete(uow: UnitOfWork, ctx: ServiceContext, org_id: str, cred_id: str) -> None:
    """R6, R7: no refund; the seat is released if this was its last live credential."""
    now = org_now(lock_org(uow, org_id), ctx.clock)
    cred = _load(uow, org_id, cred_id)
    if cred.status is Status.PUBLISHED and cred.seat_year is not None:
        charging.leave_seat(uow, org_id, cred.id, cred.recipient_key, cred.seat_year, now)
    documents.withdraw(uow, cred, now)
    uow.credentials.delete(org_id, cred.id, now)
    webhook_events.credentials(uow, "credential.deleted", [cred], ctx.clock.now(), ctx.base_url)
    audit_log.record(uow, ctx.clock.now(), [audited.deleted(cred)])


def get(uow: UnitOfWork, org_id: str, cred_id: str) -> Credential:
    return _load(uow, org_id, cred_id)


def list_credentials(
    uow: UnitOfWork,
    org_id: str,
    *,
    group_id: str | None,
    recipient_email: str | None,
    status: Status | None,
    after: str | None,
    limit: int,
    department_id: str | None = None,
) -> list[Credential]:
    """`department_id`: only the credentials of that department's groups."""
    key = None
    if recipient_email is not None:
        key = require_key(recipient_email, "recipient_email")[1].value
    flt = CredentialFilter(
        group_id=group_id, recipient_key=key, status=status, department_id=department_id
    )
    return uow.credentials.page(org_id, flt, after, limit)
