"""Departments: parts of an organization that own groups and may cap the seats their groups
take per billing year (credits.md R16..R21). Caps are limits, not reservations: the
organization's allowance still binds every department."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from credo.clock import Clock
from credo.domain.audit_log import changes
from credo.domain.entities import Department
from credo.domain.errors import Conflict, InvalidInput, NotFound
from credo.ids import new_id
from credo.services import audit_log
from credo.services.billing.ports import CapChange
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import load_org, lock_org, org_now

NAME_MAX = 200
CAP_MAX = 10_000_000


@dataclass(frozen=True, slots=True)
class DepartmentFigures:
    """A department's seats this billing year against its cap (R21)."""

    department: Department
    used: int

    @property
    def remaining(self) -> int | None:
        cap = self.department.credit_cap
        return None if cap is None else max(0, cap - self.used)


def _name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(
            "name is required", [{"field": "name", "message": "must be a non-empty string"}]
        )
    name = " ".join(raw.split())
    if len(name) > NAME_MAX or "\x00" in name:
        raise InvalidInput(
            "name is too long or holds NUL",
            [{"field": "name", "message": f"must be at most {NAME_MAX} printable characters"}],
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            "name holds unpaired surrogates",
            [{"field": "name", "message": "must be valid Unicode text"}],
        ) from None
    return name


def _cap(raw: object) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= CAP_MAX:
        raise InvalidInput(
            "credit_cap must be a whole number of seats, or null for no cap",
            [
                {
                    "field": "credit_cap",
                    "message": f"must be an integer from 0 to {CAP_MAX}, or null",
                }
            ],
        )
    return raw


def _unique(uow: UnitOfWork, org_id: str, name: str, other_than: str | None = None) -> None:
    same = uow.departments.named(org_id, name)
    if same is not None and same.id != other_than:
        raise Conflict(f"a department named {same.name!r} exists already")


def create(
    uow: UnitOfWork, clock: Clock, org_id: str, *, name: object, credit_cap: object, actor: str
) -> Department:
    """A new department; its cap (if any) is the first recorded cap change (R18)."""
    name_, cap = _name(name), _cap(credit_cap)
    org = lock_org(uow, org_id)  # names are unique per organization
    _unique(uow, org_id, name_)
    now = org_now(org, clock)  # a sandbox's test clock, as its ledger lines
    dept = Department(new_id("dep", now), org_id, name_, cap, now)
    uow.departments.add(dept)
    if cap is not None:
        uow.departments.record_cap_change(org_id, dept.id, now, actor, None, cap)
    _audit(uow, clock, "department.created", None, dept)
    return dept


def _state(d: Department) -> dict[str, object]:
    return {"name": d.name, "credit_cap": d.credit_cap}


def _audit(
    uow: UnitOfWork, clock: Clock, action: str, before: Department | None, after: Department | None
) -> None:
    dept = after or before
    assert dept is not None
    old = None if before is None else _state(before)
    new = None if after is None else _state(after)
    if old is not None and new is not None:
        old, new = changes(old, new)
    audit_log.one(uow, clock.now(), dept.organization_id, action, "department", dept.id, old, new)


def get(uow: UnitOfWork, org_id: str, dept_id: str) -> Department:
    dept = uow.departments.get(org_id, dept_id)
    if dept is None:
        raise NotFound(f"no department {dept_id}")
    return dept


def update(
    uow: UnitOfWork,
    clock: Clock,
    org_id: str,
    dept_id: str,
    changes: Mapping[str, object],
    *,
    actor: str,
) -> Department:
    """R18: a cap change takes effect at once; lowering it below what the department has
    taken refuses its further seats and takes nothing back. Under the organization's
    lock, so a charge sees the cap either before or after the change."""
    values: dict[str, object] = {}
    if "name" in changes:
        values["name"] = _name(changes["name"])
    if "credit_cap" in changes:
        values["credit_cap"] = _cap(changes["credit_cap"])
    org = lock_org(uow, org_id)
    dept = get(uow, org_id, dept_id)
    if "name" in values:
        _unique(uow, org_id, str(values["name"]), other_than=dept.id)
    updated = replace(dept, **values)  # type: ignore[arg-type]
    if updated == dept:
        return dept
    uow.departments.update(updated)
    _audit(uow, clock, "department.updated", dept, updated)
    if updated.credit_cap != dept.credit_cap:
        uow.departments.record_cap_change(
            org_id, dept.id, org_now(org, clock), actor, dept.credit_cap, updated.credit_cap
        )
    return updated


def delete(uow: UnitOfWork, clock: Clock, org_id: str, dept_id: str) -> None:
    """Only a department that holds no groups; its ledger lines keep naming it."""
    lock_org(uow, org_id)
    dept = get(uow, org_id, dept_id)
    keys = [k for k in uow.api_keys.all(org_id) if k.department_id == dept.id and not k.revoked_at]
    if keys:
        raise Conflict(
            f"{len(keys)} API key{'s' if len(keys) != 1 else ''} reach only this department: "
            "revoke them first"
        )
    held = uow.departments.group_count(org_id, dept.id)
    if held:
        raise Conflict(
            f"the department holds {held} group{'s' if held != 1 else ''}: "
            "move them to another department (or out of all) first"
        )
    uow.departments.delete(org_id, dept.id, clock.now())
    _audit(uow, clock, "department.deleted", dept, None)


def figures(uow: UnitOfWork, clock: Clock, org_id: str) -> list[DepartmentFigures]:
    """Every department with its seats taken this billing year (R21)."""
    now = org_now(load_org(uow, org_id), clock)
    sub = uow.subscriptions.get(org_id)
    if sub is None:
        return [DepartmentFigures(d, 0) for d in uow.departments.all(org_id)]
    year = sub.year_at(now).index
    return [DepartmentFigures(y.department, y.used) for y in uow.departments.years(org_id, year)]


def cap_changes(uow: UnitOfWork, org_id: str, dept_id: str) -> list[CapChange]:
    get(uow, org_id, dept_id)
    return uow.departments.cap_changes(org_id, dept_id)
