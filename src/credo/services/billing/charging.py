"""The charge path: price a batch of seat events and record what it takes (R4, R11, R13, R14).

Call `charge` inside a writing unit of work: it takes the organization's lock first, so the
seats it reads and the counter it moves cannot change under it until the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from credo import telemetry
from credo.domain import seats as seat_rules
from credo.domain.billing import BillingYear, Subscription
from credo.domain.entities import LedgerEntry, Seat
from credo.domain.errors import InsufficientCredits, NotFound
from credo.domain.seats import Account, Quote, SeatEvent
from credo.ids import new_ids
from credo.services.billing import credit_alerts
from credo.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Period:
    """Where an organization stands in time: now, its billing year, its account."""

    now: datetime
    year: BillingYear
    account: Account


def period(uow: UnitOfWork, org_id: str, now: datetime) -> Period:
    sub = uow.subscriptions.get(org_id)
    if sub is None:
        raise NotFound("the organization has no subscription")
    return period_of(sub, now, lambda year: uow.usage.used(org_id, year))


def period_of(sub: Subscription, now: datetime, used: Callable[[int], int]) -> Period:
    """The period at `now` of a subscription already read; `used(year)` reads the counter."""
    year = sub.year_at(now)
    account = Account(
        year=year.index,
        allowance=sub.allowance_in(year.index),
        used=used(year.index),
        active=sub.is_active(now),
    )
    return Period(now, year, account)


def price(
    uow: UnitOfWork,
    org_id: str,
    p: Period,
    events: Sequence[SeatEvent[str]],
    seated: set[str] | None = None,
) -> Quote[str]:
    """R12: exactly what `charge` would take now, changing nothing. `seated`: which of the
    events' keys hold a seat this year, when the caller read it under the lock already."""
    if seated is None:
        seated = uow.seats.open_keys(org_id, p.year.index, {e.recipient_key for e in events})
    return seat_rules.quote(events, seated, p.account)


def charge(
    uow: UnitOfWork,
    org_id: str,
    p: Period,
    events: Sequence[SeatEvent[str]],
    seated: set[str] | None = None,
) -> int:
    """Take a seat for every key in `events` that lacks one this year, all or nothing.
    Returns the credits charged. Precondition: the caller holds the organization lock."""
    q = price(uow, org_id, p, events, seated)
    try:
        seat_rules.require(q)
    except InsufficientCredits as exc:
        telemetry.event("publish.refused", code=exc.code)
        # What a person needs to read the refusal in plain words (credit_reports.explain).
        exc.reasons = tuple(dict.fromkeys(e.reason.value for e in q.charged))
        exc.resets_at = p.year.ends_at
        raise
    year = p.year.index
    seat_ids = new_ids("seat", len(q.charged), p.now)
    new_seats = [
        Seat(seat_id, org_id, year, e.recipient_key, p.now)
        for seat_id, e in zip(seat_ids, q.charged, strict=True)
    ]
    entries = [
        LedgerEntry(
            id=None,
            organization_id=org_id,
            at=p.now,
            billing_year=year,
            delta=-1,
            reason=e.reason.value,
            recipient_key=e.recipient_key,
            credential_id=e.ref,
            seat_id=s.id,
        )
        for e, s in zip(q.charged, new_seats, strict=True)
    ]
    if q.charged:
        uow.charges.record(org_id, year, new_seats, entries, p.now)
        # Counted when charged: a transaction rolled back after this (rare) over-counts.
        telemetry.event("credits.charged", len(q.charged))
        # Free unless the counter crosses 80% or 100% of the allowance (no query otherwise).
        before = p.account.used
        credit_alerts.after_charge(
            uow, org_id, p.year, p.account.allowance, before, before + len(q.charged), p.now
        )
    return len(q.charged)


def leave_seat(
    uow: UnitOfWork, org_id: str, cred_id: str, recipient_key: str, seat_year: int, at: datetime
) -> None:
    """R5, R7: a credential stops holding (recipient_key, seat_year); the seat is released
    when no other live credential holds it."""
    if uow.credentials.count_live_holding(org_id, recipient_key, seat_year, cred_id) == 0:
        released = uow.seats.release(org_id, seat_year, recipient_key, at)
        if released:
            uow.usage.add_released(org_id, seat_year, released)
