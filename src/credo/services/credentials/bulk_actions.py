"""Bulk actions on chosen credentials: publish drafts, renew, revoke, delete.

Each is planned first (`plan`: which credentials it applies to, which it skips and why, and
what it costs, R12) and then run (`run`) in one transaction, all or nothing. The cost is
priced as one batch, as a bulk publish is (R11): one credit per distinct recipient without
a seat this billing year, whatever the number of their credentials. Running re-plans under
the organization's lock and does each credential through the same use case the API calls
(issuing.publish, issuing.edit, status.revoke, issuing.delete), so nothing here decides a
credit rule of its own: the domain's publish_need and edit_need say which events need a
seat, charging.price what they cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from credo.domain import seats as seat_rules
from credo.domain.credentials import Status, edit_need, publish_need, resolve_dates
from credo.domain.entities import Credential, Group, Organization
from credo.domain.errors import (
    AlreadyPublished,
    CostChanged,
    InsufficientCredits,
    InvalidInput,
    NotFound,
)
from credo.domain.seats import Quote, SeatEvent
from credo.services.billing import charging
from credo.services.context import ServiceContext
from credo.services.credentials import group_settings, issuing, status
from credo.services.credentials.groups import get_group, is_vc_api_group
from credo.services.credentials.issuing import Changes, Preview
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import load_org, lock_org, org_now

MAX_SELECTED = 200
MAX_REASON = status.MAX_REASON


class BulkAction(StrEnum):
    PUBLISH = "publish"
    RENEW = "renew"
    REVOKE = "revoke"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Skipped:
    credential: Credential
    why: str


@dataclass(frozen=True, slots=True)
class BulkPlan:
    action: BulkAction
    ready: list[Credential]
    skipped: list[Skipped]
    preview: Preview  # credits_required, credits_remaining, sufficient; count = len(ready)
    # Renewals: the dates each credential would get (issued today, expiry by the policy).
    dates: dict[str, tuple[date, date | None]] = field(default_factory=dict)
    # Recipients who would get a second live credential of a group whose policy warns.
    duplicates: list[str] = field(default_factory=list)
    quote: Quote[str] | None = None
    resets_at: datetime | None = None  # when this billing year's allowance renews


@dataclass(frozen=True, slots=True)
class BulkResult:
    action: BulkAction
    done: int
    credits_charged: int
    skipped: list[Skipped]


def _ids(ids: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise InvalidInput(
            "choose at least one credential", [{"field": "ids", "message": "choose at least one"}]
        )
    if len(unique) > MAX_SELECTED:
        raise InvalidInput(
            f"at most {MAX_SELECTED} credentials at a time",
            [{"field": "ids", "message": f"choose at most {MAX_SELECTED}"}],
        )
    return unique


def plan(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, action: BulkAction, ids: Sequence[str]
) -> BulkPlan:
    """What the action would do and cost now, changing nothing (R12). NotFound for an id
    that is not one of the organization's live credentials."""
    return _plan(uow, ctx, load_org(uow, org_id), action, _ids(ids))


