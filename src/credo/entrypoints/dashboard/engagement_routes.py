"""Engagement: what recipients did with the organization's credentials over a period.

- GET /app/engagement: a form (period from/to, group, day/week/month), then the totals in
  words with their share of the credentials issued, the funnel as bars, views and issued
  per period as a chart and the same numbers as a table.
- GET /app/engagement.csv: the table as CSV, one row per period and a total row.
Readable by every member (Permission.VIEW); always the signed-in member's organization.
Bad input shows the form again with its message (422); the CSV answers 422 as the API does.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response

from credo.bootstrap import App
from credo.domain import engagement as e
from credo.domain.accounts import Permission
from credo.domain.entities import GroupSummary
from credo.domain.errors import InvalidInput, NotFound
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.render import HEADERS, page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.entrypoints.web.templates import counted, short_date
from credo.services.billing.credit_reports import share_label
from credo.services.engagement import reports
from credo.services.engagement.ports import Scope
from credo.services.people.accounts import Member
from credo.services.ports import UnitOfWork
from credo.services.tenancy import organizations

router = APIRouter(include_in_schema=False)

DEFAULT_DAYS, EARLIEST, LATEST = reports.DEFAULT_DAYS, reports.EARLIEST, reports.LATEST
MAX_FIELD = 100  # longer values are cut before they are read or shown back

# Each figure of e.FIGURES as the table and the chart name it.
LABELS = {
    "issued": "Issued",
    "delivered": "E-mails delivered",
    "views": "Views",
    "unique_viewers": "Unique viewers",
    "downloads": "Downloads",
    "shares": "Shares",
    "linkedin_adds": "Added to LinkedIn",
    "verifications": "Verifications",
    "emails_failed": "E-mails failed",
    "emails_bounced": "E-mails bounced",
    "email_opens": "E-mails opened",
}
GRANULARITIES = {
    e.Granularity.DAY: "Day",
    e.Granularity.WEEK: "Week (from Monday)",
    e.Granularity.MONTH: "Month",
}

Text = Annotated[str | None, Query()]
Since = Annotated[str | None, Query(alias="from")]
Until = Annotated[str | None, Query(alias="to")]


# --- Reading the form ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asked:
    """The form as sent and as shown back, and what it asks for when it is valid."""

    form: dict[str, str]
    errors: dict[str, str]
    scope: Scope | None
    granularity: e.Granularity

    def query(self) -> str:
        """The query string of this form (for the CSV link)."""
        return urlencode({k: v for k, v in self.form.items() if v})


def _clean(value: str | None) -> str:
    return (value or "")[:MAX_FIELD].replace("\x00", "").strip()


def _date(raw: str, name: str, errors: dict[str, str]) -> date | None:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = "must be a date like 2026-02-01"
        return None
    if not EARLIEST <= day <= LATEST:
        errors[name] = f"must be between {short_date(EARLIEST)} and {short_date(LATEST)}"
        return None
    return day


def ask(
    org_id: str,
    today: date,
    groups: list[GroupSummary],
    since: str | None,
    until: str | None,
    group: str | None,
    granularity: str | None,
) -> Asked:
    """Read the form's fields (empty meaning the default: the last 30 days up to `today`,
    every group, a point a day), naming each bad field in words."""
    raw = {
        "from": _clean(since),
        "to": _clean(until),
        "group": _clean(group),
        "granularity": _clean(granularity).lower(),
    }
    errors: dict[str, str] = {}
    first = _date(raw["from"], "from", errors) if raw["from"] else None
    last = _date(raw["to"], "to", errors) if raw["to"] else None
    if not raw["to"]:
        last = today if first is None or first <= today else first
    if not raw["from"] and last is not None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    if first is not None and last is not None and last < first:
        errors["to"] = "must not be before the start date"
    group_id = None if raw["group"] in ("", "all") else raw["group"]
    if group_id is not None and group_id not in {g.group.id for g in groups}:
        errors["group"] = "is not one of this organization's groups"
    gran = e.Granularity.DAY
    if raw["granularity"]:
        try:
            gran = e.Granularity(raw["granularity"])
        except ValueError:
            errors["granularity"] = "must be day, week or month"
    if first is not None and last is not None and "to" not in errors:
        too_many = _too_many(first, last, gran)
        if too_many:
            errors.setdefault("granularity", too_many)
    form = {
        "from": first.isoformat() if first is not None and "from" not in errors else raw["from"],
        "to": last.isoformat() if last is not None and "to" not in errors else raw["to"],
        "group": (group_id or "") if "group" not in errors else raw["group"],
        "granularity": gran.value if "granularity" not in errors else raw["granularity"],
    }
    scope = None
    if not errors and first is not None and last is not None:
        scope = Scope(org_id, first, last, group_id=group_id)
    return Asked(form, errors, scope, gran)


def _too_many(first: date, last: date, granularity: e.Granularity) -> str | None:
    """Why the period holds too many points for one report, in words, or None."""
    days = (last - first).days
    per = {e.Granularity.DAY: 1, e.Granularity.WEEK: 7, e.Granularity.MONTH: 28}[granularity]
    if days // per <= reports.MAX_PERIODS + 2:  # close enough to count them
        try:
            reports.check_period(first, last, granularity)
        except InvalidInput:
            pass
        else:
            return None
    unit = counted(reports.MAX_PERIODS, granularity.value)
    return f"the period holds more than {unit}: choose a shorter period, or weeks or months"


def _groups(uow: UnitOfWork, org_id: str) -> list[GroupSummary]:
    search = uow.credential_search
    return search.groups(org_id, archived=False) + search.groups(org_id, archived=True)


def _read(
    app: App,
    member: Member,
    since: str | None,
    until: str | None,
    group: str | None,
    gran: str | None,
) -> tuple[Asked, list[GroupSummary], reports.Report | None]:
    org_id = member.organization.id

    def read(uow: UnitOfWork) -> tuple[Asked, list[GroupSummary], reports.Report | None]:
        groups = _groups(uow, org_id)
        asked = ask(
            org_id, reports.today(uow, org_id, app.clock), groups, since, until, group, gran
        )
        if asked.scope is None:
            return asked, groups, None
        try:
            return asked, groups, reports.report(uow, asked.scope, asked.granularity)
        except InvalidInput as exc:  # the period, should the checks above have let it by
            errors = {x["field"]: x["message"] for x in exc.errors} or {"to": exc.detail}
            return Asked(asked.form, errors, None, asked.granularity), groups, None
        except NotFound:  # the group was deleted meanwhile
            errors = {"group": "is not one of this organization's groups"}
            return Asked(asked.form, errors, None, asked.granularity), groups, None

    return app.runner.read(read)


# --- What the page shows ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Total:
    """One total in words; `reach`: how many of the period's credentials got this far."""

    key: str
    label: str
    words: str
    reach: str | None = None


