"""Groups: the course or achievement credentials are issued from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from credo.entrypoints.api import render
from credo.entrypoints.api.context import AppDep, OrgId, OrgMutation, Outcome, object_id
from credo.entrypoints.api.pages import Cursor, Limit, page
from credo.entrypoints.api.schemas import GroupIn
from credo.services import groups
from credo.services.ports import UnitOfWork

router = APIRouter(prefix="/v1/groups", tags=["groups"])


@router.post("", status_code=201)
def create_group(body: GroupIn, m: OrgMutation, app: AppDep) -> Response:
    org_id = m.scope

    def action(uow: UnitOfWork) -> Outcome:
        g = groups.create_group(
            uow,
            app.clock,
            org_id,
            name=body.name,
            description=body.description,
            expires_after_months=body.expires_after_months,
        )
        return 201, {"group": render.group(g)}

    return m.run(action)


@router.get("/{group_id}")
def get_group(group_id: str, org_id: OrgId, app: AppDep) -> dict[str, Any]:
    object_id(group_id)
    g = app.runner.read(lambda uow: groups.get_group(uow, org_id, group_id))
    return {"group": render.group(g)}


@router.get("")
def list_groups(
    org_id: OrgId,
    app: AppDep,
    cursor: Annotated[Cursor, Query()] = None,
    limit: Annotated[Limit, Query()] = 100,
) -> dict[str, Any]:
    rows = app.runner.read(lambda uow: uow.groups.page(org_id, cursor, limit + 1))
    return page("groups", [render.group(g) for g in rows], limit)