def _plan(
    uow: UnitOfWork, ctx: ServiceContext, org: Organization, action: BulkAction, ids: list[str]
) -> BulkPlan:
    now = org_now(org, ctx.clock)
    today = now.date()
    p = charging.period(uow, org.id, now)
    group_cache: dict[str, Group] = {}

    def group_of(c: Credential) -> Group:
        if c.group_id not in group_cache:
            group_cache[c.group_id] = get_group(uow, org.id, c.group_id)
        return group_cache[c.group_id]

    creds = []
    for cred_id in ids:
        cred = uow.credentials.get(org.id, cred_id)
        if cred is None:
            raise NotFound(f"no credential {cred_id}")
        creds.append(cred)

    ready: list[Credential] = []
    skipped: list[Skipped] = []
    events: list[SeatEvent[str]] = []
    dates: dict[str, tuple[date, date | None]] = {}
    warn: set[str] = set()
    held: dict[str, set[str]] = {}  # group id: keys with a live credential (publish only)

    for c in creds:
        why = _why_not(action, c)
        if why is None and action is BulkAction.PUBLISH:
            group = group_of(c)
            policy = group_settings.policy_of(group)
            if group.archived_at is not None:
                why = "its group is archived"
            elif policy is not group_settings.DuplicatePolicy.ALLOW:
                if group.id not in held:
                    keys = [x.recipient_key for x in creds if x.group_id == group.id]
                    held[group.id] = uow.credential_search.live_keys_in_group(
                        org.id, group.id, keys
                    )
                if c.recipient_key in held[group.id]:
                    if policy is group_settings.DuplicatePolicy.REFUSE:
                        why = "already holds a live credential of this group (duplicates refused)"
                    else:
                        warn.add(c.recipient_email)
                held[group.id].add(c.recipient_key)
        if why is not None:
            skipped.append(Skipped(c, why))
            continue
        if action is BulkAction.PUBLISH:
            try:
                events.append(
                    SeatEvent(
                        c.id, c.recipient_key, publish_need(c.state), group_of(c).department_id
                    )
                )
            except AlreadyPublished as exc:
                skipped.append(Skipped(c, exc.detail))
                continue
        elif action is BulkAction.RENEW:
            issued_on, expires_on = resolve_dates(
                None,
                None,
                today=today,
                expires_after_months=group_of(c).expires_after_months,
                expires_given=False,
            )
            dates[c.id] = (issued_on, expires_on)
            changed = (issued_on, expires_on) != (c.issued_on, c.expires_on)
            reason = edit_need(
                c.state, new_key=c.recipient_key, dates_changed=changed, current_year=p.year.index
            )
            if reason is not None:
                events.append(SeatEvent(c.id, c.recipient_key, reason, group_of(c).department_id))
        ready.append(c)

    quote = charging.price(uow, org.id, p, events) if events else None
    preview = (
        Preview.of(quote, len(ready))
        if quote
        else Preview(0, p.account.remaining, True, len(ready))
    )
    return BulkPlan(action, ready, skipped, preview, dates, sorted(warn), quote, p.year.ends_at)


def _why_not(action: BulkAction, c: Credential) -> str | None:
    """Why the action does not apply to the credential (it is skipped), or None."""
    published = c.status is Status.PUBLISHED
    if action is BulkAction.PUBLISH:
        return None if not published else "already published"
    if action is BulkAction.DELETE:
        return None
    if not published:
        return "a draft: publish or delete it instead"
    if c.revoked_at is not None:
        return "already revoked" if action is BulkAction.REVOKE else "revoked: it cannot change"
    if action is BulkAction.RENEW and is_vc_api_group(c.group_id):
        return "issued through the VC API: it cannot change"
    return None


def run(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    action: BulkAction,
    ids: Sequence[str],
    *,
    reason: str | None = None,
    expected_credits: int | None = None,
) -> BulkResult:
    """Do the action on every credential it applies to, in the caller's transaction: all
    or nothing (R11). `expected_credits`: the cost the person confirmed; if it changed in
    between (someone else spent credits or published the same recipients), CostChanged
    (409) and nothing is done, so nobody pays what they did not see."""
    org = lock_org(uow, org_id)
    the_plan = _plan(uow, ctx, org, action, _ids(ids))
    if expected_credits is not None and the_plan.preview.credits_required != expected_credits:
        raise CostChanged(
            f"the cost changed from {expected_credits} to "
            f"{the_plan.preview.credits_required} credit(s) since it was shown; check it again",
            credits_required=the_plan.preview.credits_required,
        )
    if the_plan.quote is not None:
        try:
            seat_rules.require(the_plan.quote)  # R11, R15: the whole batch or nothing
        except InsufficientCredits as exc:
            # As charging.charge does: what a plain-words explanation needs.
            exc.reasons = tuple(dict.fromkeys(e.reason.value for e in the_plan.quote.charged))
            exc.resets_at = the_plan.resets_at
            exc.organization_id = org_id
            raise
    charged = 0
    for c in the_plan.ready:
        if action is BulkAction.PUBLISH:
            done = issuing.publish(uow, ctx, org_id, c.id, dry_run=False)
            assert isinstance(done, issuing.Issued)
            charged += done.credits_charged
        elif action is BulkAction.RENEW:
            issued_on, expires_on = the_plan.dates[c.id]
            changes = Changes(issued_on=issued_on, expires_on=expires_on, expires_given=True)
            done = issuing.edit(uow, ctx, org_id, c.id, changes, dry_run=False)
            assert isinstance(done, issuing.Issued)
            charged += done.credits_charged
        elif action is BulkAction.REVOKE:
            status.revoke(uow, ctx, org_id, c.id, reason)
        else:
            issuing.delete(uow, ctx, org_id, c.id)
    return BulkResult(action, len(the_plan.ready), charged, the_plan.skipped)