def _reached(n: int, issued: int, verb: str) -> str | None:
    if issued <= 0:
        return None
    return f"{n:,} of the {counted(issued, 'credential')} issued {verb} ({share_label(n, issued)})"


def totals(report: reports.Report) -> list[Total]:
    t, r = report.totals, report.reach
    return [
        Total("issued", "Issued", counted(t.issued, "credential") + " issued"),
        Total(
            "delivered",
            "E-mails delivered",
            counted(t.delivered, "e-mail") + " delivered",
            _reached(r.delivered, r.issued, "had their e-mail delivered"),
        ),
        Total("views", "Views", counted(t.views, "view"), _reached(r.viewed, r.issued, "viewed")),
        Total(
            "unique_viewers",
            "Unique viewers",
            counted(t.unique_viewers, "unique viewer") + ", each counted once a day",
        ),
        Total(
            "downloads",
            "Downloads",
            counted(t.downloads, "download"),
            _reached(r.downloaded, r.issued, "downloaded"),
        ),
        Total(
            "shares", "Shares", counted(t.shares, "share"), _reached(r.shared, r.issued, "shared")
        ),
        Total(
            "linkedin_adds",
            "Added to LinkedIn",
            counted(t.linkedin_adds, "add to a LinkedIn profile", "adds to a LinkedIn profile"),
            _reached(r.added_to_linkedin, r.issued, "added to LinkedIn"),
        ),
        Total("verifications", "Verifications", counted(t.verifications, "verification")),
        Total(
            "emails_failed",
            "E-mails not delivered",
            f"{counted(t.emails_failed, 'e-mail')} failed, {t.emails_bounced:,} bounced",
        ),
        Total("email_opens", "E-mails opened", counted(t.email_opens, "e-mail open")),
    ]


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    credentials: int
    words: str
    share: str  # of the issued ones, or a dash when none were issued
    width: float  # of the bar, 0-100


def funnel(reach: e.Reach) -> list[Step]:
    out = []
    for label, n, rate in reach.steps():
        width = 0.0 if rate is None else min(100.0, rate * 100)
        if n > 0:
            width = max(width, 0.5)  # a nonzero count never draws as nothing
        share = "\u2013" if rate is None else share_label(n, reach.issued)
        out.append(Step(label, n, counted(n, "credential"), share, width))
    return out


def period_label(start: date, granularity: e.Granularity) -> str:
    if granularity is e.Granularity.MONTH:
        return f"{start:%B %Y}"
    if granularity is e.Granularity.WEEK:
        return f"Week of {short_date(start)}"
    return short_date(start)


