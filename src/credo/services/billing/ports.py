"""What billing needs from storage: subscriptions, seats, the ledger, usage counters,
reports and alerts."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from credo.domain.billing import Subscription
from credo.domain.entities import (
    Department,
    LedgerEntry,
    Seat,
)
from credo.domain.seats import DepartmentAccount


@dataclass(frozen=True, slots=True)
class DepartmentYear:
    """A department and the seats its groups took in one billing year."""

    department: Department
    used: int


@dataclass(frozen=True, slots=True)
class CapChange:
    at: datetime
    actor: str
    old_cap: int | None
    new_cap: int | None


class Departments(Protocol):
    def add(self, dept: Department) -> None: ...
    def get(self, org_id: str, dept_id: str) -> Department | None:
        """The department unless it is deleted."""

    def named(self, org_id: str, name: str) -> Department | None:
        """The live department of this name, compared without regard to case."""

    def all(self, org_id: str) -> list[Department]: ...
    def names(self, org_id: str) -> dict[str, str]:
        """Every department's name by id, deleted ones too."""

    def update(self, dept: Department) -> None: ...
    def delete(self, org_id: str, dept_id: str, at: datetime) -> None: ...
    def group_count(self, org_id: str, dept_id: str) -> int: ...
    def accounts(
        self, org_id: str, year: int, dept_ids: Collection[str]
    ) -> dict[str, DepartmentAccount]:
        """Caps and seats taken in `year` of the named departments (deleted ones too)."""

    def years(self, org_id: str, year: int) -> list[DepartmentYear]: ...
    def all_usage(self, org_id: str) -> dict[tuple[str, int], int]: ...
    def charges_between(
        self, org_id: str, dept_id: str, year: int, bounds: Sequence[datetime]
    ) -> list[int]:
        """The department's charges in each interval of `bounds`, within billing `year`."""

    def record_cap_change(
        self,
        org_id: str,
        dept_id: str,
        at: datetime,
        actor: str,
        old_cap: int | None,
        new_cap: int | None,
    ) -> None: ...
    def cap_changes(self, org_id: str, dept_id: str) -> list[CapChange]: ...
    def add_alert(self, org_id: str, dept_id: str, year: int, threshold: int, at: datetime) -> bool:
        """Record a cap alert; False (nothing changed) when raised before. Under the
        organization's lock."""


class Subscriptions(Protocol):
    def get(self, org_id: str) -> Subscription | None: ...
    def save(self, org_id: str, sub: Subscription, at: datetime) -> None: ...


class Seats(Protocol):
    def open_keys(self, org_id: str, year: int, keys: Iterable[str]) -> set[str]: ...
    def open_keys_of(self, wanted: Iterable[tuple[str, int, str]]) -> set[tuple[str, int, str]]:
        """Which of (organization, billing year, recipient key) hold an open seat."""

    def open_many(self, seats: Sequence[Seat]) -> None: ...
    def release(self, org_id: str, year: int, recipient_key: str, at: datetime) -> int:
        """Release the open seat; the number released (0 or 1)."""

    def all_seats(self, org_id: str) -> list[tuple[str, int, str, bool]]:
        """(seat id, year, recipient key, open?) for every seat ever opened."""


class Ledger(Protocol):
    def add_many(self, entries: Sequence[LedgerEntry]) -> None: ...
    def page(
        self,
        org_id: str,
        year: int,
        after: int | None,
        limit: int,
        department_id: str | None = None,
    ) -> list[LedgerEntry]:
        """A year's entries after `after`, oldest first; those charged to a department."""

    def all_entries(self, org_id: str) -> list[LedgerEntry]: ...


@dataclass(frozen=True, slots=True)
class LedgerQuery:
    """Which ledger entries to list; None matches any. `recipient_contains` is a piece of the
    recipient key (lower-case); `since` is inclusive, `until` exclusive."""

    year: int | None = None
    reason: str | None = None
    recipient_contains: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    department_id: str | None = None  # the entries charged to this department (R16)


