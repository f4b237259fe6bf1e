"""The organization's clock: real time, or a sandbox organization's test clock."""

from __future__ import annotations

from datetime import datetime

from credo.clock import Clock
from credo.domain.entities import Organization
from credo.domain.errors import ClockBackwards, NotFound
from credo.services.ports import UnitOfWork


def org_now(org: Organization, clock: Clock) -> datetime:
    if org.sandbox and org.clock_now is not None:
        return org.clock_now
    return clock.now()


def load_org(uow: UnitOfWork, org_id: str) -> Organization:
    org = uow.organizations.get(org_id)
    if org is None:
        raise NotFound("no such organization")
    return org


def lock_org(uow: UnitOfWork, org_id: str) -> Organization:
    """Load the organization holding its lock (see Organizations.lock)."""
    org = uow.organizations.lock(org_id)
    if org is None:
        raise NotFound("no such organization")
    return org


def get_test_clock(uow: UnitOfWork, org_id: str) -> datetime:
    org = load_org(uow, org_id)
    if not org.sandbox or org.clock_now is None:
        raise NotFound("test clocks exist only for sandbox organizations")
    return org.clock_now


def advance_test_clock(uow: UnitOfWork, org_id: str, now: datetime) -> datetime:
    """Move a sandbox organization's clock forward; backwards is refused (409)."""
    lock_org(uow, org_id)
    current = get_test_clock(uow, org_id)
    if now < current:
        raise ClockBackwards(
            f"the test clock is at {current.isoformat()}; it only moves forward",
            now=current.isoformat(),
        )
    uow.organizations.set_clock(org_id, now)
    return now
