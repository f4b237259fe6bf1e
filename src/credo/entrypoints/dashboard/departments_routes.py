"""Departments and their credit caps (credits.md R16..R21): owners only.

Posts check the CSRF token first, then send the browser on with a notice of a fixed key;
a refused form is shown again with what was typed and why (422 or 409)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from credo.domain.accounts import Permission
from credo.domain.errors import Conflict, InvalidInput
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.dashboard.members_routes import Csrf, _problem_text
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.services.billing import credit_reports, department_reports, departments
from credo.services.people.accounts import Member
from credo.services.ports import UnitOfWork

router = APIRouter(include_in_schema=False)
_DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit takes "²" and "٣"

Name = Annotated[str, Form(max_length=400)]
Cap = Annotated[str, Form(max_length=20)]

NOTICES = {
    "created": "Department added. Choose it on a group's page to count that group's seats here.",
    "saved": "Saved. A new cap applies at once to this billing year.",
    "deleted": "Department deleted. Its ledger lines still name it.",
}


def _cap(raw: str) -> int | str | None:
    """The form's cap: empty is no cap; anything but a whole number is returned as is, for
    the service to refuse in words."""
    text = raw.strip()
    if not text:
        return None
    return int(text) if _DIGITS.fullmatch(text) else text


def _list_page(
    request: Request, app: AppDep, member: Member, status: int = 200, **values: Any
) -> Response:
    member.require(Permission.BILLING)
    org_id = member.organization.id
    figures = app.runner.read(lambda uow: departments.figures(uow, app.clock, org_id))
    defaults: dict[str, Any] = {"notice": None, "error": None, "form": {"name": "", "cap": ""}}
    return page(
        request, app, member, "app/departments.html", status, figures=figures, **(defaults | values)
    )


@router.get("/app/departments")
def departments_list(
    request: Request, member: MemberDep, app: AppDep, notice: str | None = None
) -> Response:
    return _list_page(request, app, member, notice=NOTICES.get(notice or ""))


@router.post("/app/departments")
def departments_create(
    request: Request,
    member: MemberDep,
    app: AppDep,
    csrf: Csrf = "",
    name: Name = "",
    cap: Cap = "",
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.BILLING)
    org_id = member.organization.id
    try:
        made = app.runner.write(
            lambda uow: departments.create(
                uow, app.clock, org_id, name=name, credit_cap=_cap(cap), actor=member.user.email
            )
        )
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        form = {"name": name, "cap": cap}
        return _list_page(request, app, member, status, error=_problem_text(exc), form=form)
    return see_other(f"/app/departments/{made.id}?notice=created")


def _detail_page(
    request: Request,
    app: AppDep,
    member: Member,
    dept_id: str,
    status: int = 200,
    **values: Any,
) -> Response:
    member.require(Permission.BILLING)
    object_id(dept_id)
    org_id = member.organization.id
    got = app.runner.read(lambda uow: department_reports.page(uow, app.clock, org_id, dept_id))
    dept = got.figures.department
    limit = dept.credit_cap if dept.credit_cap is not None else got.allowance
    defaults: dict[str, Any] = {
        "notice": None,
        "error": None,
        "form": {"name": dept.name, "cap": "" if dept.credit_cap is None else dept.credit_cap},
    }
    return page(
        request,
        app,
        member,
        "app/department.html",
        status,
        d=got,
        dept=dept,
        chart=credit_reports.chart(got.months, limit),
        limit=limit,
        limit_name="cap" if dept.credit_cap is not None else "allowance",
        **(defaults | values),
    )


@router.get("/app/departments/{dept_id}")
def department_detail(
    request: Request, member: MemberDep, app: AppDep, dept_id: str, notice: str | None = None
) -> Response:
    return _detail_page(request, app, member, dept_id, notice=NOTICES.get(notice or ""))


@router.post("/app/departments/{dept_id}")
def department_save(
    request: Request,
    member: MemberDep,
    app: AppDep,
    dept_id: str,
    csrf: Csrf = "",
    name: Name = "",
    cap: Cap = "",
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.BILLING)
    object_id(dept_id)
    org_id = member.organization.id
    changes = {"name": name, "credit_cap": _cap(cap)}

    def save(uow: UnitOfWork) -> None:
        departments.update(uow, app.clock, org_id, dept_id, changes, actor=member.user.email)

    try:
        app.runner.write(save)
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        form = {"name": name, "cap": cap}
        return _detail_page(
            request, app, member, dept_id, status, error=_problem_text(exc), form=form
        )
    return see_other(f"/app/departments/{dept_id}?notice=saved")


@router.post("/app/departments/{dept_id}/delete")
def department_delete(
    request: Request, member: MemberDep, app: AppDep, dept_id: str, csrf: Csrf = ""
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.BILLING)
    object_id(dept_id)
    org_id = member.organization.id
    try:
        app.runner.write(lambda uow: departments.delete(uow, app.clock, org_id, dept_id))
    except Conflict as exc:
        return _detail_page(request, app, member, dept_id, 409, error=_problem_text(exc))
    return see_other("/app/departments?notice=deleted")
