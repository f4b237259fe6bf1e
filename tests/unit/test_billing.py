"""Billing years, plans and subscription changes (R8, R10, R15)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.domain import billing
from credo.domain.billing import SubscriptionStatus, billing_year, billing_year_at
from credo.domain.errors import InvalidInput


def at(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def test_year_boundaries_are_half_open() -> None:
    anchor = date(2026, 1, 15)
    assert billing_year_at(anchor, at("2026-01-15T00:00:00")).index == 0
    assert billing_year_at(anchor, at("2027-01-14T23:59:59.999999")).index == 0
    assert billing_year_at(anchor, at("2027-01-15T00:00:00")).index == 1
    y = billing_year(anchor, 1)
    assert (y.starts_at, y.ends_at) == (at("2027-01-15T00:00:00"), at("2028-01-15T00:00:00"))


def test_29_february_anchor_falls_on_28_february_in_common_years() -> None:
    anchor = date(2024, 2, 29)
    assert billing_year(anchor, 0).ends_at == at("2025-02-28T00:00:00")
    assert billing_year(anchor, 3).starts_at == at("2027-02-28T00:00:00")
    assert billing_year(anchor, 4).starts_at == at("2028-02-29T00:00:00")
    assert billing_year_at(anchor, at("2025-02-27T23:00:00")).index == 0
    assert billing_year_at(anchor, at("2025-02-28T00:00:00")).index == 1
    assert billing_year_at(anchor, at("2028-02-28T12:00:00")).index == 3
    assert billing_year_at(anchor, at("2028-02-29T00:00:00")).index == 4


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        billing_year_at(date(2026, 1, 1), datetime(2026, 5, 1))  # noqa: DTZ001


@given(
    anchor=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    offset=st.integers(min_value=0, max_value=60 * 365 * 24 * 3600),
)
def test_every_instant_lies_in_exactly_its_year(anchor: date, offset: int) -> None:
    start = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)
    moment = start + timedelta(seconds=offset)
    y = billing_year_at(anchor, moment)
    assert y.contains(moment)
    assert billing_year(anchor, y.index) == y
    if y.index > 0:
        assert not billing_year(anchor, y.index - 1).contains(moment)


def test_plans_and_allowances() -> None:
    assert billing.resolve_allowance("launch-250", None) == 250
    assert billing.resolve_allowance("enterprise", 5000) == 5000
    for bad in [("connect", None), ("growth", 0), ("launch-250", 300), ("gold", 10)]:
        with pytest.raises(InvalidInput):
            billing.resolve_allowance(*bad)


def test_raise_takes_effect_at_once_and_cut_at_the_anniversary() -> None:
    sub = billing.new_subscription("connect", 100, date(2026, 1, 15))
    mid = at("2026-06-01T00:00:00")
    raised = billing.change_plan(sub, "growth", 500, mid)
    assert raised.allowance_in(0) == 500 and raised.plan_in(0) == "growth"

    cut = billing.change_plan(raised, "connect", 50, mid)
    assert cut.allowance_in(0) == 500 and cut.plan_in(0) == "growth"
    assert cut.allowance_in(1) == 50 and cut.plan_in(1) == "connect"

    # Raising again before the anniversary replaces the pending cut.
    again = billing.change_plan(cut, "enterprise", 800, mid)
    assert again.allowance_in(0) == 800 and again.allowance_in(1) == 800

    # In year 1 the cut has happened; a change then starts from the cut allowance.
    later = billing.change_plan(cut, "connect", 60, at("2027-02-01T00:00:00"))
    assert later.allowance_in(1) == 60


def test_cancel_now_and_at_year_end() -> None:
    sub = billing.new_subscription("launch-250", None, date(2026, 1, 15))
    now = at("2026-06-01T00:00:00")
    ended = billing.cancel(sub, "now", now)
    assert ended.status_at(now) is SubscriptionStatus.CANCELED
    later = billing.cancel(sub, "year_end", now)
    assert later.status_at(now) is SubscriptionStatus.ACTIVE
    assert later.status_at(at("2027-01-14T23:59:59")) is SubscriptionStatus.ACTIVE
    assert later.status_at(at("2027-01-15T00:00:00")) is SubscriptionStatus.CANCELED
    # A plan change lifts a cancellation.
    assert billing.change_plan(ended, "launch-250", None, now).is_active(now)
    with pytest.raises(InvalidInput):
        billing.cancel(sub, "tomorrow", now)
