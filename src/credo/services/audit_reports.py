"""The audit log as the dashboard shows it: its filters in words, a page, the CSV export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from credo.domain.audit_log import ACTIONS, AuditEntry
from credo.ids import ID_PATTERN
from credo.services.audit_ports import LogQuery
from credo.services.billing.credit_reports import csv_cell, drain, parse_date
from credo.services.runner import Runner

_ID = re.compile(ID_PATTERN)
_CURSOR = re.compile(r"^log_[0-9a-f]{32}$")
CSV_CHUNK = 1000
CSV_HEADER = (
    "id",
    "at",
    "actor_type",
    "actor_id",
    "actor",
    "ip_address",
    "action",
    "description",
    "target_type",
    "target_id",
    "before",
    "after",
)


@dataclass(frozen=True, slots=True)
class LogFilter:
    action: str = ""
    actor: str = ""
    target: str = ""
    since: date | None = None
    until: date | None = None  # inclusive: the whole day

    def query(self) -> LogQuery:
        return LogQuery(
            action=self.action or None,
            actor_id=self.actor or None,
            target_id=self.target or None,
            since=None if self.since is None else _midnight(self.since),
            until=None if self.until is None else _midnight(self.until + timedelta(days=1)),
        )

    def params(self) -> dict[str, str]:
        values = {
            "action": self.action,
            "actor": self.actor,
            "target": self.target,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
        }
        return {k: v for k, v in values.items() if v}


def is_cursor(value: str) -> bool:
    return bool(_CURSOR.match(value))


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _date(raw: str, field: str, errors: list[dict[str, str]]) -> date | None:
    day = parse_date(raw, field, errors)
    if day == date.max:  # its end, the next midnight, is past the calendar
        errors.append({"field": field, "message": "must be a date like 2026-03-31"})
        return None
    return day


def parse_filter(
    *,
    action: str | None,
    actor: str | None,
    target: str | None,
    since: str | None,
    until: str | None,
) -> tuple[LogFilter, list[dict[str, str]]]:
    """The filter the form asks for, and what is wrong with it (in words, by field)."""
    errors: list[dict[str, str]] = []
    action_, actor_, target_ = ((v or "").strip() for v in (action, actor, target))
    if action_ and action_ not in ACTIONS:
        errors.append({"field": "action", "message": "not an action the log records"})
    if actor_ and not _ID.match(actor_):
        errors.append({"field": "actor", "message": "not someone in this log"})
    if target_ and (len(target_) > 200 or not target_.isprintable()):
        errors.append({"field": "target", "message": "not an id (letters, digits, _)"})
    start = _date((since or "").strip(), "from", errors)
    end = _date((until or "").strip(), "to", errors)
    if start and end and end < start:
        errors.append({"field": "to", "message": "must not be before the start date"})
    if errors:
        return LogFilter(), errors
    return LogFilter(action_, actor_, target_, start, end), []


def _json(value: dict[str, Any] | None) -> str:
    return "" if value is None else orjson.dumps(value).decode()


def csv_row(e: AuditEntry) -> tuple[str, ...]:
    at = e.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = (
        e.id,
        at,
        e.actor.kind.value,
        e.actor.id or "",
        e.actor.label,
        e.actor.source or "",
        e.action,
        ACTIONS.get(e.action, e.action),
        e.target_type,
        e.target_id,
        _json(e.before),
        _json(e.after),
    )
    return tuple(csv_cell(v) for v in values)


def export_csv(runner: Runner, org_id: str, q: LogQuery) -> Iterator[str]:
    """Every matching entry, newest first, a chunk at a time: each chunk read in its own
    short transaction, so a long log neither sits in memory nor holds a connection while
    the client reads. Pages go by id, newest first, so what is written while the export
    runs lands before its first page and is left out."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    yield drain(buf)
    cursor: str | None = None
    while True:
        chunk = runner.read(
            lambda uow, cursor=cursor: uow.audit_log.page(  # type: ignore[misc]
                org_id, q, limit=CSV_CHUNK, before_id=cursor
            )
        )
        writer.writerows(csv_row(e) for e in chunk)
        yield drain(buf)
        if len(chunk) < CSV_CHUNK:
            return
        cursor = chunk[-1].id
