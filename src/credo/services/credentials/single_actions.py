"""The actions of one credential's page: renew, revoke, resend its e-mail, delete. Each is
offered first with what it costs, in words (R12: the same price the action will charge),
then done.

Renew, revoke and delete are the bulk actions on a selection of one (services.bulk_actions,
which does each through the API's own use cases: issuing.edit, status.revoke,
issuing.delete), so a credential costs the same from its page as from the list; resend is
services.credentials.resending. Nothing here decides a credit rule of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from credo.domain.credentials import Status
from credo.domain.entities import Credential
from credo.domain.errors import Conflict, NotFound
from credo.services.billing import credits
from credo.services.billing.credit_reports import long_date, year_span
from credo.services.context import ServiceContext
from credo.services.credentials import bulk_actions, resending
from credo.services.credentials.bulk_actions import BulkAction, BulkPlan
from credo.services.ports import UnitOfWork

MAX_REASON = bulk_actions.MAX_REASON


class SingleAction(StrEnum):
    RENEW = "renew"
    REVOKE = "revoke"
    RESEND = "resend"
    DELETE = "delete"


_BULK = {
    SingleAction.RENEW: BulkAction.RENEW,
    SingleAction.REVOKE: BulkAction.REVOKE,
    SingleAction.DELETE: BulkAction.DELETE,
}


@dataclass(frozen=True, slots=True)
class Offer:
    """What the action would do to the credential now and what it would cost."""

    action: SingleAction
    credential: Credential
    why_not: str | None  # why it does not apply to this credential, in words
    credits_required: int
    credits_remaining: int
    sufficient: bool
    cost: str  # "This costs 1 credit: ..." or "This costs no credit..."
    refusal: str | None  # why it would be refused for want of credits, in words
    new_dates: tuple[date, date | None] | None = None  # a renewal's issue and expiry dates

    @property
    def possible(self) -> bool:
        return self.why_not is None and self.sufficient


def offer(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, cred_id: str, action: SingleAction
) -> Offer:
    """Changes nothing. NotFound for an id that is not one of the organization's live
    credentials."""
    cred = uow.credentials.get(org_id, cred_id)
    if cred is None:
        raise NotFound(f"no credential {cred_id}")
    balance = credits.balance(uow, ctx.clock, org_id)
    sub = uow.subscriptions.get(org_id)
    span = year_span(sub.anchor, balance.year.index) if sub else "now running"
    if action is SingleAction.RESEND:
        why = resending.why_not(uow, cred)
        return Offer(action, cred, why, 0, balance.remaining, True, "This costs no credit.", None)
    plan = bulk_actions.plan(uow, ctx, org_id, _BULK[action], [cred_id])
    why = plan.skipped[0].why if plan.skipped else None
    p = plan.preview
    return Offer(
        action,
        cred,
        why,
        p.credits_required,
        p.credits_remaining,
        p.sufficient,
        _cost(action, plan, cred, span, balance.year.index),
        None if p.sufficient else _refusal(plan, balance.active),
        plan.dates.get(cred.id),
    )


def _cost(
    action: SingleAction, plan: BulkPlan, cred: Credential, span: str, year_index: int
) -> str:
    name = cred.recipient_name
    n = plan.preview.credits_required
    if action is SingleAction.RENEW:
        if n:
            return (
                f"This costs {n} credit: {name} is not yet a recipient in the billing year {span}."
            )
        if plan.quote is not None:  # it needs a seat, and its recipient holds one
            return (
                f"This costs no credit: {name} is already a recipient in the billing year {span}."
            )
        return f"This costs no credit: the credential already counts in the billing year {span}."
    if action is SingleAction.REVOKE:
        return (
            "This costs no credit, and gives none back. Revoking is for good: verifiers see "
            "the credential as revoked from now on."
        )
    text = "This costs no credit, and gives none back."
    if cred.status is Status.PUBLISHED and cred.seat_year == year_index:
        text += (
            f" If it is {name}'s last credential of the billing year {span}, issuing to them "
            "again this year costs another credit."
        )
    return text


def _refusal(plan: BulkPlan, active: bool) -> str:
    if not active:
        return (
            "The organization has no active subscription: nothing that takes a credit can "
            "happen until an owner renews the plan."
        )
    over = [d for d in plan.preview.departments if not d.sufficient]
    if over and plan.preview.credits_required <= plan.preview.credits_remaining:
        d = over[0]
        return (
            f"{d.name} may give {d.cap} seat{'' if d.cap == 1 else 's'} this billing year "
            f"and has given {d.used}: "
            "an owner can raise the department's cap on the Departments page."
        )
    left = plan.preview.credits_remaining
    remain = "none remain" if left == 0 else "1 remains" if left == 1 else f"{left} remain"
    text = f"It needs {plan.preview.credits_required} credit and {remain} this billing year."
    if plan.resets_at is not None:
        text += f" The allowance resets on {long_date(plan.resets_at)}."
    return text


def run(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    cred_id: str,
    action: SingleAction,
    *,
    reason: str | None = None,
    expected_credits: int | None = None,
) -> int:
    """Do the action in the caller's transaction; answers the credits it took.
    `expected_credits`: the cost the person was shown (CostChanged if it is no longer
    that); Conflict, in words, when the action no longer applies to the credential."""
    if action is SingleAction.RESEND:
        resending.resend(uow, ctx, org_id, cred_id)
        return 0
    result = bulk_actions.run(
        uow,
        ctx,
        org_id,
        _BULK[action],
        [cred_id],
        reason=reason,
        expected_credits=expected_credits,
    )
    if result.done == 0:
        why = result.skipped[0].why if result.skipped else "it no longer applies"
        raise Conflict(f"Nothing was done: {why}.")
    return result.credits_charged
