"""Engagement over a period: totals, a series per day, week or month, the funnel, and one
credential's timeline. Issued and e-mail figures come from the credentials and the outbox
themselves; the rest from the recorded counts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from credo.clock import Clock
from credo.domain import engagement as e
from credo.domain.errors import InvalidInput, NotFound
from credo.services.engagement.ports import Scope
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import load_org, org_now

MAX_PERIODS = 1_000  # points in one series
DEFAULT_DAYS = 30  # the period asked for when none is: the last 30 days, today included
FAR = date(9999, 12, 30)


@dataclass
class Report:
    scope: Scope
    granularity: e.Granularity
    totals: e.Figures
    series: list[tuple[date, e.Figures]]
    reach: e.Reach
    group_name: str | None = None
    credential_name: str | None = None


@dataclass
class TimelineDay:
    day: date
    things: list[str] = field(default_factory=list)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def today(uow: UnitOfWork, org_id: str, clock: Clock) -> date:
    """The last day of a default period. Engagement is counted in real time; a sandbox's
    issuing follows its test clock: the later of the two."""
    return max(org_now(load_org(uow, org_id), clock).date(), clock.now().date())


def check_period(first: date, last: date, granularity: e.Granularity) -> None:
    for name, day in (("from", first), ("to", last)):
        if not EARLIEST <= day <= LATEST:
            raise InvalidInput(
                f"'{name}' lies outside the years 1900 to 2999",
                errors=[{"field": name, "message": "must be a date from 1900 to 2999"}],
            )
    if last < first:
        raise InvalidInput(
            "the period ends before it starts",
            errors=[{"field": "to", "message": "must be on or after 'from'"}],
        )
    if len(e.buckets(first, last, granularity)) > MAX_PERIODS:
        raise InvalidInput(
            f"the period holds more than {MAX_PERIODS} {granularity.value}s",
            errors=[{"field": "granularity", "message": "choose a shorter period or week/month"}],
        )


def report(uow: UnitOfWork, scope: Scope, granularity: e.Granularity) -> Report:
    check_period(scope.first, scope.last, granularity)
    names = _names(uow, scope)
    periods = e.buckets(scope.first, scope.last, granularity)
    by_period: dict[date, e.Figures] = {p: e.Figures() for p in periods}

    def at(day: date) -> e.Figures:
        return by_period[e.bucket(day, granularity)]

    issued = uow.engagement.issued(scope)
    for day, _ in issued:
        at(day).issued += 1
    for day, kind, n in uow.engagement.counts(scope):
        at(day).count(kind, n)
    for day, n in uow.engagement.unique_viewers(scope):
        at(day).unique_viewers += n
    since, until = _midnight(scope.first), _midnight(scope.last + timedelta(days=1))
    for ended, _, outcome, error in uow.engagement.e_mails(scope, since, until):
        figures = at(ended.astimezone(UTC).date())
        if outcome == "sent":
            figures.delivered += 1
        elif e.bounced(error):
            figures.emails_bounced += 1
        else:
            figures.emails_failed += 1
    totals = e.Figures()
    for figures in by_period.values():
        for name, value in figures.as_dict().items():
            setattr(totals, name, getattr(totals, name) + value)
    return Report(
        scope,
        granularity,
        totals,
        sorted(by_period.items()),
        _reach(uow, scope, {cred for _, cred in issued}),
        *names,
    )


def _names(uow: UnitOfWork, scope: Scope) -> tuple[str | None, str | None]:
    group_name = cred_name = None
    if scope.group_id is not None:
        group = uow.groups.get(scope.organization_id, scope.group_id)
        if group is None:
            raise NotFound(f"no group {scope.group_id}")
        group_name = group.name
    if scope.credential_id is not None:
        cred = uow.credentials.get(scope.organization_id, scope.credential_id)
        if cred is None:
            raise NotFound(f"no credential {scope.credential_id}")
        cred_name = cred.recipient_name
    return group_name, cred_name


def _reach(uow: UnitOfWork, scope: Scope, cohort: set[str]) -> e.Reach:
    """The funnel of the period's credentials: how many got each far, then or since."""
    after = Scope(scope.organization_id, scope.first, FAR, scope.group_id, scope.credential_id)
    reached = uow.engagement.reached(after)

    def of(*kinds: e.Kind) -> int:
        found: set[str] = set()
        for kind in kinds:
            found |= reached.get(kind, set())
        return len(found & cohort)

    delivered = {
        cred
        for _, cred, outcome, _ in uow.engagement.e_mails(
            after, _midnight(scope.first), _midnight(FAR)
        )
        if outcome == "sent"
    }
    return e.Reach(
        issued=len(cohort),
        delivered=len(delivered & cohort),
        viewed=of(e.Kind.VIEW),
        downloaded=of(*e.DOWNLOADS),
        shared=of(*e.SHARES),
        added_to_linkedin=of(e.Kind.LINKEDIN_ADD),
    )


_WORDS = {
    e.Kind.VIEW: ("page view", "page views"),
    e.Kind.DOWNLOAD_PDF: ("PDF download", "PDF downloads"),
    e.Kind.DOWNLOAD_PNG: ("PNG badge download", "PNG badge downloads"),
    e.Kind.DOWNLOAD_SVG: ("SVG badge download", "SVG badge downloads"),
    e.Kind.DOWNLOAD_JSON: ("signed JSON download", "signed JSON downloads"),
    e.Kind.SHARE_LINKEDIN: ("share on LinkedIn", "shares on LinkedIn"),
    e.Kind.SHARE_X: ("share on X", "shares on X"),
    e.Kind.SHARE_FACEBOOK: ("share on Facebook", "shares on Facebook"),
    e.Kind.SHARE_EMAIL: ("share by e-mail", "shares by e-mail"),
    e.Kind.LINKEDIN_ADD: ("added to a LinkedIn profile", "adds to a LinkedIn profile"),
    e.Kind.VERIFICATION: ("verification in the public verifier", "verifications"),
    e.Kind.EMAIL_OPEN: ("e-mail opened", "e-mail opens"),
}


def words(kind: e.Kind, n: int) -> str:
    one, many = _WORDS[kind]
    return f"1 {one}" if n == 1 else f"{n} {many}"


def timeline(uow: UnitOfWork, org_id: str, cred_id: str) -> list[TimelineDay]:
    """What happened to one credential, day by day, newest first."""
    cred = uow.credentials.get(org_id, cred_id)
    if cred is None:
        raise NotFound(f"no credential {cred_id}")
    scope = Scope(org_id, date(1970, 1, 1), FAR, credential_id=cred_id)
    days: dict[date, list[str]] = defaultdict(list)
    days[cred.issued_on].append("Issued")
    for ended, _, outcome, error in uow.engagement.e_mails(
        scope, _midnight(scope.first), _midnight(FAR)
    ):
        day = ended.astimezone(UTC).date()
        if outcome == "sent":
            days[day].append("E-mail delivered")
        elif e.bounced(error):
            days[day].append("E-mail bounced")
        else:
            days[day].append("E-mail failed")
    viewers = dict(uow.engagement.unique_viewers(scope))
    order = list(e.Kind)
    for day, kind, n in sorted(
        uow.engagement.counts(scope), key=lambda r: (r[0], order.index(r[1]))
    ):
        line = words(kind, n)
        if kind is e.Kind.VIEW and viewers.get(day):
            people = viewers[day]
            line += f" by {people} {'person' if people == 1 else 'people'}"
        days[day].append(line)
    return [TimelineDay(day, things) for day, things in sorted(days.items(), reverse=True)]
