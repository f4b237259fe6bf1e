"""Departments and their credit caps (credits.md R16..R21)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from credo.domain.errors import NotFound
from credo.entrypoints.api import render
from credo.entrypoints.api.context import (
    AppDep,
    CallerDep,
    Mutation,
    OrgMutation,
    Outcome,
    object_id,
)
from credo.entrypoints.api.schemas import DepartmentIn, DepartmentPatch
from credo.services.billing import departments
from credo.services.ports import UnitOfWork

router = APIRouter(prefix="/v1", tags=["departments"])


def _actor(uow: UnitOfWork, m: Mutation) -> str:
    """Who made a change, as a cap change records it (R18)."""
    label = uow.api_keys.label_of(m.api_key_hash) if m.api_key_hash else None
    return label or "API key"


@router.post("/departments", status_code=201)
def create_department(body: DepartmentIn, m: OrgMutation, app: AppDep) -> Response:
    def action(uow: UnitOfWork) -> Outcome:
        dept = departments.create(
            uow,
            app.clock,
            m.scope,
            name=body.name,
            credit_cap=body.credit_cap,
            actor=_actor(uow, m),
        )
        return 201, {"department": render.department(dept)}

    return m.run(action)


@router.get("/departments")
def list_departments(caller: CallerDep, app: AppDep) -> dict[str, Any]:
    """All the organization's departments; a department's key sees its own alone."""
    rows = app.runner.read(lambda uow: departments.figures(uow, app.clock, caller.org_id))
    dept = caller.department_id
    shown = [f for f in rows if dept is None or f.department.id == dept]
    return {"departments": [render.department_figures(f) for f in shown]}


@router.get("/departments/{department_id}")
def get_department(department_id: str, caller: CallerDep, app: AppDep) -> dict[str, Any]:
    object_id(department_id)
    org_id = caller.org_id
    if caller.department_id not in (None, department_id):
        raise NotFound(f"no department {department_id}")

    def read(uow: UnitOfWork) -> dict[str, Any]:
        departments.get(uow, org_id, department_id)
        figures = departments.figures(uow, app.clock, org_id)
        mine = next(f for f in figures if f.department.id == department_id)
        changes = departments.cap_changes(uow, org_id, department_id)
        return {
            "department": render.department_figures(mine),
            "cap_changes": [
                {
                    "at": render.rfc3339(c.at),
                    "by": c.actor,
                    "old_cap": c.old_cap,
                    "new_cap": c.new_cap,
                }
                for c in changes
            ],
        }

    return app.runner.read(read)


@router.patch("/departments/{department_id}")
def update_department(
    department_id: str, body: DepartmentPatch, m: OrgMutation, app: AppDep
) -> Response:
    object_id(department_id)
    changes = {name: getattr(body, name) for name in body.model_fields_set}

    def action(uow: UnitOfWork) -> Outcome:
        dept = departments.update(
            uow, app.clock, m.scope, department_id, changes, actor=_actor(uow, m)
        )
        return 200, {"department": render.department(dept)}

    return m.run(action)


@router.delete("/departments/{department_id}", status_code=204)
def delete_department(department_id: str, m: OrgMutation, app: AppDep) -> Response:
    object_id(department_id)

    def action(uow: UnitOfWork) -> Outcome:
        departments.delete(uow, app.clock, m.scope, department_id)
        return 204, None

    return m.run(action)
