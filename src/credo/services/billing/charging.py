"""The charge path: price a batch of seat events and record what it takes (R4, R11, R13, R14).

Call `charge` inside a writing unit of work: it takes the organization's lock first, so the
seats it reads and the counter it moves cannot change under it until the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from credo import telemetry
from credo.domain import seats as seat_rules
from credo.domain.billing import BillingYear, Subscription
from credo.domain.entities import LedgerEntry, Seat
from credo.domain.errors import InsufficientCredits, NotFound
from credo.domain.seats import Account, DepartmentAccount, Quote, SeatEvent
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
    return seat_rules.quote(events, seated, p.account, departments_of(uow, org_id, p, events))


def departments_of(
    uow: UnitOfWork, org_id: str, p: Period, events: Sequence[SeatEvent[str]]
) -> dict[str, DepartmentAccount]:
    """The accounts of the departments `events` would charge (R17); no query without any."""
    ids = {e.department for e in events if e.department is not None}
    return uow.departments.accounts(org_id, p.year.index, ids) if ids else {}


def charge(
    uow: UnitOfWork,
    org_id: str,
    p: Period,
    events: Sequence[SeatEvent[str]],
    seated: set[str] | None = None,
) -> int:
    """Take a seat for every key in `events` that lacks one this year, all or nothing.
    Returns the credits charged. Precondition: the caller holds the organization lock."""
    if seated is None:
        seated = uow.seats.open_keys(org_id, p.year.index, {e.recipient_key for e in events})
    tab = Tab(org_id, p, seated, departments_of(uow, org_id, p, events))
    charged = tab.take(events, p.now)
    record(uow, [tab])
    return charged


class Tab:
    """The charges of one organization in one billing year, taken one request after
    another and written together. Each request is priced as if it were charged alone right
    after the ones admitted before it (R1, R2, R4, R11): a refused request takes nothing and
    leaves the others as they are. Precondition: the caller holds the organization lock
    from the reading of `p`, `seated` and `departments` until the commit. `departments`:
    the accounts of the departments the events will charge (R17), as read under it; more
    can be added (`know`) before the events that need them."""

    def __init__(
        self,
        org_id: str,
        p: Period,
        seated: set[str],
        departments: dict[str, DepartmentAccount] | None = None,
    ) -> None:
        self.org_id = org_id
        self.period = p
        self._seated = set(seated)  # keys holding a seat this year, taken here included
        self.used = p.account.used  # the counter after what was taken here
        self.departments: dict[str, DepartmentAccount] = {}  # counters after what was taken
        self.departments_before: dict[str, DepartmentAccount] = {}  # as read
        self.know(departments or {})
        self.seats: list[Seat] = []
        self.entries: list[LedgerEntry] = []

    def know(self, accounts: dict[str, DepartmentAccount]) -> None:
        """Add departments' accounts read under the lock (those known stay as they are)."""
        for dept_id, acc in accounts.items():
            if dept_id not in self.departments:
                self.departments[dept_id] = self.departments_before[dept_id] = acc

    def take(self, events: Sequence[SeatEvent[str]], now: datetime) -> int:
        """Charge one request's events; InsufficientCredits (or NoActiveSubscription), with
        nothing taken, when they cannot all be paid for."""
        q = seat_rules.quote(
            events, self._seated, replace(self.period.account, used=self.used), self.departments
        )
        try:
            seat_rules.require(q)
        except InsufficientCredits as exc:
            telemetry.event("publish.refused", code=exc.code)
            # What a person needs to read the refusal in plain words (credit_reports.explain).
            exc.reasons = tuple(dict.fromkeys(e.reason.value for e in q.charged))
            exc.resets_at = self.period.year.ends_at
            exc.organization_id = self.org_id
            raise
        year = self.period.year.index
        for seat_id, e in zip(new_ids("seat", len(q.charged), now), q.charged, strict=True):
            self.seats.append(Seat(seat_id, self.org_id, year, e.recipient_key, now))
            self.entries.append(
                LedgerEntry(
                    id=None,
                    organization_id=self.org_id,
                    at=now,
                    billing_year=year,
                    delta=-1,
                    reason=e.reason.value,
                    recipient_key=e.recipient_key,
                    credential_id=e.ref,
                    seat_id=seat_id,
                    department_id=e.department,
                )
            )
            self._seated.add(e.recipient_key)
        self.used += len(q.charged)
        for d in q.departments:
            acc = self.departments.get(d.id)
            if acc is not None:
                self.departments[d.id] = replace(acc, used=acc.used + d.required)
        return len(q.charged)


def record(uow: UnitOfWork, tabs: Sequence[Tab]) -> None:
    """Write what `tabs` took (seats, ledger rows, counters) in one go, and raise the
    allowance alerts their charges crossed. Precondition: each tab's organization lock."""
    taken = [tab for tab in tabs if tab.seats]
    if not taken:
        return
    uow.charges.record_many(
        [s for tab in taken for s in tab.seats], [e for tab in taken for e in tab.entries]
    )
    for tab in taken:
        # Counted when charged: a transaction rolled back after this (rare) over-counts.
        telemetry.event("credits.charged", len(tab.seats))
        # Free unless the counter crosses 80% or 100% of the allowance (no query otherwise).
        p = tab.period
        before = p.account.used
        credit_alerts.after_charge(
            uow, tab.org_id, p.year, p.account.allowance, before, tab.used, tab.entries[-1].at
        )
        for dept_id, was in tab.departments_before.items():
            now_used = tab.departments[dept_id].used
            if now_used > was.used:
                credit_alerts.after_department_charge(
                    uow, tab.org_id, p.year, was, now_used, tab.entries[-1].at
                )


def leave_seat(
    uow: UnitOfWork, org_id: str, cred_id: str, recipient_key: str, seat_year: int, at: datetime
) -> None:
    """R5, R7: a credential stops holding (recipient_key, seat_year); the seat is released
    when no other live credential holds it."""
    if uow.credentials.count_live_holding(org_id, recipient_key, seat_year, cred_id) == 0:
        released = uow.seats.release(org_id, seat_year, recipient_key, at)
        if released:
            uow.usage.add_released(org_id, seat_year, released)
