"""The audit log of staff actions, newest first, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, Field

from credo.domain.audit_log import ACTIONS
from credo.domain.errors import InvalidInput
from credo.entrypoints.api.context import AppDep, OrgId
from credo.entrypoints.api.pages import Limit
from credo.ids import ID_PATTERN
from credo.services import audit_log
from credo.services.audit_ports import LogQuery

router = APIRouter(prefix="/v1", tags=["audit log"])

LogCursor = Annotated[str | None, Field(pattern=r"^log_[0-9a-f]{32}$")]
# A target is a credential, group, key... id, or another organization's: any printable text.
TargetId = Annotated[str | None, Field(min_length=1, max_length=200, pattern=r"^[!-~]+$")]


def _utc(at: datetime | None, field: str) -> datetime | None:
    """In UTC, as stored; a moment whose UTC falls outside years 1..9999 is refused."""
    if at is None:
        return None
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            f"{field}: out of range", [{"field": field, "message": "is out of range"}]
        ) from None


@router.get("/audit-log")
def get_audit_log(
    org_id: OrgId,
    app: AppDep,
    cursor: Annotated[LogCursor, Query()] = None,
    limit: Annotated[Limit, Query()] = 100,
    action: Annotated[str | None, Query(max_length=60)] = None,
    actor_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    target_id: Annotated[TargetId, Query()] = None,
    since: Annotated[AwareDatetime | None, Query()] = None,
    until: Annotated[AwareDatetime | None, Query()] = None,
) -> dict[str, Any]:
    if action is not None and action not in ACTIONS:
        raise InvalidInput(
            "action: not an action the audit log records",
            [{"field": "action", "message": "must be one of: " + ", ".join(sorted(ACTIONS))}],
        )
    q = LogQuery(
        action=action,
        actor_id=actor_id,
        target_id=target_id,
        since=_utc(since, "since"),
        until=_utc(until, "until"),
    )
    entries, next_cursor = app.runner.read(
        lambda uow: audit_log.page(uow, org_id, q, limit=limit, cursor=cursor)
    )
    return {
        "entries": [audit_log.entry_json(e) for e in entries],
        "next_cursor": next_cursor,
    }
