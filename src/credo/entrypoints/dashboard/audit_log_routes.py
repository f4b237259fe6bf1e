"""The audit log of staff actions, for owners: filters, pages, and the CSV export."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from credo.domain.accounts import Permission
from credo.domain.audit_log import ACTIONS, AuditEntry
from credo.domain.errors import InvalidInput
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.render import HEADERS, page
from credo.entrypoints.dashboard.session import MemberDep
from credo.services import audit_log, audit_reports

router = APIRouter(include_in_schema=False)

PAGE = 50
# Generous bounds: audit_reports.parse_filter says what is wrong in words.
Text = Annotated[str | None, Query(max_length=300)]
Since = Annotated[str | None, Query(alias="from", max_length=40)]
Until = Annotated[str | None, Query(alias="to", max_length=40)]
Before = Annotated[str | None, Query(max_length=60)]


@router.get("/app/audit-log")
def audit_log_page(
    request: Request,
    member: MemberDep,
    app: AppDep,
    action: Text = None,
    actor: Text = None,
    target: Text = None,
    since: Since = None,
    until: Until = None,
    before: Before = None,
) -> Response:
    member.require(Permission.AUDIT_LOG)
    org_id = member.organization.id
    flt, errors = audit_reports.parse_filter(
        action=action, actor=actor, target=target, since=since, until=until
    )
    cursor = (before or "").strip() or None
    if cursor is not None and not audit_reports.is_cursor(cursor):
        errors.append({"field": "before", "message": "not a page of this log"})
    entries: list[AuditEntry] = []
    next_cursor = None
    if not errors:
        entries, next_cursor = app.runner.read(
            lambda uow: audit_log.page(uow, org_id, flt.query(), limit=PAGE, cursor=cursor)
        )
    actors = app.runner.read(lambda uow: uow.audit_log.actors(org_id))
    params = flt.params()
    form = {
        "action": (action or "").strip(),
        "actor": (actor or "").strip(),
        "target": (target or "").strip(),
        "from": (since or "").strip(),
        "to": (until or "").strip(),
    }
    return page(
        request,
        app,
        member,
        "app/audit_log.html",
        status=422 if errors else 200,
        entries=entries,
        actions=ACTIONS,
        actors=actors,
        form=form,
        errors={e["field"]: e["message"] for e in errors},
        csv_url="/app/audit-log.csv?" + urlencode(params),
        next_url=(
            "/app/audit-log?" + urlencode({**params, "before": next_cursor})
            if next_cursor
            else None
        ),
        first_url="/app/audit-log?" + urlencode(params) if cursor else None,
    )


@router.get("/app/audit-log.csv")
def audit_log_csv(
    member: MemberDep,
    app: AppDep,
    action: Text = None,
    actor: Text = None,
    target: Text = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """Every entry the page's filters match, newest first, streamed."""
    member.require(Permission.AUDIT_LOG)
    flt, errors = audit_reports.parse_filter(
        action=action, actor=actor, target=target, since=since, until=until
    )
    if errors:
        raise InvalidInput(f"{len(errors)} filter(s) are invalid", errors)
    headers = {**HEADERS, "Content-Disposition": 'attachment; filename="audit-log.csv"'}
    rows = audit_reports.export_csv(app.runner, member.organization.id, flt.query())
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )
