"""Spreadsheet uploads: read a CSV or XLSX file, map its columns, validate every row, price
the whole file, then publish it (or save drafts) chunk by chunk in the background.

States: uploaded -> (mapped) invalid | ready -> running -> done | failed.

- Nothing is issued until every row is valid (or the issuer chose to leave the bad rows
  out): validation stores only the job row.
- The preview is `issuing.issue(..., dry_run=True)` over all rows at once: the same code
  as the API's dry run, and exact for the whole file (a recipient named in many chunks
  is charged once, R1), so it equals the sum the chunks charge when nothing else spends
  credits meanwhile (R12).
- Publishing runs `issuing.issue` on chunks of CHUNK rows, one transaction each, which also
  moves the job's `done` counter. A chunk re-reads `done` while holding the organization
  lock, so a job resumed after a crash, or run by two processes at once, never issues a
  row twice. Starting a job enqueues a background job (services/jobs.py) in the same
  transaction; a worker takes one chunk per claim, so imports of several organizations
  advance in turn, and a chunk cut short by a dead worker is taken up by the next.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from credo.domain import spreadsheets as sheets
from credo.domain.audit_log import SYSTEM, Actor, ActorKind
from credo.domain.entities import DONE, FAILED, INVALID, READY, RUNNING, UPLOADED, ImportJob
from credo.domain.errors import (
    Conflict,
    DepartmentCapReached,
    DomainError,
    InsufficientCredits,
    InvalidInput,
    NoActiveSubscription,
    NotFound,
)
from credo.domain.spreadsheets import RowError, SpreadsheetError, Table
from credo.ids import new_id
from credo.services import audit_log, jobs
from credo.services.billing import credit_reports
from credo.services.context import ServiceContext
from credo.services.credentials import issuing
from credo.services.credentials.groups import get_group, is_vc_api_group
from credo.services.credentials.issuing import Issued, NewCredential, Preview
from credo.services.ports import UnitOfWork, UnitOfWorkFactory
from credo.services.recipients.addresses import MalformedEmail, recipient_key
from credo.services.tenancy.clocks import load_org, lock_org, org_now
from credo.services.webhooks import events as webhook_events

log = logging.getLogger("credo.imports")

CHUNK = 2_000  # rows per transaction while publishing: the progress bar's step
MAX_XLSX_UNPACKED = 100 * 1024 * 1024  # bytes of XML an XLSX may unpack to (zip bombs)
MAX_XLSX_MEMBERS = 2_000
MAX_ERRORS_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Row:
    """A validated row, ready for `issuing.issue`."""

    number: int
    name: str
    email: str
    issued_on: date | None
    expires_on: date | None

    def item(self) -> NewCredential:
        # An empty expiry cell means the group's policy, as when the API omits expires_on.
        given = self.expires_on is not None
        return NewCredential(self.name, self.email, self.issued_on, self.expires_on, given)


@dataclass(frozen=True, slots=True)
class Sheet:
    """What the job row stores as JSON: the upload's table, the last mapping tried, its
    errors, and (once valid) the rows to issue."""

    table: Table
    mapping: dict[str, int | None]
    day_first: bool = True
    errors: tuple[RowError, ...] = ()
    rows: tuple[Row, ...] = ()
    skipped: int = 0  # rows left out on the issuer's request (bad ones)

    def dumps(self) -> str:
        return json.dumps(
            {
                # First, so that the imports list reads it from the stored text's first
                # characters (skipped_in) rather than the whole sheet.
                "skipped": self.skipped,
                "header": self.table.header,
                "table": [[n, cells] for n, cells in self.table.rows],
                "columns_cut": self.table.columns_cut,
                "mapping": self.mapping,
                "day_first": self.day_first,
                "errors": [[e.row, e.field, e.message] for e in self.errors],
                "rows": [
                    [r.number, r.name, r.email, _iso(r.issued_on), _iso(r.expires_on)]
                    for r in self.rows
                ],
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str) -> Sheet:
        d = json.loads(text)
        table = Table(d["header"], [(n, cells) for n, cells in d["table"]], d["columns_cut"])
        return cls(
            table=table,
            mapping=d["mapping"],
            day_first=d["day_first"],
            errors=tuple(RowError(*e) for e in d["errors"]),
            rows=tuple(
                Row(n, name, email, _day(issued), _day(expires))
                for n, name, email, issued, expires in d["rows"]
            ),
            skipped=d["skipped"],
        )


HEAD = 32  # characters of a stored sheet that hold its "skipped" count
_SKIPPED = re.compile(r'\{"skipped":([0-9]+)[,}]')


def skipped_in(head: str) -> int:
    """The rows left out, read from the first HEAD characters of a stored sheet (0 for a
    sheet stored before the count came first)."""
    found = _SKIPPED.match(head)
    return int(found.group(1)) if found else 0


@dataclass(frozen=True, slots=True)
class Listed:
    """An import as the list shows it."""

    job: ImportJob
    # Every data row of the file, bad ones included: once bad rows are left out, the job's
    # `total` counts only the rows to issue.
    file_rows: int


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _day(s: str | None) -> date | None:
    return None if s is None else date.fromisoformat(s)


# Reading files ----------------------------------------------------------------------------


def read_upload(filename: str, data: bytes) -> Table:
    """The table of a CSV or XLSX upload, told apart by content (a name can lie);
    SpreadsheetError with a message for the issuer when the file cannot be used."""
    if not data:
        raise SpreadsheetError("the file is empty")
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SpreadsheetError("old Excel files (.xls) are not read; save as .xlsx or .csv")
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise SpreadsheetError("this .xlsx file is damaged or not a spreadsheet")
    return sheets.read_csv(data)


def read_xlsx(data: bytes) -> Table:
    """The first worksheet, read streaming (openpyxl read_only). The archive is checked
    first: an XLSX unpacking to more than MAX_XLSX_UNPACKED bytes is refused unread."""
    import openpyxl  # on first use: few processes need it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            unpacked = sum(m.file_size for m in members)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SpreadsheetError("this .xlsx file is damaged or not a spreadsheet") from None
    if len(members) > MAX_XLSX_MEMBERS or unpacked > MAX_XLSX_UNPACKED:
        raise SpreadsheetError("this .xlsx file unpacks to too much data; save it as .csv")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a third-party parser of untrusted bytes: any failure means "damaged"
        raise SpreadsheetError("this .xlsx file is damaged or not a spreadsheet") from None
    try:
        sheet = next((ws for ws in book.worksheets if hasattr(ws, "iter_rows")), None)
        if sheet is None:
            raise SpreadsheetError("the workbook has no worksheet")
        lines = (
            [_text(v) for v in row]
            for row in sheet.iter_rows(max_col=sheets.MAX_COLUMNS + 1, values_only=True)
        )
        return sheets.build_table(lines)
    except SpreadsheetError:
        raise
    except Exception:  # as above: malformed sheet XML surfaces while iterating
        raise SpreadsheetError("this .xlsx file is damaged or not a spreadsheet") from None
    finally:
        book.close()


def _text(value: object) -> str:
    """A cell as text; dates as ISO (no day/month ambiguity), whole numbers without .0."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)[: sheets.MAX_CELL]


