"""Groups: a course or achievement that credentials are issued from."""

from __future__ import annotations

from credo.clock import Clock
from credo.domain.errors import NotFound
from credo.ids import new_id
from credo.services.ports import UnitOfWork
from credo.services.records import Group


def create_group(
    uow: UnitOfWork,
    clock: Clock,
    org_id: str,
    *,
    name: str,
    description: str | None,
    expires_after_months: int | None,
) -> Group:
    group = Group(
        id=new_id("grp"),
        organization_id=org_id,
        name=name,
        description=description,
        expires_after_months=expires_after_months,
        created_at=clock.now(),
    )
    uow.groups.add(group)
    return group


def get_group(uow: UnitOfWork, org_id: str, group_id: str) -> Group:
    group = uow.groups.get(org_id, group_id)
    if group is None:
        raise NotFound(f"no group {group_id}")
    return group