class CreditReports(Protocol):
    """Read-only reports over the ledger, for the credits page and its CSV export."""

    def charges_between(self, org_id: str, year: int, bounds: Sequence[datetime]) -> list[int]:
        """Charges of billing year `year` per interval: one count per gap between
        consecutive `bounds` (UTC midnights); a charge before the first bound counts in the
        first interval, one at or after the last bound in the last."""

    def entries(
        self,
        org_id: str,
        q: LedgerQuery,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        newest_first: bool = False,
    ) -> list[LedgerEntry]:
        """Matching entries with after < id < before, by id."""

    def count(self, org_id: str, q: LedgerQuery) -> int: ...
    def last_id(self, org_id: str) -> int | None: ...


class CreditAlerts(Protocol):
    """Allowance alerts raised (80% and 100%), at most once per billing year and threshold."""

    def add(self, org_id: str, year: int, threshold: int, at: datetime) -> bool:
        """Record the alert; False (and nothing changed) when it was raised before. Call
        while holding the organization lock."""

    def raised(self, org_id: str, year: int) -> list[int]: ...


class Usage(Protocol):
    def used(self, org_id: str, year: int) -> int: ...
    def add(self, org_id: str, year: int, n: int, at: datetime) -> None:
        """Count `n` charges made at `at` in billing year `year` (and on its UTC day)."""

    def days(self, org_id: str, year: int) -> list[tuple[date, int]]:
        """(UTC day, charges) of the billing year's days that have charges, by day."""

    def all_days(self, org_id: str) -> dict[tuple[int, date], int]: ...
    def all_years(self, org_id: str) -> dict[int, int]: ...
    def add_released(self, org_id: str, year: int, n: int) -> None: ...
    def held(self, org_id: str, year: int) -> int:
        """Seats of the year held now: charged less released."""

    def all_released(self, org_id: str) -> dict[int, int]: ...


class Charges(Protocol):
    def record_many(self, seats: Sequence[Seat], entries: Sequence[LedgerEntry]) -> None:
        """Open `seats`, write their ledger `entries` (one each) and count them: each
        entry adds one to its organization's credits used in its billing year and to its
        charges of its day (UTC). What charges write, together, for any organizations."""


@dataclass(frozen=True, slots=True)
class ChargeCount:
    year: int
    charges: int
    entries: int


@dataclass(frozen=True, slots=True)
class LedgerMismatch:
    entry_id: int
    delta: int
    seat_id: str
    seat_missing: bool
    disagrees: bool  # with its seat, on year or recipient


@dataclass(frozen=True, slots=True)
class SeatCharges:
    seat_id: str
    year: int
    recipient_key: str
    charges: int


@dataclass(frozen=True, slots=True)
class SeatNoHolder:
    year: int
    recipient_key: str


@dataclass(frozen=True, slots=True)
class GroupCount:
    """A group whose kept count of live credentials is not how many it has."""

    group_id: str
    kept: int
    live: int


@dataclass(frozen=True, slots=True)
class HeldNoSeat:
    year: int | None
    recipient_key: str
    credentials: int


class Audit(Protocol):
    """The audit's questions (R14), answered by the database over one organization's rows;
    the lists hold only disagreements, at most `limit` of each kind."""

    def charges_by_year(self, org_id: str) -> list[ChargeCount]: ...
    def charges_by_department(self, org_id: str) -> dict[tuple[str, int], int]:
        """Ledger charges per (department, billing year), of entries naming one (R21)."""

    def ledger_mismatches(self, org_id: str, limit: int) -> list[LedgerMismatch]: ...
    def seats_not_charged_once(self, org_id: str, limit: int) -> list[SeatCharges]: ...
    def open_seats(self, org_id: str) -> int: ...
    def released_by_year(self, org_id: str) -> dict[int, int]: ...
    def charges_by_day(self, org_id: str) -> dict[tuple[int, date], int]:
        """Ledger charges per (billing year, UTC day)."""

    def open_twice(self, org_id: str, limit: int) -> list[SeatCharges]: ...
    def open_seats_without_holder(self, org_id: str, limit: int) -> list[SeatNoHolder]: ...
    def live_without_open_seat(self, org_id: str, limit: int) -> list[HeldNoSeat]: ...
    def group_counts_wrong(self, org_id: str, limit: int) -> list[GroupCount]: ...