# Use cases --------------------------------------------------------------------------------


def create(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    user_id: str | None,
    group_id: str,
    filename: str,
    table: Table,
) -> ImportJob:
    """Store an upload's table (state "uploaded") with the guessed column mapping."""
    group = get_group(uow, org_id, group_id)
    if is_vc_api_group(group.id):
        raise Conflict("choose one of your own groups; this one holds VC API credentials")
    now = org_now(load_org(uow, org_id), ctx.clock)
    job = ImportJob(
        id=new_id("imp", ctx.clock.now()),
        organization_id=org_id,
        group_id=group.id,
        created_by=user_id,
        created_at=now,
        filename=(filename or "upload")[:300],
        state=UPLOADED,
        publish=False,
        total=len(table.rows),
        done=0,
        credits_charged=0,
        error=None,
        finished_at=None,
    )
    uow.imports.add(job, Sheet(table, sheets.guess_mapping(table.header)).dumps())
    return job


def get(uow: UnitOfWork, org_id: str, job_id: str) -> ImportJob:
    job = uow.imports.get(org_id, job_id)
    if job is None:
        raise NotFound(f"no import {job_id}")
    return job


def sheet(uow: UnitOfWork, job: ImportJob) -> Sheet:
    text = uow.imports.rows(job.organization_id, job.id)
    if text is None:
        raise NotFound(f"no import {job.id}")
    return Sheet.loads(text)


