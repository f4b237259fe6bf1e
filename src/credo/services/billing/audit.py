"""The audit (R14): recompute seats and balances from the ledger and the credentials and
report every mismatch with the stored state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    more_problems: bool = False  # more of some kind than MAX_LISTED; the rest not listed

    @property
    def ok(self) -> bool:
        return not self.problems


MAX_LISTED = 1_000  # of each kind of problem; `more_problems` says when some were left out


def audit_organization(uow: UnitOfWork, clock: Clock, org_id: str) -> AuditReport:
    """Each check is one question the database answers over this organization's rows, so
    memory holds only what disagrees, whatever the organization's size."""
    report = AuditReport(org_id)
    org = load_org(uow, org_id)
    q = uow.audit
    usage = uow.usage.all_years(org_id)
    by_year = q.charges_by_year(org_id)
    report.ledger_entries = sum(c.entries for c in by_year)
    charges = {c.year: c.charges for c in by_year if c.charges}
    report.years = dict(sorted(charges.items()))
    problems = report.problems
    for year in sorted(set(charges) | set(usage)):
        if charges.get(year, 0) != usage.get(year, 0):
            problems.append(
                f"year {year}: the counter says {usage.get(year, 0)} credits used, "
                f"the ledger has {charges.get(year, 0)} charges"
            )

    def listed(rows: list[Any]) -> list[Any]:
        if len(rows) > MAX_LISTED:
            report.more_problems = True
            return rows[:MAX_LISTED]
        return rows

    # R21: each department's counter against its ledger charges, year by year.
    by_dept, dept_usage = q.charges_by_department(org_id), uow.departments.all_usage(org_id)
    names = uow.departments.names(org_id) if (by_dept or dept_usage) else {}
    for dept_id, year in sorted(set(by_dept) | {k for k, n in dept_usage.items() if n}):
        if by_dept.get((dept_id, year), 0) != dept_usage.get((dept_id, year), 0):
            problems.append(
                f"department {names.get(dept_id, dept_id)!r}, year {year}: its counter says "
                f"{dept_usage.get((dept_id, year), 0)} seats taken, the ledger has "
                f"{by_dept.get((dept_id, year), 0)} charges"
            )

    by_day, days = q.charges_by_day(org_id), uow.usage.all_days(org_id)
    wrong_days = sorted(k for k in set(by_day) | set(days) if by_day.get(k, 0) != days.get(k, 0))
    for year, day in listed(wrong_days):
        problems.append(
            f"year {year}, {day.isoformat()}: the day's counter says {days.get((year, day), 0)}"
            f" charges, the ledger has {by_day.get((year, day), 0)}"
        )

    for m in listed(q.ledger_mismatches(org_id, MAX_LISTED + 1)):
        if m.delta != -1:
            problems.append(f"ledger entry {m.entry_id}: delta {m.delta} is not a charge")
        if m.seat_missing:
            problems.append(f"ledger entry {m.entry_id} names a missing seat {m.seat_id}")
        elif m.disagrees:
            problems.append(f"ledger entry {m.entry_id} and seat {m.seat_id} disagree")
    for s in listed(q.seats_not_charged_once(org_id, MAX_LISTED + 1)):
        problems.append(
            f"seat {s.seat_id} ({s.recipient_key}, year {s.year}) has {s.charges} charges, not 1"
        )
    report.seats_open = q.open_seats(org_id)
    released, counted = q.released_by_year(org_id), uow.usage.all_released(org_id)
    for year in sorted(set(released) | {y for y, n in counted.items() if n}):
        if released.get(year, 0) != counted.get(year, 0):
            problems.append(
                f"year {year}: the counter says {counted.get(year, 0)} seats released, "
                f"{released.get(year, 0)} are"
            )
    for s in listed(q.open_twice(org_id, MAX_LISTED + 1)):
        problems.append(f"{s.recipient_key} holds {s.charges} open seats in year {s.year}")
    for h in listed(q.open_seats_without_holder(org_id, MAX_LISTED + 1)):
        problems.append(f"{h.recipient_key} holds a seat in year {h.year} with no live credential")
    for c in listed(q.live_without_open_seat(org_id, MAX_LISTED + 1)):
        if c.year is None:
            problems.append(
                f"{c.credentials} published credential(s) of {c.recipient_key} have no seat year"
            )
        else:
            problems.append(
                f"{c.credentials} live credential(s) of {c.recipient_key} in year {c.year} "
                "hold no seat"
            )

    for g in listed(q.group_counts_wrong(org_id, MAX_LISTED + 1)):
        problems.append(f"group {g.group_id}: its count says {g.kept} credentials, it has {g.live}")

    sub = uow.subscriptions.get(org_id)
    if sub is not None:
        year_now = sub.year_at(org_now(org, clock)).index
        if usage.get(year_now, 0) > sub.allowance_in(year_now):
            problems.append(
                f"year {year_now}: {usage.get(year_now, 0)} credits used, "
                f"more than the allowance of {sub.allowance_in(year_now)}"
            )
    return report
