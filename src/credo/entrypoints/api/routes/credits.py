"""Credits and the ledger; sandbox test clocks."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from credo.domain.errors import NotFound
from credo.entrypoints.api import render
from credo.entrypoints.api.context import AppDep, CallerDep, OrgId, OrgMutation, Outcome
from credo.entrypoints.api.pages import Limit
from credo.entrypoints.api.schemas import ClockIn
from credo.ids import ID_PATTERN
from credo.services.billing import credits
from credo.services.ports import UnitOfWork
from credo.services.tenancy import clocks

router = APIRouter(prefix="/v1", tags=["credits"])

LedgerCursor = Annotated[str | None, Field(pattern=r"^[0-9]{1,18}$")]


@router.get("/credits")
def get_credits(caller: CallerDep, app: AppDep) -> dict[str, Any]:
    """The organization's allowance and, for a department's key, its own department's
    figures among the departments."""
    bal = app.runner.read(lambda uow: credits.balance(uow, app.clock, caller.org_id))
    dept = caller.department_id
    if dept is not None:
        bal = replace(bal, departments=[d for d in bal.departments if d.department.id == dept])
    return render.balance(bal)


@router.get("/credits/ledger")
def get_ledger(
    caller: CallerDep,
    app: AppDep,
    billing_year: Annotated[int | None, Query(ge=0, le=1000)] = None,
    cursor: Annotated[LedgerCursor, Query()] = None,
    limit: Annotated[Limit, Query()] = 100,
    department_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> dict[str, Any]:
    """A department's key reads its own department's lines alone."""
    org_id = caller.org_id
    if caller.department_id is not None:
        if department_id not in (None, caller.department_id):
            raise NotFound(f"no department {department_id}")
        department_id = caller.department_id
    year, entries = app.runner.read(
        lambda uow: credits.ledger(
            uow,
            app.clock,
            org_id,
            year=billing_year,
            after=int(cursor) if cursor else None,
            limit=limit + 1,
            department_id=department_id,
        )
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return {
        "billing_year": render.year(year),
        "entries": [render.ledger_entry(e) for e in entries],
        "next_cursor": str(entries[-1].id) if more and entries else None,
    }


@router.get("/test-clock")
def get_test_clock(org_id: OrgId, app: AppDep) -> dict[str, Any]:
    now = app.runner.read(lambda uow: clocks.get_test_clock(uow, org_id))
    return {"now": render.rfc3339(now)}


@router.post("/test-clock")
def advance_test_clock(body: ClockIn, m: OrgMutation) -> Response:
    org_id = m.scope

    def action(uow: UnitOfWork) -> Outcome:
        now = clocks.advance_test_clock(uow, org_id, body.now)
        return 200, {"now": render.rfc3339(now)}

    return m.run(action)