def recent(uow: UnitOfWork, org_id: str, limit: int = 20) -> list[Listed]:
    jobs = uow.imports.recent(org_id, limit)
    heads = uow.imports.heads(org_id, [j.id for j in jobs], HEAD) if jobs else {}
    return [Listed(j, j.total + skipped_in(heads.get(j.id, ""))) for j in jobs]


def validate(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org_id: str,
    job_id: str,
    mapping: dict[str, int | None],
    *,
    day_first: bool,
    skip_invalid: bool = False,
) -> tuple[ImportJob, Sheet]:
    """Check every row with this mapping. All valid (or bad rows left out on request, and
    some rows remain): "ready". Otherwise "invalid", with every error kept for the report.
    Nothing but the job row is written either way."""
    job = get(uow, org_id, job_id)
    if job.state not in (UPLOADED, INVALID, READY):
        raise Conflict("this import has been published already; upload the file again")
    current = sheet(uow, job)
    table = current.table
    _check_mapping(mapping, len(table.header))
    today = org_now(load_org(uow, org_id), ctx.clock).date()
    rows, errors = check_rows(table, mapping, day_first=day_first, today=today)
    bad = len({e.row for e in errors})
    keep: tuple[Row, ...]
    if errors and not (skip_invalid and rows):
        state, keep = INVALID, ()
    else:
        state, keep = READY, tuple(rows)
    new = Sheet(table, mapping, day_first, tuple(errors), keep, bad if keep else 0)
    total = len(keep) if state == READY else len(table.rows)
    job = replace(job, state=state, total=total)
    uow.imports.save(job, new.dumps())
    return job, new


def _check_mapping(mapping: dict[str, int | None], width: int) -> None:
    problems = []
    for fld in sheets.FIELDS:
        col = mapping.get(fld)
        if col is None:
            if fld in sheets.REQUIRED:
                problems.append({"field": fld, "message": "choose the column that holds it"})
        elif not 0 <= col < width:
            problems.append({"field": fld, "message": "no such column"})
    chosen = [c for c in mapping.values() if c is not None]
    if len(chosen) != len(set(chosen)):
        problems.append({"field": "mapping", "message": "a column can hold only one field"})
    if problems:
        raise InvalidInput("the column mapping is incomplete", problems)


def check_rows(
    table: Table, mapping: dict[str, int | None], *, day_first: bool, today: date
) -> tuple[list[Row], list[RowError]]:
    """Every row checked: the name and dates by the domain rules, the e-mail by the same
    function as the API (recipient_key)."""

    def cell(cells: list[str], fld: str) -> str:
        col = mapping.get(fld)
        return cells[col] if col is not None and col < len(cells) else ""

    rows: list[Row] = []
    errors: list[RowError] = []
    for number, cells in table.rows:
        checked = sheets.check_row(
            number,
            cell(cells, "name"),
            cell(cells, "issued_on"),
            cell(cells, "expires_on"),
            day_first=day_first,
            today=today,
        )
        row_errors = list(checked.errors)
        email = cell(cells, "email")
        try:
            email = recipient_key(email)[0]
        except MalformedEmail as exc:
            shown = f"{email[:60]!r}: " if email.strip() else ""
            message = str(exc) if email.strip() else "the e-mail address is missing"
            row_errors.insert(1, RowError(number, "email", f"{shown}{message}"))
        if row_errors:
            errors.extend(row_errors)
        else:
            rows.append(Row(number, checked.name, email, checked.issued_on, checked.expires_on))
    return rows, errors


