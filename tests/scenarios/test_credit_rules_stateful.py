"""A stateful model test of the credit engine (credits.md R1..R21) through the service layer.

Hypothesis drives one non-sandbox organization per example through issuing (single, bulk,
drafts), publishing, renewals and re-addressing (including case-only e-mail changes),
deletes, clock moves across anniversaries (a 29 February anchor among them), plan raises and
cuts with tiny allowances, cancellations, and departments: tiny caps, cap changes and groups
moving between departments (R16..R21). A small reference model written here predicts
every charge and every refusal; after each step the database is checked against the model
and against the rules' invariants (R4, R5, R11, R14), and the audit must find nothing.

The model is deliberately naive: a recipient holds a seat in year k exactly when one of its
live published credentials has seat year k (R5), so seats are never stored in the model.

Runs are deterministic (`derandomize=True`, no example database), so CI sees the same
examples every time. The backends are the `engine` fixture's: a temporary SQLite file migrated
once per session, and PostgreSQL when reachable (required in CI); each example makes a fresh
organization in it.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select

from credo.adapters.db import tables as t
from credo.bootstrap import App, bootstrap
from credo.clock import FixedClock
from credo.domain.entities import CredentialFilter
from credo.domain.errors import (
    AlreadyPublished,
    DepartmentCapReached,
    DomainError,
    InsufficientCredits,
    InvalidInput,
    NoActiveSubscription,
    NotFound,
)
from credo.services.billing import audit, credits, departments
from credo.services.credentials import groups, issuing
from credo.services.credentials.issuing import Changes, Issued, NewCredential, Preview
from credo.services.ports import UnitOfWork
from credo.services.tenancy import organizations
from credo.settings import Settings
from tests.conftest import ADMIN_TOKEN, MASTER_KEY
from tests.hypothesis_profiles import examples

T = TypeVar("T")

# Five recipients, several spellings of each: seats are shared often (R1, R2, "Recipient key").
EMAILS = (
    "ann@x.org",
    "Ann@X.org",
    " ANN@x.org ",
    "bob@x.org",
    "Bob@X.Org",
    "cy@y.org",
    "dee@y.org",
    "eve@z.org",
)
ANCHORS = (date(2024, 2, 29), date(2024, 2, 29), date(2026, 1, 15), date(2025, 8, 31))
GROUP_EXPIRY_MONTHS = (None, 12)  # group 0 never expires by default, group 1 after a year
# Two departments; a cap of None is no cap. Small caps, so R17 refuses often.
DEPARTMENTS = 2
CAPS = st.one_of(st.none(), st.integers(0, 3))
# Where a group is: a department's index, or None for out of every department.
PLACES = st.one_of(st.none(), st.integers(0, DEPARTMENTS - 1))
KEEP = "keep"  # an edit that leaves expires_on alone
# Which credential an edit picks: any live one, a published one, one seated in an earlier year.
AMONG = st.sampled_from(["any", "published", "earlier year"])

# A plan and its custom allowance: small, so the hard limit (R11) is hit often.
# launch-250 is drawn rarely: once raised to 250 an organization seldom meets its limit again.
PLAN_CHANGES = st.tuples(
    st.sampled_from(["connect", "growth", "enterprise"] * 2 + ["launch-250"]), st.integers(1, 6)
).map(lambda pc: (pc[0], None if pc[0] == "launch-250" else pc[1]))
# None: default dates; else (days before today issued, days after issue it expires or None).
DATE_SPEC = st.one_of(
    st.none(), st.tuples(st.integers(0, 400), st.one_of(st.none(), st.integers(-1, 800)))
)


# ---- the reference model ---------------------------------------------------------------


def key_of(email: str) -> str:
    """Recipient key of an ASCII address: trimmed and lower-cased."""
    return email.strip().lower()


def anniversary_at(anchor: date, k: int) -> datetime:
    """Start of billing year k: 29 February falls on 28 February in common years."""
    year = anchor.year + k
    day = min(anchor.day, calendar.monthrange(year, anchor.month)[1])
    return datetime(year, anchor.month, day, tzinfo=UTC)


def year_index(anchor: date, now: datetime) -> int:
    k = 0
    while anniversary_at(anchor, k + 1) <= now:
        k += 1
    return k


def plus_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


@dataclass
class ModelCredential:
    id: str
    group: int
    name: str
    email: str
    key: str
    published: bool
    issued_on: date
    expires_on: date | None
    seat_year: int | None


@dataclass(frozen=True)
class Prediction:
    cost: int
    new_keys: list[str]
    error: type[DomainError] | None
    needs_seat: bool  # any seat-needing event at all (R3)


# ---- the machine ------------------------------------------------------------------------


class CreditMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine, database_url: str) -> None:
        super().__init__()
        self.engine = engine
        self.clock = FixedClock(datetime(2020, 1, 1, tzinfo=UTC))
        self.app: App = bootstrap(
            Settings(
                environment="test",
                database_url=database_url,
                admin_token=ADMIN_TOKEN,
                master_key=MASTER_KEY,
            ),
            clock=self.clock,
            engine=engine,
        )
        self.org = ""
        self.group_ids: list[str] = []
        self.dept_ids: list[str] = []
        self.caps: list[int | None] = [None] * DEPARTMENTS
        self.place: list[int | None] = [None] * len(GROUP_EXPIRY_MONTHS)  # group -> department
        self.dept_used: Counter[tuple[int, int]] = Counter()  # (department, year) -> seats
        # model state
        self.anchor = date(2024, 2, 29)
        self.now = self.clock.now()
        self.year = 0
        self.allowance = 0
        self.pending_cut: int | None = None  # applies from the next anniversary (R10)
        self.ends_at: datetime | None = None
        self.used: Counter[int] = Counter()
        self.creds: dict[str, ModelCredential] = {}
        self.order: list[str] = []  # creation order, live or not
        self.deleted: list[str] = []
        # R4, R16: (billing year, reason, recipient key, credential, time, department id) of
        # every charge, in order
        self.ledger: list[tuple[int, str, str, str, datetime, str | None]] = []

    # -- helpers --

    @property
    def active(self) -> bool:
        return self.ends_at is None or self.now < self.ends_at

    @property
    def remaining(self) -> int:
        """R15: nothing may be spent without an active subscription."""
        return self.allowance - self.used[self.year] if self.active else 0

    def seated(self, year: int) -> set[str]:
        """R5: the keys holding a seat in `year`."""
        return {c.key for c in self.creds.values() if c.published and c.seat_year == year}

    def predict(self, keys: list[str], group: int) -> Prediction:
        """R1, R4, R11, R15, R17: what seat-needing events for `keys` (in order) from
        `group` cost now."""
        held = self.seated(self.year)
        new: list[str] = []
        for k in keys:
            if k not in held and k not in new:
                new.append(k)
        error: type[DomainError] | None = None
        if keys and not self.active:
            error = NoActiveSubscription
        elif len(new) > self.remaining:
            error = InsufficientCredits
        elif len(new) > self.dept_remaining(group):
            error = DepartmentCapReached
        return Prediction(len(new), new, error, bool(keys))

    def dept_remaining(self, group: int) -> int | float:
        """R17: what the group's department may still take this year (no cap: no limit)."""
        dept = self.place[group]
        if dept is None or self.caps[dept] is None:
            return float("inf")
        cap = self.caps[dept]
        assert cap is not None
        return max(0, cap - self.dept_used[(dept, self.year)])

    def charged(self, group: int, reason: str, key: str, cid: str) -> None:
        """R4, R16: one charge, to the group's department as it is now."""
        dept = self.place[group]
        dept_id = None if dept is None else self.dept_ids[dept]
        self.ledger.append((self.year, reason, key, cid, self.now, dept_id))
        if dept is not None:
            self.dept_used[(dept, self.year)] += 1

    def live_ids(self) -> list[str]:
        return [i for i in self.order if i in self.creds]

    def pick(self, ids: list[str], n: int) -> str:
        return ids[n % len(ids)]

    def choose(self, among: str, n: int) -> str:
        """A live credential: any, a published one, or one seated in an earlier year."""
        ids = self.live_ids()
        if among == "published":
            ids = self.published() or ids
        elif among == "earlier year":
            ids = self.earlier() or ids
        return self.pick(ids, n)

    def earlier(self) -> list[str]:
        """Published credentials whose seat year is not the current year."""
        return [i for i in self.published() if self.creds[i].seat_year != self.year]

    def drafts(self) -> list[str]:
        return [i for i in self.live_ids() if not self.creds[i].published]

    def published(self) -> list[str]:
        return [i for i in self.live_ids() if self.creds[i].published]

    def write(self, action: Callable[[UnitOfWork], T]) -> tuple[T | None, DomainError | None]:
        try:
            return self.app.runner.write(action), None
        except DomainError as exc:
            return None, exc

    def snapshot(self) -> list[list[tuple[Any, ...]]]:
        """Every stored row of the organization that the credit engine may touch."""
        out = []
        with self.engine.connect().execution_options(credo_write=False) as conn:
            for table in (t.credentials, t.seats, t.ledger_entries, t.credit_usage):
                rows = conn.execute(select(table).where(table.c.organization_id == self.org))
                out.append(sorted((tuple(r) for r in rows), key=repr))
            rows = conn.execute(
                select(t.subscriptions).where(t.subscriptions.c.organization_id == self.org)
            )
            out.append([tuple(r) for r in rows])
        return out

    def expect_refusal(
        self,
        exc: DomainError | None,
        expected: type[DomainError],
        before: list[list[tuple[Any, ...]]],
        p: Prediction | None = None,
        what: str = "",
    ) -> None:
        assert exc is not None, f"expected {expected.__name__}, the call succeeded"
        assert type(exc) is expected, f"expected {expected.__name__}, got {exc!r}"
        if p is not None and isinstance(exc, InsufficientCredits):
            assert exc.credits_required == p.cost
            if expected is InsufficientCredits:
                assert exc.credits_remaining == self.remaining
            if isinstance(exc, DepartmentCapReached):
                assert exc.department_id in self.dept_ids
        assert self.snapshot() == before, "a refused call changed something (R11)"
        event(f"refused: {what} {expected.__name__}")

    def dry_run(
        self, action: Callable[[UnitOfWork], Issued | Preview], p: Prediction, invalid: bool
    ) -> Preview | None:
        """R12: the preview names exactly the credits the real call would take, and changes
        nothing."""
        before = self.snapshot()
        preview, exc = self.write(action)
        assert self.snapshot() == before, "a dry run changed something (R12)"
        if invalid:
            assert type(exc) is InvalidInput, exc
            return None
        assert exc is None, exc
        assert isinstance(preview, Preview)
        assert preview.credits_required == p.cost, (preview, p)
        assert preview.sufficient == (p.error is None), (preview, p, self.active)
        assert preview.credits_remaining == self.remaining, (preview, p)
        return preview

    def advance(self, to: datetime) -> None:
        assert to > self.now
        self.now = to
        self.clock.set(to)
        year = year_index(self.anchor, to)
        if year != self.year:
            event(f"clock: crossed an anniversary (anchor {self.anchor})")
            if self.pending_cut is not None:
                self.allowance, self.pending_cut = self.pending_cut, None
            self.year = year

    # -- setup --

    @initialize(
        anchor=st.sampled_from(ANCHORS),
        plan=PLAN_CHANGES,
        start_hours=st.integers(0, 24 * 40),
        caps=st.lists(CAPS, min_size=DEPARTMENTS, max_size=DEPARTMENTS),
        places=st.lists(PLACES, min_size=2, max_size=2),
    )
    def create_organization(
        self,
        anchor: date,
        plan: tuple[str, int | None],
        start_hours: int,
        caps: list[int | None],
        places: list[int | None],
    ) -> None:
        self.anchor = anchor
        self.now = datetime.combine(anchor, time(0), tzinfo=UTC) + timedelta(hours=start_hours)
        self.clock.set(self.now)
        self.year = year_index(anchor, self.now)
        name, allowance = plan
        self.allowance = 250 if allowance is None else allowance

        self.caps, self.place = list(caps), list(places)

        def setup(uow: UnitOfWork) -> tuple[str, list[str], list[str]]:
            new = organizations.create_organization(
                uow,
                self.clock,
                name="Stateful",
                plan=name,
                credits=allowance,
                sandbox=False,
                anchor=anchor,
            )
            org_id = new.organization.id
            dept_ids = [
                departments.create(
                    uow, self.clock, org_id, name=f"D{i}", credit_cap=cap, actor="test"
                ).id
                for i, cap in enumerate(caps)
            ]
            ids = [
                groups.create_group(
                    uow,
                    self.clock,
                    new.organization.id,
                    name=f"G{i}",
                    description=None,
                    expires_after_months=months,
                    department_id=None if place is None else dept_ids[place],
                ).id
                for i, (months, place) in enumerate(zip(GROUP_EXPIRY_MONTHS, places, strict=True))
            ]
            return org_id, ids, dept_ids

        self.org, self.group_ids, self.dept_ids = self.app.runner.write(setup)

    # -- departments --

    @rule(dept=st.integers(0, DEPARTMENTS - 1), cap=CAPS)
    def change_cap(self, dept: int, cap: int | None) -> None:
        """R18: at once; lowering below what was taken takes nothing back."""
        _, exc = self.write(
            lambda uow: departments.update(
                uow, self.clock, self.org, self.dept_ids[dept], {"credit_cap": cap}, actor="t"
            )
        )
        assert exc is None, exc
        taken = self.dept_used[(dept, self.year)]
        if cap is not None and cap < taken:
            event("cap: lowered below what the department took")
        self.caps[dept] = cap

    @rule(group=st.integers(0, len(GROUP_EXPIRY_MONTHS) - 1), to=PLACES)
    def move_group(self, group: int, to: int | None) -> None:
        """R20: nothing charged changes; later seats go to the new department."""
        dept_id = None if to is None else self.dept_ids[to]
        _, exc = self.write(
            lambda uow: groups.update_group(
                uow, self.org, self.group_ids[group], {"department_id": dept_id}, self.clock.now()
            )
        )
        assert exc is None, exc
        self.place[group] = to

    # -- issuing --

    @rule(
        group=st.integers(0, len(GROUP_EXPIRY_MONTHS) - 1),
        item=st.tuples(st.sampled_from(EMAILS), DATE_SPEC),
        publish=st.booleans(),
        dry_first=st.booleans(),
    )
    def issue_one(
        self,
        group: int,
        item: tuple[str, tuple[int, int | None] | None],
        publish: bool,
        dry_first: bool,
    ) -> None:
        self.issue(group, [item], publish, dry_first)

    @rule(
        group=st.integers(0, len(GROUP_EXPIRY_MONTHS) - 1),
        items=st.lists(st.tuples(st.sampled_from(EMAILS), DATE_SPEC), min_size=2, max_size=5),
        publish=st.booleans(),
        dry_first=st.booleans(),
    )
    def issue_bulk(
        self,
        group: int,
        items: list[tuple[str, tuple[int, int | None] | None]],
        publish: bool,
        dry_first: bool,
    ) -> None:
        self.issue(group, items, publish, dry_first)

    def issue(
        self,
        group: int,
        items: list[tuple[str, tuple[int, int | None] | None]],
        publish: bool,
        dry_first: bool,
    ) -> None:
        today = self.now.date()
        news: list[NewCredential] = []
        expected: list[tuple[str, str, date, date | None]] = []
        invalid = False
        for email, spec in items:
            if spec is None:
                months = GROUP_EXPIRY_MONTHS[group]
                issued, expires = today, plus_months(today, months) if months else None
                news.append(NewCredential("R", email))
            else:
                back, after = spec
                issued = today - timedelta(days=back)
                expires = None if after is None else issued + timedelta(days=after)
                invalid = invalid or (expires is not None and expires < issued)
                news.append(NewCredential("R", email, issued, expires, expires_given=True))
            expected.append((email.strip(), key_of(email), issued, expires))
        keys = [k for _, k, _, _ in expected]
        p = self.predict(keys if publish else [], group)
        gid = self.group_ids[group]

        def run(dry: bool) -> Callable[[UnitOfWork], Issued | Preview]:
            return lambda uow: issuing.issue(
                uow, self.app.ctx, self.org, gid, news, publish=publish, dry_run=dry
            )

        preview = self.dry_run(run(True), p, invalid) if dry_first else None
        if preview is not None:
            assert preview.count == len(news)
        before = self.snapshot()
        result, exc = self.write(run(False))
        if invalid:
            self.expect_refusal(exc, InvalidInput, before, what="issue")
            return
        if p.error is not None:
            self.expect_refusal(exc, p.error, before, p, "issue")
            return
        assert exc is None, exc
        assert isinstance(result, Issued)
        assert result.credits_charged == p.cost
        if preview is not None:
            assert result.credits_charged == preview.credits_required
        assert len(result.credentials) == len(news)
        seat_year = self.year if publish else None
        for cred, (email, key, issued, expires) in zip(result.credentials, expected, strict=True):
            assert (cred.recipient_email, cred.recipient_key) == (email, key)
            assert (cred.issued_on, cred.expires_on, cred.seat_year) == (issued, expires, seat_year)
            self.creds[cred.id] = ModelCredential(
                cred.id, group, "R", email, key, publish, issued, expires, seat_year
            )
            self.order.append(cred.id)
        for k in p.new_keys:
            self.charged(group, "publish", k, result.credentials[keys.index(k)].id)
        self.used[self.year] += p.cost
        event(f"issue: {'published' if publish else 'drafts'}, charged {p.cost}")

    @precondition(lambda self: bool(self.drafts()))
    @rule(pick=st.integers(0, 1000), dry_first=st.booleans())
    def publish_draft(self, pick: int, dry_first: bool) -> None:
        cid = self.pick(self.drafts(), pick)
        c = self.creds[cid]
        p = self.predict([c.key], c.group)

        def run(dry: bool) -> Callable[[UnitOfWork], Issued | Preview]:
            return lambda uow: issuing.publish(uow, self.app.ctx, self.org, cid, dry_run=dry)

        preview = self.dry_run(run(True), p, False) if dry_first else None
        before = self.snapshot()
        result, exc = self.write(run(False))
        if p.error is not None:
            self.expect_refusal(exc, p.error, before, p, "publish_draft")
            return
        assert exc is None, exc
        assert isinstance(result, Issued)
        assert result.credits_charged == p.cost
        if preview is not None:
            assert result.credits_charged == preview.credits_required
        assert result.credentials[0].seat_year == self.year
        c.published, c.seat_year = True, self.year
        if p.cost:
            self.charged(c.group, "publish", c.key, cid)
        self.used[self.year] += p.cost
        event(f"publish draft: charged {p.cost}")

    @precondition(lambda self: bool(self.creds))
    @rule(
        among=AMONG,
        pick=st.integers(0, 1000),
        email=st.sampled_from(EMAILS),
        redate=st.booleans(),
        rename=st.booleans(),
        dry_first=st.booleans(),
    )
    def edit_recipient(
        self, among: str, pick: int, email: str, redate: bool, rename: bool, dry_first: bool
    ) -> None:
        """R3.3: a new recipient key needs a seat; a case-only change does not."""
        cid = self.choose(among, pick)
        self.edit(cid, email, None, 365 if redate else KEEP, rename, dry_first)

    @precondition(lambda self: bool(self.creds))
    @rule(
        among=AMONG,
        pick=st.integers(0, 1000),
        issued_back=st.one_of(st.none(), st.integers(0, 400)),
        expires=st.one_of(st.just(KEEP), st.none(), st.integers(-1, 800)),
        rename=st.booleans(),
        dry_first=st.booleans(),
    )
    def edit_dates(
        self,
        among: str,
        pick: int,
        issued_back: int | None,
        expires: str | int | None,
        rename: bool,
        dry_first: bool,
    ) -> None:
        """R3.2: a date change renews a credential of an earlier seat year."""
        self.edit(self.choose(among, pick), None, issued_back, expires, rename, dry_first)

    @precondition(lambda self: bool(self.earlier()))
    @rule(pick=st.integers(0, 1000), days=st.integers(0, 800), dry_first=st.booleans())
    def renew(self, pick: int, days: int, dry_first: bool) -> None:
        """R3.2, E9, E10: a new expiry date for a credential seated in an earlier year."""
        self.edit(self.pick(self.earlier(), pick), None, None, days, False, dry_first)

    def edit(
        self,
        cid: str,
        email: str | None,
        issued_back: int | None,
        expires: str | int | None,
        rename: bool,
        dry_first: bool,
    ) -> None:
        """R3.2 renewals, R3.3 re-addressing, and edits that need no seat."""
        c = self.creds[cid]
        today = self.now.date()
        new_email = c.email if email is None else email.strip()
        new_key = c.key if email is None else key_of(email)
        issued = c.issued_on if issued_back is None else today - timedelta(days=issued_back)
        if expires == KEEP:
            expires_on, given = c.expires_on, False
        else:
            assert not isinstance(expires, str)
            expires_on = None if expires is None else issued + timedelta(days=expires)
            given = True
        invalid = expires_on is not None and expires_on < issued
        changes = Changes(
            recipient_name="Renamed" if rename else None,
            recipient_email=email,
            issued_on=None if issued_back is None else issued,
            expires_on=expires_on if given else None,
            expires_given=given,
        )
        dates_changed = (issued, expires_on) != (c.issued_on, c.expires_on)
        reason: str | None = None
        if c.published:
            if new_key != c.key:
                reason = "recipient_change"
            elif dates_changed and c.seat_year != self.year:
                reason = "renewal"
        p = self.predict([new_key] if reason else [], c.group)
        what = f"edit ({reason})"

        def run(dry: bool) -> Callable[[UnitOfWork], Issued | Preview]:
            return lambda uow: issuing.edit(uow, self.app.ctx, self.org, cid, changes, dry_run=dry)

        preview = self.dry_run(run(True), p, invalid) if dry_first else None
        before = self.snapshot()
        result, exc = self.write(run(False))
        if invalid:
            self.expect_refusal(exc, InvalidInput, before, what="edit")
            return
        if p.error is not None:
            self.expect_refusal(exc, p.error, before, p, what)
            return
        assert exc is None, exc
        assert isinstance(result, Issued)
        assert result.credits_charged == p.cost
        if preview is not None:
            assert result.credits_charged == preview.credits_required
        if email is not None and new_email != c.email and new_key == c.key:
            event("edit: case-only e-mail change")
        c.email, c.key, c.issued_on, c.expires_on = new_email, new_key, issued, expires_on
        if rename:
            c.name = "Renamed"
        if reason is not None:
            c.seat_year = self.year
            if p.cost:
                self.charged(c.group, reason, new_key, cid)
            self.used[self.year] += p.cost
        event(
            f"edit: {reason or ('draft' if not c.published else 'no seat needed')}, charged {p.cost}"
        )

    @precondition(lambda self: bool(self.creds))
    @rule(pick=st.integers(0, 1000))
    def delete(self, pick: int) -> None:
        """R6, R7: no refund; the seat goes when its last live credential goes."""
        cid = self.pick(self.live_ids(), pick)
        _, exc = self.write(lambda uow: issuing.delete(uow, self.app.ctx, self.org, cid))
        assert exc is None, exc
        del self.creds[cid]
        self.deleted.append(cid)

    @precondition(lambda self: bool(self.published()) or bool(self.deleted))
    @rule(
        pick=st.integers(0, 1000),
        action=st.sampled_from(["publish again", "publish", "edit", "delete"]),
        dry=st.booleans(),
    )
    def mistake(self, pick: int, action: str, dry: bool) -> None:
        """Publishing twice is 409; a deleted credential is 404. Neither changes anything."""
        expected: type[DomainError]
        if action == "publish again" and self.published():
            cid, expected = self.pick(self.published(), pick), AlreadyPublished
        elif self.deleted:
            cid, expected = self.pick(self.deleted, pick), NotFound
        else:
            return
        actions: dict[str, Callable[[UnitOfWork], object]] = {
            "publish again": lambda uow: issuing.publish(
                uow, self.app.ctx, self.org, cid, dry_run=dry
            ),
            "publish": lambda uow: issuing.publish(uow, self.app.ctx, self.org, cid, dry_run=dry),
            "edit": lambda uow: issuing.edit(
                uow, self.app.ctx, self.org, cid, Changes(recipient_email="eve@z.org"), dry_run=dry
            ),
            "delete": lambda uow: issuing.delete(uow, self.app.ctx, self.org, cid),
        }
        before = self.snapshot()
        _, exc = self.write(actions[action])
        self.expect_refusal(exc, expected, before)

    # -- time --

    @rule(
        move=st.one_of(
            st.tuples(st.just("hours"), st.integers(1, 72)),
            st.tuples(st.just("days"), st.integers(1, 120)),
            st.tuples(st.just("months"), st.integers(1, 13)),
        )
    )
    def move_clock(self, move: tuple[str, int]) -> None:
        """Forward by hours, days or months (month ends clamp, as 31 Jan + 1 month)."""
        kind, n = move
        if kind == "hours":
            self.advance(self.now + timedelta(hours=n))
        elif kind == "days":
            self.advance(self.now + timedelta(days=n))
        else:
            self.advance(self.now + (plus_months(self.now.date(), n) - self.now.date()))

    @rule(seconds=st.sampled_from([-1, 0, 1, 5 * 3600]))
    def to_anniversary(self, seconds: int) -> None:
        """To the next anniversary, give or take: just before, on the dot, just after (R8)."""
        to = anniversary_at(self.anchor, self.year + 1) + timedelta(seconds=seconds)
        self.advance(max(to, self.now + timedelta(seconds=1)))

    # -- the subscription --

    @rule(plan=PLAN_CHANGES, cancel=st.sampled_from([None, None, None, "now", "year_end"]))
    def subscription(self, plan: tuple[str, int | None], cancel: str | None) -> None:
        """The operator changes the plan or cancels (R10, R15)."""
        if cancel is None:
            self.change_subscription(plan)
        else:
            self.cancel_subscription(cancel)

    def change_subscription(self, plan: tuple[str, int | None]) -> None:
        """R10: a raise applies now, a cut from the next anniversary; lifts a cancellation."""
        name, credits_ = plan
        new = 250 if credits_ is None else credits_
        _, exc = self.write(
            lambda uow: organizations.change_subscription(
                uow, self.app.clock, self.org, plan=name, credits=credits_
            )
        )
        assert exc is None, exc
        event("subscription: raise" if new >= self.allowance else "subscription: cut")
        if new >= self.allowance:
            self.allowance, self.pending_cut = new, None
        else:
            self.pending_cut = new
        self.ends_at = None

    def cancel_subscription(self, when: str) -> None:
        """R15."""
        _, exc = self.write(
            lambda uow: organizations.cancel_subscription(uow, self.app.clock, self.org, when=when)
        )
        assert exc is None, exc
        ends = self.now if when == "now" else anniversary_at(self.anchor, self.year + 1)
        if self.ends_at is None or ends < self.ends_at:
            self.ends_at = ends

    # -- invariants --

    @invariant()
    def database_matches_model(self) -> None:
        if not self.org:
            return

        def read(uow: UnitOfWork) -> tuple[Any, ...]:
            return (
                credits.balance(uow, self.app.clock, self.org),
                uow.ledger.all_entries(self.org),
                uow.seats.all_seats(self.org),
                uow.credentials.page(self.org, CredentialFilter(), None, 100_000),
                audit.audit_organization(uow, self.app.clock, self.org),
            )

        balance, entries, seats, creds, report = self.app.runner.read(read)
        year = self.year

        # The balance: year, allowance, activity, used (R8, R10, R15).
        assert balance.year.index == year
        assert balance.year.starts_at == anniversary_at(self.anchor, year)
        assert balance.allowance == self.allowance
        assert balance.active == self.active
        assert balance.used == self.used[year]
        assert balance.remaining == self.remaining
        assert balance.used <= balance.allowance  # R11

        # R14: used == charge entries of the year == seats opened in the year.
        charges = Counter(e.billing_year for e in entries if e.delta == -1)
        assert all(e.delta == -1 for e in entries)
        assert charges[year] == balance.used
        assert sum(1 for s in seats if s[1] == year) == balance.used
        assert +charges == +self.used, (charges, self.used)
        assert [
            (e.billing_year, e.reason, e.recipient_key, e.credential_id, e.at, e.department_id)
            for e in entries
        ] == self.ledger

        # R16, R17, R21: each department's seats this year, against its cap.
        figures = {f.department.id: f for f in balance.departments}
        for i, dept_id in enumerate(self.dept_ids):
            f = figures[dept_id]
            assert f.department.credit_cap == self.caps[i]
            assert f.used == self.dept_used[(i, year)], (i, f, self.dept_used)

        # R5: an open seat per (year, key) exactly while a live credential holds it.
        open_seats = Counter((s[1], s[2]) for s in seats if s[3])
        assert all(n == 1 for n in open_seats.values()), open_seats
        model_seats = {
            (c.seat_year, c.key)
            for c in self.creds.values()
            if c.published and c.seat_year is not None
        }
        assert set(open_seats) == model_seats
        assert balance.seats_held == len(self.seated(year))

        # The credentials themselves.
        stored = {
            c.id: (
                c.status.value,
                c.recipient_name,
                c.recipient_email,
                c.recipient_key,
                c.issued_on,
                c.expires_on,
                c.seat_year,
                c.group_id,
            )
            for c in creds
        }
        expected = {
            c.id: (
                "published" if c.published else "draft",
                c.name,
                c.email,
                c.key,
                c.issued_on,
                c.expires_on,
                c.seat_year,
                self.group_ids[c.group],
            )
            for c in self.creds.values()
        }
        assert stored == expected

        assert report.ok, report.problems


SQLITE = settings(
    max_examples=examples(60),
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
POSTGRES = settings(SQLITE, max_examples=examples(30))


def test_credit_rules_stateful(engine: Engine, database_url: str) -> None:
    """The machine on each backend of the `engine` fixture (SQLite file, PostgreSQL)."""
    chosen = SQLITE if engine.dialect.name == "sqlite" else POSTGRES

    class OnThisEngine(CreditMachine):
        def __init__(self) -> None:
            super().__init__(engine, database_url)

    run_state_machine_as_test(OnThisEngine, settings=chosen)
