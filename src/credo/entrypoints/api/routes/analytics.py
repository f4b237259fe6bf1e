"""`GET /v1/analytics`: engagement over a period, in totals and a series.

Days are UTC days. `from` and `to` are both included (default: the 30 days up to today, or
up to a sandbox's test clock when it stands ahead);
`granularity` is day, week (starting on Monday) or month; `group_id` or `credential_id`
narrow it. Unique viewers are counted per day (a viewer's name lasts one day), so a series
of weeks or months adds up its days' unique viewers."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from credo.domain import engagement as e
from credo.entrypoints.api.context import AppDep, OrgId, object_id
from credo.services.engagement import reports
from credo.services.engagement.ports import Scope
from credo.services.ports import UnitOfWork

router = APIRouter(prefix="/v1", tags=["analytics"])


def period(today: date, first: date | None, last: date | None) -> tuple[date, date]:
    """The period asked for, or the 30 days up to `last` (or today)."""
    last = last or (today if first is None else max(first, today))
    return first or last - timedelta(days=reports.DEFAULT_DAYS - 1), last


@router.get("/analytics")
def get_analytics(
    org_id: OrgId,
    app: AppDep,
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
    granularity: Annotated[e.Granularity, Query()] = e.Granularity.DAY,
    group_id: Annotated[str | None, Query(max_length=100)] = None,
    credential_id: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Issued, delivered, views, unique viewers, downloads, shares, LinkedIn adds and
    verifications (and e-mails failed, bounced and opened) over the period."""
    for value in (group_id, credential_id):
        if value is not None:
            object_id(value)

    def read(uow: UnitOfWork) -> reports.Report:
        start, end = period(reports.today(uow, org_id, app.clock), first, last)
        return reports.report(uow, Scope(org_id, start, end, group_id, credential_id), granularity)

    found = app.runner.read(read)
    return {
        "from": found.scope.first.isoformat(),
        "to": found.scope.last.isoformat(),
        "granularity": found.granularity.value,
        "totals": found.totals.as_dict(),
        "series": [{"start": start.isoformat(), **f.as_dict()} for start, f in found.series],
        "funnel": {
            "issued": found.reach.issued,
            "delivered": found.reach.delivered,
            "viewed": found.reach.viewed,
            "downloaded": found.reach.downloaded,
            "shared": found.reach.shared,
            "added_to_linkedin": found.reach.added_to_linkedin,
        },
    }