def preview(uow: UnitOfWork, ctx: ServiceContext, job: ImportJob) -> Preview:
    """R12: what publishing every row would charge now; the API's dry run over the whole
    file in one call (call in a writing unit of work: it takes the organization lock)."""
    if job.state != READY:
        raise Conflict("the rows are not validated yet")
    items = [r.item() for r in sheet(uow, job).rows]
    result = issuing.issue(
        uow, ctx, job.organization_id, job.group_id, items, publish=True, dry_run=True
    )
    assert isinstance(result, Preview)
    return result


def start(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, job_id: str, *, publish: bool
) -> ImportJob:
    """ready -> running. Publishing the file must be affordable as a whole (R11: all or
    nothing, as one bulk would be); drafts are free (R9)."""
    lock_org(uow, org_id)
    job = get(uow, org_id, job_id)
    if job.state != READY:
        raise Conflict(f"this import is {job.state}; it cannot be started")
    if publish:
        p = preview(uow, ctx, job)
        if not p.sufficient:
            over = [d for d in p.departments if not d.sufficient]
            if over and p.credits_required <= p.credits_remaining:  # the cap binds (R17)
                d = over[0]
                raise DepartmentCapReached(
                    f"publishing this file needs {d.required} seat(s) of the department "
                    f"{d.name!r} and {d.remaining or 0} remain under its cap",
                    credits_required=d.required,
                    credits_remaining=d.remaining or 0,
                    department_id=d.id,
                    department_name=d.name,
                    credit_cap=d.cap,
                )
            if p.credits_required <= p.credits_remaining:  # affordable, so not active (R15)
                raise NoActiveSubscription(
                    "the organization has no active subscription",
                    credits_required=0,
                    credits_remaining=0,
                )
            short = p.credits_required - p.credits_remaining
            raise InsufficientCredits(
                f"publishing this file needs {p.credits_required} credit(s) and "
                f"{p.credits_remaining} remain this billing year: {short} short",
                credits_required=p.credits_required,
                credits_remaining=p.credits_remaining,
            )
    job = replace(job, state=RUNNING, publish=publish, done=0, credits_charged=0, error=None)
    uow.imports.save(job)
    after = {"group_id": job.group_id, "filename": job.filename, "rows": job.total}
    after["publish"] = publish
    audit_log.one(uow, ctx.clock.now(), org_id, "import.started", "import", job_id, None, after)
    # Published by a worker, chunk by chunk; written here so a start is never lost.
    jobs.enqueue(
        uow,
        jobs.IMPORT,
        ctx.clock.now(),
        organization_id=org_id,
        subject_id=job_id,
        singleton=f"{jobs.IMPORT}:{job_id}",
    )
    return job


def _starter(uow: UnitOfWork, job: ImportJob) -> Actor:
    user = uow.accounts.user(job.created_by) if job.created_by else None
    if user is None:
        return SYSTEM
    return Actor(ActorKind.MEMBER, user.id, user.email)


def run_chunk(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, job_id: str, rows: Sequence[Row]
) -> ImportJob:
    """Issue the next chunk of a running job and count it, in the caller's transaction.
    `done` is read under the organization lock, so concurrent or resumed runners never
    issue a row twice."""
    org = lock_org(uow, org_id)
    job = get(uow, org_id, job_id)
    if job.state != RUNNING:
        return job
    chunk = rows[job.done : job.done + CHUNK]
    charged = 0
    if chunk:
        # Written by a worker, in the name of whoever started the import.
        with audit_log.acting(_starter(uow, job)):
            result = issuing.issue(
                uow,
                ctx,
                org_id,
                job.group_id,
                [r.item() for r in chunk],
                publish=job.publish,
                dry_run=False,
            )
        assert isinstance(result, Issued)
        charged = result.credits_charged
    done = job.done + len(chunk)
    finished = done >= len(rows)
    job = replace(
        job,
        done=done,
        credits_charged=job.credits_charged + charged,
        state=DONE if finished else RUNNING,
        finished_at=org_now(org, ctx.clock) if finished else None,
    )
    uow.imports.save(job)
    if finished:
        _completed(uow, ctx, job)
    return job


