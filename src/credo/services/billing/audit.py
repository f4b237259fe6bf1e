"""The audit (R14): recompute seats and balances from the ledger and the credentials and
report every mismatch with the stored state."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from credo.clock import Clock
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import load_org, org_now


@dataclass
class AuditReport:
    organization_id: str
    years: dict[int, int] = field(default_factory=dict)
    seats_open: int = 0
    ledger_entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_organization(uow: UnitOfWork, clock: Clock, org_id: str) -> AuditReport:
    report = AuditReport(org_id)
    org = load_org(uow, org_id)
    entries = uow.ledger.all_entries(org_id)
    seats = {s[0]: s for s in uow.seats.all_seats(org_id)}
    usage = uow.usage.all_years(org_id)
    holders = uow.credentials.live_seat_counts(org_id)
    report.ledger_entries = len(entries)

    charges = Counter(e.billing_year for e in entries if e.delta == -1)
    report.years = dict(sorted(charges.items()))
    for year in sorted(set(charges) | set(usage)):
        if charges.get(year, 0) != usage.get(year, 0):
            report.problems.append(
                f"year {year}: the counter says {usage.get(year, 0)} credits used, "
                f"the ledger has {charges.get(year, 0)} charges"
            )
    for e in entries:
        if e.delta != -1:
            report.problems.append(f"ledger entry {e.id}: delta {e.delta} is not a charge")
        seat = seats.get(e.seat_id)
        if seat is None:
            report.problems.append(f"ledger entry {e.id} names a missing seat {e.seat_id}")
        elif (seat[1], seat[2]) != (e.billing_year, e.recipient_key):
            report.problems.append(f"ledger entry {e.id} and seat {e.seat_id} disagree")
    charged_seats = Counter(e.seat_id for e in entries)
    for seat_id, (_, year, key, _open) in seats.items():
        n = charged_seats.get(seat_id, 0)
        if n != 1:
            report.problems.append(f"seat {seat_id} ({key}, year {year}) has {n} charges, not 1")

    open_seats = Counter((year, key) for (_, year, key, is_open) in seats.values() if is_open)
    report.seats_open = sum(open_seats.values())
    for (year, key), n in open_seats.items():
        if n > 1:
            report.problems.append(f"{key} holds {n} open seats in year {year}")
        if holders.get((year, key), 0) == 0:
            report.problems.append(f"{key} holds a seat in year {year} with no live credential")
    for (year, key), n in holders.items():
        if year is None:
            report.problems.append(f"{n} published credential(s) of {key} have no seat year")
        elif (year, key) not in open_seats:
            report.problems.append(f"{n} live credential(s) of {key} in year {year} hold no seat")

    sub = uow.subscriptions.get(org_id)
    if sub is not None:
        year_now = sub.year_at(org_now(org, clock)).index
        if usage.get(year_now, 0) > sub.allowance_in(year_now):
            report.problems.append(
                f"year {year_now}: {usage.get(year_now, 0)} credits used, "
                f"more than the allowance of {sub.allowance_in(year_now)}"
            )
    return report
