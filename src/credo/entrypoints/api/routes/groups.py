"""Groups: the course or achievement credentials are issued from, with their certificate
design; and the built-in looks a design picks from."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from credo.entrypoints.api import render
from credo.entrypoints.api.context import AppDep, OrgId, OrgMutation, Outcome, object_id
from credo.entrypoints.api.pages import Cursor, Limit, page
from credo.entrypoints.api.schemas import GroupIn, GroupPatch
from credo.services.credentials import groups
from credo.services.ports import UnitOfWork
from credo.services.rendering import certificates

router = APIRouter(tags=["groups"])


@router.post("/v1/groups", status_code=201)
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
            criteria=body.criteria,
            design=body.design,
            department_id=body.department_id,
        )
        return 201, {"group": render.group(g)}

    return m.run(action)


@router.patch("/v1/groups/{group_id}")
def update_group(group_id: str, body: GroupPatch, m: OrgMutation, app: AppDep) -> Response:
    object_id(group_id)
    org_id = m.scope
    changes = {name: getattr(body, name) for name in body.model_fields_set}

    def action(uow: UnitOfWork) -> Outcome:
        g = groups.update_group(uow, org_id, group_id, changes, app.clock.now())
        return 200, {"group": render.group(g)}

    return m.run(action)


@router.get("/v1/groups/{group_id}")
def get_group(group_id: str, org_id: OrgId, app: AppDep) -> dict[str, Any]:
    object_id(group_id)
    g = app.runner.read(lambda uow: groups.get_group(uow, org_id, group_id))
    return {"group": render.group(g)}


@router.get("/v1/groups")
def list_groups(
    org_id: OrgId,
    app: AppDep,
    cursor: Annotated[Cursor, Query()] = None,
    limit: Annotated[Limit, Query()] = 100,
) -> dict[str, Any]:
    rows = app.runner.read(lambda uow: uow.groups.page(org_id, cursor, limit + 1))
    return page("groups", [render.group(g) for g in rows], limit)


@router.get("/v1/groups/{group_id}/certificate-preview.pdf")
def certificate_preview(
    group_id: str,
    org_id: OrgId,
    app: AppDep,
    paper: Annotated[Literal["a4", "letter"] | None, Query()] = None,
    orientation: Annotated[Literal["landscape", "portrait"] | None, Query()] = None,
) -> Response:
    """A sample certificate of the group's current design (placeholder recipient)."""
    object_id(group_id)
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
def list_designs(_: OrgId) -> dict[str, Any]:
    """The built-in certificate looks, the named fields they draw and the design's fields."""
    return certificates.catalog()
