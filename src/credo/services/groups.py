"""Groups: a course or achievement that credentials are issued from."""

from __future__ import annotations

from datetime import datetime

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


# Credentials signed through the W3C VC API (POST /credentials/issue) are rows of one group
# per organization, made on first use. Its id is derived from the organization's, so that
# finding it is a primary-key lookup and recognizing it needs no query at all.
VC_API_GROUP_PREFIX = "vcapi_"
VC_API_GROUP_NAME = "Issued through the VC API"


def vc_api_group_id(org_id: str) -> str:
    return VC_API_GROUP_PREFIX + org_id.partition("_")[2]


def is_vc_api_group(group_id: str) -> bool:
    return group_id.startswith(VC_API_GROUP_PREFIX)


def vc_api_group(uow: UnitOfWork, org_id: str, now: datetime) -> Group:
    """The organization's VC API group, made on first use. Precondition: organization lock
    (two first uses cannot race)."""
    group_id = vc_api_group_id(org_id)
    group = uow.groups.get(org_id, group_id)
    if group is None:
        group = Group(
            id=group_id,
            organization_id=org_id,
            name=VC_API_GROUP_NAME,
            description="Credentials the organization submitted to POST /credentials/issue, "
            "signed as submitted.",
            expires_after_months=None,
            created_at=now,
        )
        uow.groups.add(group)
    return group
