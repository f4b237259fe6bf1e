"""Groups: the course or achievement credentials are issued from, with their certificate
design; and the built-in looks a design picks from."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from credo.domain.entities import Group
from credo.entrypoints.api import render
from credo.entrypoints.api.context import AppDep, CallerDep, Outcome, ScopedMutation, object_id
from credo.entrypoints.api.pages import Cursor, Limit, page
from credo.entrypoints.api.schemas import GroupIn, GroupPatch
from credo.services.credentials import groups, key_scope
from credo.services.ports import UnitOfWork
from credo.services.rendering import certificates

router = APIRouter(tags=["groups"])


@router.post("/v1/groups", status_code=201)
def create_group(body: GroupIn, m: ScopedMutation, app: AppDep) -> Response:
    org_id = m.scope
    dept = m.department_id
    placed = body.department_id if "department_id" in body.model_fields_set else dept
    key_scope.require_placement(dept, placed)

    def action(uow: UnitOfWork) -> Outcome:
        g = groups.create_group(
            uow,
            app.clock,
            org_id,
            name=body.name,
            description=body.description,
            expires_after_months=body.expires_after_months,
            criteria=body.criteria,
            design=body.design,
            department_id=placed,
        )
        return 201, {"group": render.group(g)}

    return m.run(action)


@router.patch("/v1/groups/{group_id}")
def update_group(group_id: str, body: GroupPatch, m: ScopedMutation, app: AppDep) -> Response:
    object_id(group_id)
    org_id = m.scope
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if "department_id" in changes:
        key_scope.require_placement(m.department_id, changes["department_id"])

    def action(uow: UnitOfWork) -> Outcome:
        key_scope.require_group(uow, org_id, m.department_id, group_id)
        g = groups.update_group(uow, org_id, group_id, changes, app.clock.now())
        return 200, {"group": render.group(g)}

    return m.run(action)


@router.get("/v1/groups/{group_id}")
def get_group(group_id: str, caller: CallerDep, app: AppDep) -> dict[str, Any]:
    object_id(group_id)
    org_id, dept = caller.org_id, caller.department_id

    def read(uow: UnitOfWork) -> Group:
        key_scope.require_group(uow, org_id, dept, group_id)
        return groups.get_group(uow, org_id, group_id)

    return {"group": render.group(app.runner.read(read))}


@router.get("/v1/groups")
def list_groups(
    caller: CallerDep,
    app: AppDep,
    cursor: Annotated[Cursor, Query()] = None,
    limit: Annotated[Limit, Query()] = 100,
) -> dict[str, Any]:
    org_id, dept = caller.org_id, caller.department_id
    rows = app.runner.read(lambda uow: uow.groups.page(org_id, cursor, limit + 1, dept))
    return page("groups", [render.group(g) for g in rows], limit)


@router.get("/v1/groups/{group_id}/certificate-preview.pdf")
def certificate_preview(
    group_id: str,
    caller: CallerDep,
    app: AppDep,
    paper: Annotated[Literal["a4", "letter"] | None, Query()] = None,
    orientation: Annotated[Literal["landscape", "portrait"] | None, Query()] = None,
) -> Response:
    """A sample certificate of the group's current design (placeholder recipient)."""
    object_id(group_id)
    org_id = caller.org_id
    app.runner.read(
        lambda uow: key_scope.require_group(uow, org_id, caller.department_id, group_id)
    )
    pdf = certificates.preview_pdf(
        app.runner,
        app.ctx,
        app.certificates,
        org_id,
        group_id,
        paper=paper,
        orientation=orientation,
    )
    return Response(
        pdf,
        media_type=certificates.MEDIA_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="certificate-preview-{group_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/v1/designs", tags=["designs"])
def list_designs(_: CallerDep) -> dict[str, Any]:
    """The built-in certificate looks, the named fields they draw and the design's fields."""
    return certificates.catalog()