@dataclass(frozen=True, slots=True)
class Row:
    start: date
    label: str
    values: tuple[int, ...]  # in the order of e.FIGURES


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    row: Row


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    row: Row


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True, slots=True)
class Chart:
    """Geometry of the chart, in SVG user units: a bar per period (views), a line through
    the credentials issued in each period."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bars: tuple[Bar, ...]
    points: tuple[Point, ...]
    ticks: tuple[Tick, ...]
    labels: tuple[tuple[float, str], ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def _nice(value: int) -> int:
    """The smallest of 1, 2, 5 times a power of ten at least `value`."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


MAX_LABELS = 8


def chart(rows: list[Row], granularity: e.Granularity) -> Chart:
    width, height, left, right, top, bottom = 640, 260, 48, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    views, issued = e.FIGURES.index("views"), e.FIGURES.index("issued")
    ymax = _nice(max([1, *(r.values[views] for r in rows), *(r.values[issued] for r in rows)]))

    def y(v: int) -> float:
        return top + plot_h - v * plot_h / ymax

    slot = plot_w / max(len(rows), 1)
    every = max(1, math.ceil(len(rows) / MAX_LABELS))
    bars, points, labels = [], [], []
    for i, row in enumerate(rows):
        center = left + slot * (i + 0.5)
        v = row.values[views]
        bars.append(Bar(left + slot * (i + 0.15), y(v), slot * 0.7, y(0) - y(v), row))
        points.append(Point(center, y(row.values[issued]), row))
        if i % every == 0:
            short = f"{row.start:%b %Y}" if granularity is e.Granularity.MONTH else None
            labels.append((center, short or f"{row.start.day} {row.start:%b}"))
    ticks = tuple(Tick(y(v), v) for v in sorted({0, ymax // 2, ymax}))
    return Chart(
        width, height, left, right, top, bottom, tuple(bars), tuple(points), ticks, tuple(labels)
    )


def rows(report: reports.Report) -> list[Row]:
    return [
        Row(start, period_label(start, report.granularity), tuple(f.as_dict().values()))
        for start, f in report.series
    ]


# --- The routes ---------------------------------------------------------------------------


@router.get("/app/engagement")
def engagement_page(
    request: Request,
    member: MemberDep,
    app: AppDep,
    since: Since = None,
    until: Until = None,
    group: Text = None,
    granularity: Text = None,
) -> Response:
    member.require(Permission.VIEW)
    asked, groups, report = _read(app, member, since, until, group, granularity)
    values: dict[str, object] = {"totals": None, "steps": None, "chart": None, "rows": None}
    if report is not None:
        series = rows(report)
        values = {
            "totals": totals(report),
            "steps": funnel(report.reach),
            "chart": chart(series, report.granularity),
            "rows": series,
            "total_row": tuple(report.totals.as_dict().values()),
        }
    return page(
        request,
        app,
        member,
        "app/engagement.html",
        status=422 if asked.errors else 200,
        form=asked.form,
        errors=asked.errors,
        groups=groups,
        granularities={g.value: label for g, label in GRANULARITIES.items()},
        report=report,
        labels=LABELS,
        figures=e.FIGURES,
        csv_url="/app/engagement.csv?" + asked.query(),
        counting_opens=member.organization.email_open_tracking,
        may_change_opens=member.can(Permission.MEMBERS),
        notice=request.query_params.get("notice"),
        **values,
    )


@router.post("/app/engagement/email-opens")
def email_opens(
    member: MemberDep,
    app: AppDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    on: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Owners turn the counting of e-mail opens on or off (off by default): it puts an
    invisible image, fetched from this server, into each credential e-mail."""
    check_csrf(member, csrf)
    member.require(Permission.MEMBERS)
    org_id, wanted = member.organization.id, on == "true"

    def action(uow: UnitOfWork) -> None:
        organizations.set_email_open_tracking(uow, org_id, wanted, app.clock.now())

    app.runner.write(action)
    return see_other(f"/app/engagement?notice=opens-{'on' if wanted else 'off'}")


CSV_HEADER = ("period_start", *e.FIGURES)


def csv_text(report: reports.Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for start, figures in report.series:
        writer.writerow((start.isoformat(), *figures.as_dict().values()))
    writer.writerow(("total", *report.totals.as_dict().values()))
    return buf.getvalue()


@router.get("/app/engagement.csv")
def engagement_csv(
    member: MemberDep,
    app: AppDep,
    since: Since = None,
    until: Until = None,
    group: Text = None,
    granularity: Text = None,
) -> Response:
    """The page's table as CSV: one row per period, oldest first, then the totals."""
    member.require(Permission.VIEW)
    asked, _, report = _read(app, member, since, until, group, granularity)
    if report is None:
        errors = [{"field": k, "message": v} for k, v in asked.errors.items()]
        detail = "; ".join(f"{k}: {v}" for k, v in asked.errors.items())
        raise InvalidInput(detail or "the period is invalid", errors)
    scope = report.scope
    name = f"engagement-{scope.first.isoformat()}-{scope.last.isoformat()}.csv"
    headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(csv_text(report), media_type="text/csv; charset=utf-8", headers=headers)
