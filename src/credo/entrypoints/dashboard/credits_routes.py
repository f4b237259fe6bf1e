"""Credits: the balance, seats per month, the ledger and its CSV export.

Readable by every member (Permission.VIEW); always the signed-in member's organization."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from credo.domain.accounts import Permission
from credo.domain.errors import InvalidInput
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.render import HEADERS, page
from credo.entrypoints.dashboard.session import MemberDep
from credo.services.billing import credit_reports, credits
from credo.services.billing.credit_reports import LedgerFilter, LedgerPage, Overview
from credo.services.ports import UnitOfWork

router = APIRouter(include_in_schema=False)
_Read = tuple[Overview, LedgerFilter | None, LedgerPage | None, list[dict[str, str]]]

# Generous bounds: what passes is validated by credit_reports.parse_filter (with messages).
Year = Annotated[str | None, Query(max_length=10)]
Reason = Annotated[str | None, Query(max_length=40)]
Recipient = Annotated[str | None, Query(max_length=1000)]
Since = Annotated[str | None, Query(alias="from", max_length=40)]
Until = Annotated[str | None, Query(alias="to", max_length=40)]
Before = Annotated[str | None, Query(max_length=40)]
Dept = Annotated[str | None, Query(max_length=80)]


@router.get("/app/credits")
def credits_page(
    request: Request,
    member: MemberDep,
    app: AppDep,
    year: Year = None,
    reason: Reason = None,
    recipient: Recipient = None,
    since: Since = None,
    until: Until = None,
    before: Before = None,
    department: Dept = None,
) -> Response:
    member.require(Permission.VIEW)
    org_id = member.organization.id
    cursor = int(before) if before and before.isdigit() and len(before) <= 18 else None

    def read(uow: UnitOfWork) -> _Read:
        ov = credit_reports.overview(uow, app.clock, org_id)
        errors: list[dict[str, str]] = []
        flt = None
        try:
            flt = credit_reports.parse_filter(
                ov.balance.year.index,
                year=year,
                reason=reason,
                recipient=recipient,
                since=since,
                until=until,
                department=department,
            )
        except InvalidInput as exc:
            errors = exc.errors
        if before and cursor is None:
            errors.append({"field": "before", "message": "not a page of this ledger"})
        if errors or flt is None:
            return ov, None, None, errors
        return ov, flt, credit_reports.ledger_page(uow, org_id, flt, cursor), []

    ov, flt, ledger, errors = app.runner.read(read)
    anchor = app.runner.read(lambda uow: _anchor(uow, org_id))
    departments = app.runner.read(lambda uow: uow.departments.names(org_id))
    form = {
        "year": (year or "").strip() or str(ov.balance.year.index),
        "reason": (reason or "").strip(),
        "recipient": (recipient or "").strip(),
        "from": (since or "").strip(),
        "to": (until or "").strip(),
        "department": (department or "").strip(),
    }
    params = flt.params() if flt is not None else {}
    return page(
        request,
        app,
        member,
        "app/credits.html",
        status=422 if errors else 200,
        ov=ov,
        chart=credit_reports.chart(ov.months, ov.balance.allowance),
        ledger=ledger,
        errors={e["field"]: e["message"] for e in errors},
        form=form,
        reasons=credit_reports.REASON_LABELS,
        departments=departments,
        years=list(range(ov.balance.year.index, -1, -1)),
        year_spans=_spans(anchor, ov.balance.year.index),
        csv_url="/app/credits/ledger.csv?" + urlencode(params),
        next_url=(
            "/app/credits?" + urlencode({**params, "before": str(ledger.next_before)})
            if ledger is not None and ledger.next_before is not None
            else None
        ),
        first_url="/app/credits?" + urlencode(params) if cursor is not None else None,
    )


@router.get("/app/credits/ledger.csv")
def ledger_csv(
    member: MemberDep,
    app: AppDep,
    year: Year = None,
    reason: Reason = None,
    recipient: Recipient = None,
    since: Since = None,
    until: Until = None,
    department: Dept = None,
) -> Response:
    """The ledger entries the page's filters match, all of them, oldest first, streamed."""
    member.require(Permission.VIEW)
    org_id = member.organization.id
    bal = app.runner.read(lambda uow: credits.balance(uow, app.clock, org_id))
    flt = credit_reports.parse_filter(  # InvalidInput answers 422
        bal.year.index,
        year=year,
        reason=reason,
        recipient=recipient,
        since=since,
        until=until,
        department=department,
    )
    name = "all" if flt.year is None else f"year-{flt.year}"
    headers = {
        **HEADERS,
        "Content-Disposition": f'attachment; filename="credits-ledger-{name}.csv"',
    }
    return StreamingResponse(
        credit_reports.export_csv(app.runner, org_id, flt),
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )


@router.get("/app/credits/how")
def credits_how(request: Request, member: MemberDep, app: AppDep) -> Response:
    """How credits work, in words, with the organization's own allowance and year."""
    member.require(Permission.VIEW)
    balance = app.runner.read(lambda uow: credits.balance(uow, app.clock, member.organization.id))
    # The year ends at the start of the next one: its last day is the day before.
    last_day = (balance.year.ends_at - timedelta(microseconds=1)).date()
    return page(
        request, app, member, "app/credits_how.html", balance_now=balance, last_day=last_day
    )


def _anchor(uow: UnitOfWork, org_id: str) -> date | None:
    sub = uow.subscriptions.get(org_id)
    return sub.anchor if sub is not None else None


def _spans(anchor: date | None, current: int) -> dict[int, str]:
    """Each billing year up to `current` as dates ("1 Feb 2026", an en dash, "31 Jan 2027"):
    a year ends the day before the next begins."""
    if anchor is None:
        return {i: f"year {i}" for i in range(current + 1)}
    return {i: credit_reports.year_span(anchor, i) for i in range(current + 1)}
