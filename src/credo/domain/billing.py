"""Billing years, plans and subscriptions (credits.md R8, R10, R15).

All datetimes here are aware UTC; callers pass `now` in, nothing reads a clock.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from enum import StrEnum

from credo.domain.errors import InvalidInput

FIXED_ALLOWANCES: dict[str, int] = {"launch-250": 250}
CUSTOM_PLANS: frozenset[str] = frozenset({"connect", "growth", "enterprise"})
PLANS: tuple[str, ...] = ("launch-250", "connect", "growth", "enterprise")
MAX_CUSTOM_ALLOWANCE = 10_000_000


def anniversary(anchor: date, k: int) -> date:
    """The anchor moved k years on; 29 February falls on 28 February in common years."""
    year = anchor.year + k
    day = min(anchor.day, calendar.monthrange(year, anchor.month)[1])
    return date(year, anchor.month, day)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BillingYear:
    """Billing year `index`: the half-open interval [starts_at, ends_at)."""

    index: int
    starts_at: datetime
    ends_at: datetime

    def contains(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


def billing_year(anchor: date, k: int) -> BillingYear:
    return BillingYear(k, _midnight(anniversary(anchor, k)), _midnight(anniversary(anchor, k + 1)))


def billing_year_at(anchor: date, at: datetime) -> BillingYear:
    """The billing year containing `at`. Before the anchor there is none: that is year 0's
    business to refuse, so times before the anchor are counted in year 0."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    k = max(0, at.year - anchor.year - 1)
    while _midnight(anniversary(anchor, k + 1)) <= at:
        k += 1
    return billing_year(anchor, k)


def resolve_allowance(plan: str, credits: int | None) -> int:
    """R10: `launch-250` grants 250; the custom plans need a positive `credits`."""
    if plan in FIXED_ALLOWANCES:
        if credits is not None and credits != FIXED_ALLOWANCES[plan]:
            raise InvalidInput(
                f"plan {plan} has a fixed allowance of {FIXED_ALLOWANCES[plan]} credits",
                [{"field": "credits", "message": f"must be omitted for plan {plan}"}],
            )
        return FIXED_ALLOWANCES[plan]
    if plan in CUSTOM_PLANS:
        if credits is None:
            raise InvalidInput(
                f"plan {plan} needs a custom allowance",
                [{"field": "credits", "message": f"required for plan {plan}"}],
            )
        if not 1 <= credits <= MAX_CUSTOM_ALLOWANCE:
            raise InvalidInput(
                "credits must be a positive integer",
                [{"field": "credits", "message": f"must be between 1 and {MAX_CUSTOM_ALLOWANCE}"}],
            )
        return credits
    raise InvalidInput(
        f"unknown plan {plan!r}",
        [{"field": "plan", "message": "must be one of " + ", ".join(PLANS)}],
    )


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class Subscription:
    """An organization's plan. The allowance may change between years, so it is a schedule:
    `allowance` applies from billing year `allowance_from`; a lowered allowance waits in
    `next_allowance`, applying from `next_allowance_from` (R10)."""

    plan: str
    anchor: date
    allowance: int
    allowance_from: int = 0
    next_plan: str | None = None
    next_allowance: int | None = None
    next_allowance_from: int | None = None
    ends_at: datetime | None = None

    def allowance_in(self, year: int) -> int:
        if (
            self.next_allowance is not None
            and self.next_allowance_from is not None
            and year >= self.next_allowance_from
        ):
            return self.next_allowance
        return self.allowance

    def plan_in(self, year: int) -> str:
        if (
            self.next_plan is not None
            and self.next_allowance_from is not None
            and year >= self.next_allowance_from
        ):
            return self.next_plan
        return self.plan

    def status_at(self, now: datetime) -> SubscriptionStatus:
        if self.ends_at is not None and now >= self.ends_at:
            return SubscriptionStatus.CANCELED
        return SubscriptionStatus.ACTIVE

    def is_active(self, now: datetime) -> bool:
        return self.status_at(now) is SubscriptionStatus.ACTIVE

    def year_at(self, now: datetime) -> BillingYear:
        return billing_year_at(self.anchor, now)


def new_subscription(plan: str, credits: int | None, anchor: date) -> Subscription:
    return Subscription(plan=plan, anchor=anchor, allowance=resolve_allowance(plan, credits))


def change_plan(sub: Subscription, plan: str, credits: int | None, now: datetime) -> Subscription:
    """R10: a raise (or an equal allowance) takes effect at once for the current year; a cut
    waits for the next anniversary. Changing the plan also lifts a cancellation."""
    new_allowance = resolve_allowance(plan, credits)
    year = sub.year_at(now).index
    current = sub.allowance_in(year)
    base = replace(
        sub,
        plan=sub.plan_in(year),
        allowance=current,
        allowance_from=min(sub.allowance_from, year),
        next_plan=None,
        next_allowance=None,
        next_allowance_from=None,
        ends_at=None,
    )
    if new_allowance >= current:
        return replace(base, plan=plan, allowance=new_allowance)
    return replace(base, next_plan=plan, next_allowance=new_allowance, next_allowance_from=year + 1)


def cancel(sub: Subscription, when: str, now: datetime) -> Subscription:
    """R15: `now` ends the subscription at once; `year_end` at the current year's end."""
    if when == "now":
        ends = now
    elif when == "year_end":
        ends = sub.year_at(now).ends_at
    else:
        raise InvalidInput(
            "when must be 'now' or 'year_end'",
            [{"field": "when", "message": "must be 'now' or 'year_end'"}],
        )
    if sub.ends_at is not None and sub.ends_at <= ends:
        return sub
    return replace(sub, ends_at=ends)
