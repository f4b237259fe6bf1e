"""Spreadsheet uploads: map columns, validate every row, show the cost, publish in the
background.

/app/imports/new -> POST /app/imports -> /app/imports/{id}/map -> /app/imports/{id} (cost
preview) -> POST .../start -> /app/imports/{id} (progress). Starting enqueues a job that a
`credo worker` publishes chunk by chunk (services/imports.py); the progress page polls a
fragment with app.js, or refreshes itself without JavaScript."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from credo.bootstrap import App
from credo.domain import entities
from credo.domain import spreadsheets as sheets
from credo.domain.accounts import Permission
from credo.domain.entities import ImportJob
from credo.domain.errors import InvalidInput
from credo.domain.spreadsheets import SpreadsheetError
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.dashboard.render import HEADERS, page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.services.credentials.groups import is_vc_api_group
from credo.services.credentials.issuing import Preview
from credo.services.importing import imports
from credo.services.people.accounts import Member
from credo.services.ports import UnitOfWork

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form(max_length=200)]
Column = Annotated[str, Form(max_length=4)]
MAX_UPLOAD = 15 * 1024 * 1024  # below the body cap (settings.max_body_bytes), with room
# Where an import stands, in words: (when publishing, when saving drafts).
STATES = {
    entities.UPLOADED: ("Columns to match", "Columns to match"),
    entities.INVALID: ("Rows to fix", "Rows to fix"),
    entities.READY: ("Waiting for you to confirm", "Waiting for you to confirm"),
    entities.RUNNING: ("Publishing", "Saving drafts"),
    entities.DONE: ("Published", "Saved as drafts"),
    entities.FAILED: ("Stopped", "Stopped"),
}


def _job(app: App, member: Member, job_id: str) -> ImportJob:
    object_id(job_id)
    org_id = member.organization.id
    return app.runner.read(lambda uow: imports.get(uow, org_id, job_id))


def _groups(app: App, member: Member) -> list[tuple[str, str]]:
    org_id = member.organization.id
    found = app.runner.read(lambda uow: uow.groups.page(org_id, None, 500))
    return [(g.id, g.name) for g in found if not is_vc_api_group(g.id)]


@router.get("/app/imports")
def list_imports(request: Request, member: MemberDep, app: AppDep) -> Response:
    org_id = member.organization.id
    listed = app.runner.read(lambda uow: imports.recent(uow, org_id))
    return page(request, app, member, "app/imports.html", imports=listed, states=STATES)


@router.get("/app/imports/new")
def new_import(request: Request, member: MemberDep, app: AppDep) -> Response:
    member.require(Permission.ISSUE)
    return _new_page(request, app, member)


def _new_page(
    request: Request, app: App, member: Member, status: int = 200, error: str | None = None
) -> Response:
    return page(
        request,
        app,
        member,
        "app/imports_new.html",
        status,
        groups=_groups(app, member),
        error=error,
        max_rows=50_000,
    )


@router.post("/app/imports")
def upload(
    request: Request,
    member: MemberDep,
    app: AppDep,
    file: Annotated[UploadFile | None, File()] = None,
    group_id: Annotated[str, Form(max_length=64)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.ISSUE)
    if file is None or not (file.filename or "").strip():
        return _new_page(request, app, member, 422, "Choose a CSV or XLSX file to upload.")
    if not group_id:
        return _new_page(request, app, member, 422, "Choose the group to issue from.")
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return _new_page(request, app, member, 413, "The file is larger than 15 MB; split it.")
    try:
        table = imports.read_upload(file.filename or "", data)
    except SpreadsheetError as exc:
        return _new_page(request, app, member, 422, f"{file.filename}: {exc}.")
    org_id, user_id = member.organization.id, member.user.id
    name = file.filename or "upload"
    job = app.runner.write(
        lambda uow: imports.create(uow, app.ctx, org_id, user_id, group_id, name, table)
    )
    return see_other(f"/app/imports/{job.id}/map")


def _map_page(
    request: Request, app: App, member: Member, job: ImportJob, status: int = 200, **extra: object
) -> Response:
    s = app.runner.read(lambda uow: imports.sheet(uow, job))
    return page(
        request,
        app,
        member,
        "app/imports_map.html",
        status,
        job=job,
        sheet=s,
        sample=s.table.rows[:5],
        fields=[(f, sheets.LABELS[f], f in sheets.REQUIRED) for f in sheets.FIELDS],
        errors=s.errors[: imports.MAX_ERRORS_SHOWN],
        summary=imports.summary(s),
        labels=sheets.LABELS,
        max_columns=sheets.MAX_COLUMNS,
        problems=extra.get("problems", []),
    )


@router.get("/app/imports/{job_id}/map")
def map_form(request: Request, job_id: str, member: MemberDep, app: AppDep) -> Response:
    member.require(Permission.ISSUE)
    job = _job(app, member, job_id)
    if job.state not in (entities.UPLOADED, entities.INVALID, entities.READY):
        return see_other(f"/app/imports/{job.id}")
    return _map_page(request, app, member, job)


def _column(value: str) -> int | None:
    return int(value) if value.isdigit() else None


@router.post("/app/imports/{job_id}/map")
def map_columns(
    request: Request,
    job_id: str,
    member: MemberDep,
    app: AppDep,
    name: Column = "",
    email: Column = "",
    issued_on: Column = "",
    expires_on: Column = "",
    dates: Annotated[str, Form(max_length=10)] = "day",
    skip_invalid: Annotated[str, Form(max_length=10)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.ISSUE)
    job = _job(app, member, job_id)
    mapping = {
        "name": _column(name),
        "email": _column(email),
        "issued_on": _column(issued_on),
        "expires_on": _column(expires_on),
    }
    org_id = member.organization.id

    def action(uow: UnitOfWork) -> ImportJob:
        done, _ = imports.validate(
            uow,
            app.ctx,
            org_id,
            job.id,
            mapping,
            day_first=dates != "month",
            skip_invalid=bool(skip_invalid),
        )
        return done

    try:
        job = app.runner.write(action)
    except InvalidInput as exc:
        return _map_page(request, app, member, job, 422, problems=exc.errors)
    if job.state == entities.READY:
        return see_other(f"/app/imports/{job.id}")
    return see_other(f"/app/imports/{job.id}/map")


@router.get("/app/imports/{job_id}/errors.csv")
def error_report(job_id: str, member: MemberDep, app: AppDep) -> Response:
    member.require(Permission.ISSUE)
    job = _job(app, member, job_id)
    s = app.runner.read(lambda uow: imports.sheet(uow, job))
    stem = "".join(c for c in job.filename.rsplit(".", 1)[0] if c.isalnum() or c in "-_")[:60]
    return StreamingResponse(
        imports.error_report(s),
        media_type="text/csv; charset=utf-8",
        headers={
            **HEADERS,
            "Content-Disposition": f'attachment; filename="{stem or "import"}-errors.csv"',
        },
    )


@router.get("/app/imports/{job_id}")
def show(request: Request, job_id: str, member: MemberDep, app: AppDep) -> Response:
    job = _job(app, member, job_id)
    if job.state in (entities.UPLOADED, entities.INVALID):
        member.require(Permission.ISSUE)
        return see_other(f"/app/imports/{job.id}/map")
    group = app.runner.read(lambda uow: uow.groups.get(job.organization_id, job.group_id))
    group_name = group.name if group else job.group_id
    if job.state == entities.READY:
        member.require(Permission.ISSUE)
        return _preview_page(request, app, member, job, group_name)
    return page(request, app, member, "app/imports_progress.html", job=job, group_name=group_name)


def _preview_page(
    request: Request,
    app: App,
    member: Member,
    job: ImportJob,
    group_name: str,
    status: int = 200,
    error: str | None = None,
) -> Response:
    def action(uow: UnitOfWork) -> tuple[Preview, imports.Sheet]:
        return imports.preview(uow, app.ctx, job), imports.sheet(uow, job)

    # The dry run takes the organization lock, as the API's does; it writes nothing.
    cost, s = app.runner.write(action)
    return page(
        request,
        app,
        member,
        "app/imports_preview.html",
        status,
        job=job,
        cost=cost,
        group_name=group_name,
        skipped=s.skipped,
        sample=s.rows[:5],
        error=error,
    )


@router.post("/app/imports/{job_id}/start")
def start(
    request: Request,
    job_id: str,
    member: MemberDep,
    app: AppDep,
    mode: Annotated[str, Form(max_length=10)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.ISSUE)
    job = _job(app, member, job_id)
    if mode not in ("publish", "draft"):
        raise InvalidInput(
            "choose publish or draft", [{"field": "mode", "message": "publish or draft"}]
        )
    org_id = member.organization.id
    job = app.runner.write(
        lambda uow: imports.start(uow, app.ctx, org_id, job.id, publish=mode == "publish")
    )
    return see_other(f"/app/imports/{job.id}")


@router.get("/app/imports/{job_id}/progress")
def progress(request: Request, job_id: str, member: MemberDep, app: AppDep) -> Response:
    job = _job(app, member, job_id)
    return page(request, app, None, "app/imports_progress_fragment.html", job=job)
