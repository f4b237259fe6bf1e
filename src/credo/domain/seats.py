"""Seat pricing: who pays for a batch of seat-needing events (credits.md R1, R4, R5, R11, R15,
and R16..R21 for departments' caps).

A recipient holds a seat in year k while at least one live credential of theirs has seat
year k (R5), so a seat is released exactly when its last such credential leaves it (R7).
The functions here decide; the service stores their answers inside one transaction while it
holds the organization's lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Generic, TypeVar

from credo.domain.credentials import SeatReason
from credo.domain.errors import DepartmentCapReached, InsufficientCredits, NoActiveSubscription

Ref = TypeVar("Ref")


@dataclass(frozen=True, slots=True)
class SeatEvent(Generic[Ref]):
    """One event that needs `recipient_key` to hold a seat in the current year (R3)."""

    ref: Ref
    recipient_key: str
    reason: SeatReason
    # The department of the group whose event this is: a seat it takes is charged there (R16).
    department: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """One organization's credits in one billing year."""

    year: int
    allowance: int
    used: int
    active: bool

    @property
    def remaining(self) -> int:
        """What may still be spent: nothing at all without an active subscription (R15)."""
        if not self.active:
            return 0
        return max(0, self.allowance - self.used)


@dataclass(frozen=True, slots=True)
class DepartmentAccount:
    """One department's seats in one billing year: `used` taken so far, at most `cap` (R17;
    None: no cap, only the organization's allowance binds)."""

    id: str
    name: str
    cap: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else max(0, self.cap - self.used)


@dataclass(frozen=True, slots=True)
class DepartmentQuote:
    """What a batch would take from one department (R21): `required` new seats charged to
    it, against `remaining` under its cap (None: no cap)."""

    id: str
    name: str
    cap: int | None
    used: int
    required: int

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else max(0, self.cap - self.used)

    @property
    def sufficient(self) -> bool:
        remaining = self.remaining
        return remaining is None or self.required <= remaining


@dataclass(frozen=True, slots=True)
class Quote(Generic[Ref]):
    """What a batch would cost (R12): the events that take a seat, one per new key, and
    what they take from each department they are charged to (R21)."""

    charged: tuple[SeatEvent[Ref], ...]
    credits_remaining: int
    active: bool
    departments: tuple[DepartmentQuote, ...] = ()

    @property
    def credits_required(self) -> int:
        return len(self.charged)

    @property
    def sufficient(self) -> bool:
        return (
            self.active
            and self.credits_required <= self.credits_remaining
            and all(d.sufficient for d in self.departments)
        )


def quote(
    events: Iterable[SeatEvent[Ref]],
    seated: Set[str],
    account: Account,
    departments: Mapping[str, DepartmentAccount] | None = None,
) -> Quote[Ref]:
    """R1, R2, R4: an event is free if its key holds a seat this year or an earlier event of
    the batch already took one; otherwise it takes the seat and costs one credit, charged
    to the event's department (R16). `departments`: the accounts of every department the
    events name (a cap is never skipped for want of reading it: LookupError)."""
    taken: set[str] = set()
    charged: list[SeatEvent[Ref]] = []
    events = list(events)
    for event in events:
        key = event.recipient_key
        if key in seated or key in taken:
            continue
        taken.add(key)
        charged.append(event)
    by_department = _by_department(events, charged, departments)
    return Quote(tuple(charged), account.remaining, account.active, by_department)


def _by_department(
    named: Iterable[SeatEvent[Ref]],
    charged: Iterable[SeatEvent[Ref]],
    departments: Mapping[str, DepartmentAccount] | None,
) -> tuple[DepartmentQuote, ...]:
    """Every department the events name, with the seats the charged ones take from it
    (none, when all its recipients hold seats: a preview still shows its figures)."""
    required: dict[str, int] = {}
    for event in named:
        if event.department is not None:
            required.setdefault(event.department, 0)
    for event in charged:
        if event.department is not None:
            required[event.department] += 1
    out = []
    for dept_id, n in required.items():
        acc = (departments or {}).get(dept_id)
        if acc is None:
            raise LookupError(f"the account of department {dept_id} was not read")
        out.append(DepartmentQuote(acc.id, acc.name, acc.cap, acc.used, n))
    return tuple(out)


def require(q: Quote[Ref]) -> None:
    """R11, R15, R17: refuse the whole batch unless a subscription is active, it is
    affordable, and no department it charges goes over its cap. The organization's
    allowance is judged first: it binds every department."""
    if not q.active:
        raise NoActiveSubscription(
            "the organization has no active subscription (R15)",
            credits_required=q.credits_required,
            credits_remaining=0,
        )
    if q.credits_required > q.credits_remaining:
        short = q.credits_required - q.credits_remaining
        raise InsufficientCredits(
            f"this needs {q.credits_required} credit(s) and {q.credits_remaining} remain "
            f"this billing year: {short} short (R11)",
            credits_required=q.credits_required,
            credits_remaining=q.credits_remaining,
        )
    for d in q.departments:
        if not d.sufficient:
            remaining = d.remaining or 0
            raise DepartmentCapReached(
                f"the department {d.name!r} may take {d.cap} seat(s) this billing year and "
                f"has taken {d.used}: this needs {d.required} and {remaining} remain (R17)",
                credits_required=d.required,
                credits_remaining=remaining,
                department_id=d.id,
                department_name=d.name,
                credit_cap=d.cap,
            )