def _completed(uow: UnitOfWork, ctx: ServiceContext, job: ImportJob) -> None:
    """The `import.completed` webhook event, done or stopped (see `state`)."""
    data = {
        "import": {
            "id": job.id,
            "group_id": job.group_id,
            "filename": job.filename,
            "state": job.state,
            "publish": job.publish,
            "rows": job.total,
            "done": job.done,
            "credits_charged": job.credits_charged,
            "error": job.error,
            "created_at": webhook_events.rfc3339(job.created_at),
            "finished_at": webhook_events.rfc3339(job.finished_at) if job.finished_at else None,
        }
    }
    now = ctx.clock.now()
    webhook_events.emit(
        uow, [webhook_events.Event(job.organization_id, "import.completed", data)], now
    )


def step(
    uow_factory: UnitOfWorkFactory,
    ctx: ServiceContext,
    org_id: str,
    job_id: str,
    rows: Sequence[Row] | None = None,
) -> ImportJob:
    """Publish the next chunk of a running job in a transaction of its own (the job's
    worker calls this until the job is no longer running). A refusal (credits, an archived
    group) stops the job, stored with how far it got and why; other errors are raised for
    the worker to try again. `rows` may be passed to save reading them again."""
    if rows is None:
        with uow_factory(write=False) as uow:
            job = get(uow, org_id, job_id)
            if job.state != RUNNING:
                return job
            rows = sheet(uow, job).rows
    try:
        with uow_factory() as uow:
            job = run_chunk(uow, ctx, org_id, job_id, rows)
            uow.commit()
    except DomainError as exc:
        # Kept for people (the import's page, the webhook): a refusal in words, as the
        # dashboard words it elsewhere, not the API's rule-citing detail.
        return fail(uow_factory, ctx, org_id, job_id, credit_reports.explain(exc))
    return job


def rows_of(uow_factory: UnitOfWorkFactory, org_id: str, job_id: str) -> Sequence[Row]:
    with uow_factory(write=False) as uow:
        return sheet(uow, get(uow, org_id, job_id)).rows


def run(
    uow_factory: UnitOfWorkFactory,
    ctx: ServiceContext,
    org_id: str,
    job_id: str,
    *,
    between: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """Run a job to its end in this thread, one committed chunk at a time (benchmarks,
    tests; workers take one step per claim). `between` is called after each chunk."""
    rows = rows_of(uow_factory, org_id, job_id)
    job = step(uow_factory, ctx, org_id, job_id, rows)
    while job.state == RUNNING:
        if between is not None:
            between(job)
        job = step(uow_factory, ctx, org_id, job_id, rows)
    return job


def fail(
    uow_factory: UnitOfWorkFactory, ctx: ServiceContext, org_id: str, job_id: str, why: str
) -> ImportJob:
    with uow_factory() as uow:
        org = lock_org(uow, org_id)
        job = get(uow, org_id, job_id)
        if job.state == RUNNING:
            job = replace(
                job,
                state=FAILED,
                error=f"stopped after {job.done:,} of {job.total:,} rows: {why}",
                finished_at=org_now(org, ctx.clock),
            )
            uow.imports.save(job)
            _completed(uow, ctx, job)
            uow.commit()
        return job


# Reports ----------------------------------------------------------------------------------


def _safe(text: str) -> str:
    """A CSV cell that spreadsheet programs will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def error_report(s: Sheet) -> Iterator[str]:
    """The errors as CSV lines: row (as numbered in the spreadsheet), field, column, problem."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["row", "field", "column", "problem"])
    yield out.getvalue()
    for e in s.errors:
        out.seek(0)
        out.truncate()
        col = s.mapping.get(e.field)
        column = s.table.header[col] if col is not None and col < len(s.table.header) else ""
        w.writerow([e.row, sheets.LABELS.get(e.field, e.field), _safe(column), _safe(e.message)])
        yield out.getvalue()


def summary(s: Sheet) -> dict[str, Any]:
    """Counts for the pages: rows with errors and errors per field."""
    per_field: dict[str, int] = {}
    for e in s.errors:
        per_field[e.field] = per_field.get(e.field, 0) + 1
    return {"bad_rows": len({e.row for e in s.errors}), "per_field": per_field}
