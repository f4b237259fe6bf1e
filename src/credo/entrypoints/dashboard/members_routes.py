"""Members and their roles, and the organization's API keys: owners only.

Every post checks the CSRF token before anything else, then the service checks the role.
After a change the browser is sent back to the list (303) with a notice named by a fixed
key, so no text a visitor chose is ever echoed from the address bar."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from credo.domain.accounts import MAX_KEY_NAME, Role
from credo.domain.errors import Conflict, InvalidInput, NotFound
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.services.people import members
from credo.services.people.accounts import Member

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form(max_length=200)]
Short = Annotated[str, Form(max_length=40)]

MEMBER_NOTICES = {
    "invited": "Invited: they will get an e-mail to choose their password.",
    "added": "Added: they can sign in with their existing account.",
    "role": "Role changed.",
    "removed": "Member removed.",
}
KEY_NOTICES = {"revoked": "Key revoked: requests with it are refused from now on."}


def _members_page(
    request: Request,
    app: AppDep,
    member: Member,
    status: int = 200,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    rows = app.runner.read(lambda uow: members.list_members(uow, member))
    return page(
        request,
        app,
        member,
        "app/members.html",
        status,
        rows=rows,
        roles=list(Role),
        notice=MEMBER_NOTICES.get(notice or ""),
        error=error,
        form=form or {"email": "", "name": "", "role": Role.ISSUER.value},
    )


def _problem_text(exc: InvalidInput | Conflict | NotFound) -> str:
    text = exc.detail[:1].upper() + exc.detail[1:]
    errors = exc.fields.get("errors")
    if errors:
        text += " (" + "; ".join(e["message"].rstrip(".") for e in errors) + ")"
    return text + "."


@router.get("/app/members")
def members_list(
    request: Request, member: MemberDep, app: AppDep, notice: str | None = None
) -> Response:
    return _members_page(request, app, member, notice=notice)


@router.post("/app/members/invite")
def members_invite(
    request: Request,
    member: MemberDep,
    app: AppDep,
    csrf: Csrf = "",
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Short = "",
) -> Response:
    check_csrf(member, csrf)
    try:
        created = app.runner.write(
            lambda uow: members.invite(
                uow, app.ctx, app.passwords, member, email=email, name=name, role=role
            )
        )
    except (InvalidInput, Conflict) as exc:
        form = {"email": email, "name": name, "role": role}
        return _members_page(request, app, member, exc.status, error=_problem_text(exc), form=form)
    return see_other("/app/members?notice=" + ("invited" if created else "added"))


@router.post("/app/members/{user_id}/role")
def members_role(
    request: Request,
    member: MemberDep,
    app: AppDep,
    user_id: str,
    csrf: Csrf = "",
    role: Short = "",
) -> Response:
    check_csrf(member, csrf)
    try:
        app.runner.write(
            lambda uow: members.change_role(uow, member, user_id, role, app.clock.now())
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        return _members_page(request, app, member, exc.status, error=_problem_text(exc))
    if user_id == member.user.id and role != member.role.value:
        return see_other("/app")  # their own new role may not open this page any more
    return see_other("/app/members?notice=role")


@router.post("/app/members/{user_id}/remove")
def members_remove(
    request: Request, member: MemberDep, app: AppDep, user_id: str, csrf: Csrf = ""
) -> Response:
    check_csrf(member, csrf)
    try:
        app.runner.write(lambda uow: members.remove_member(uow, member, user_id, app.clock.now()))
    except (Conflict, NotFound) as exc:
        return _members_page(request, app, member, exc.status, error=_problem_text(exc))
    if user_id == member.user.id:
        return see_other("/app")
    return see_other("/app/members?notice=removed")


def _keys_page(
    request: Request,
    app: AppDep,
    member: Member,
    status: int = 200,
    *,
    notice: str | None = None,
    new_key: str | None = None,
    error: str | None = None,
    name: str = "",
    name_invalid: bool = False,
    department: str = "",
) -> Response:
    keys = app.runner.read(lambda uow: members.api_keys(uow, member))
    org_id = member.organization.id
    names = app.runner.read(lambda uow: uow.departments.names(org_id))
    live = app.runner.read(lambda uow: {d.id: d.name for d in uow.departments.all(org_id)})
    return page(
        request,
        app,
        member,
        "app/api_keys.html",
        status,
        keys=keys,
        new_key=new_key,
        notice=KEY_NOTICES.get(notice or ""),
        error=error,
        key_name=name,
        name_invalid=name_invalid,
        departments=live,
        department_names=names,
        key_department=department,
        max_name=MAX_KEY_NAME,
    )


@router.get("/app/api-keys")
def keys_list(
    request: Request, member: MemberDep, app: AppDep, notice: str | None = None
) -> Response:
    return _keys_page(request, app, member, notice=notice)


@router.post("/app/api-keys")
def keys_create(
    request: Request,
    member: MemberDep,
    app: AppDep,
    csrf: Csrf = "",
    # Longer than a name may be, so that a long one is told why in the page (the service
    # checks the length), yet bounded.
    name: Annotated[str, Form(max_length=10 * MAX_KEY_NAME)] = "",
    department: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    check_csrf(member, csrf)
    dept = department.strip() or None
    try:
        key = app.runner.write(
            lambda uow: members.create_api_key(uow, app.clock, member, name, dept)
        )
    except InvalidInput as exc:
        error = exc.detail[:1].upper() + exc.detail[1:] + "."
        named = any(e.get("field") == "name" for e in exc.errors)
        return _keys_page(
            request,
            app,
            member,
            exc.status,
            error=error,
            name=name,
            name_invalid=named,
            department=department,
        )
    # Shown in this answer, not after a redirect: the key is not kept, only its hash.
    return _keys_page(request, app, member, 201, new_key=key)


@router.post("/app/api-keys/{key_id}/revoke")
def keys_revoke(
    request: Request, member: MemberDep, app: AppDep, key_id: str, csrf: Csrf = ""
) -> Response:
    check_csrf(member, csrf)
    try:
        app.runner.write(lambda uow: members.revoke_api_key(uow, app.clock, member, key_id))
    except NotFound as exc:
        return _keys_page(request, app, member, 404, error=_problem_text(exc))
    return see_other("/app/api-keys?notice=revoked")
