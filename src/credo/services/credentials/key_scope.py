"""What an API key limited to one department reaches: that department's groups and their
credentials, and nothing else. Something outside it answers as if it did not exist (404),
so a department's key learns nothing of the others'. None as the department: the key is
the organization's, and reaches everything."""

from __future__ import annotations

from credo.domain.entities import Group
from credo.domain.errors import KeyLimitedToDepartment, NotFound
from credo.services.ports import UnitOfWork


def require_group(uow: UnitOfWork, org_id: str, dept_id: str | None, group_id: str) -> None:
    if dept_id is None:
        return
    group = uow.groups.get(org_id, group_id)
    if group is None or group.department_id != dept_id:
        raise NotFound(f"no group {group_id}")


def require_credential(uow: UnitOfWork, org_id: str, dept_id: str | None, cred_id: str) -> None:
    if dept_id is None:
        return
    cred = uow.credentials.get(org_id, cred_id)
    if cred is None:
        raise NotFound(f"no credential {cred_id}")
    group = uow.groups.get(org_id, cred.group_id)
    if group is None or group.department_id != dept_id:
        raise NotFound(f"no credential {cred_id}")


def visible(group: Group, dept_id: str | None) -> bool:
    return dept_id is None or group.department_id == dept_id


def require_placement(dept_id: str | None, placed: object) -> None:
    """A department's key makes and moves groups within its department only."""
    if dept_id is not None and placed != dept_id:
        raise KeyLimitedToDepartment(
            "this API key is limited to one department: its groups stay in that department"
        )
