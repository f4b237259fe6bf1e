"""Refusals in plain words, and the pure parts of the credits page (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from credo.domain.billing import billing_year
from credo.domain.credentials import SeatReason
from credo.domain.errors import InsufficientCredits, InvalidInput, NoActiveSubscription, NotFound
from credo.domain.seats import Account, SeatEvent, quote, require
from credo.services.billing import credit_alerts
from credo.services.billing.credit_reports import (
    Month,
    _nice_ceiling,
    add_months,
    chart,
    csv_cell,
    explain,
    month_bounds,
    parse_filter,
    share_label,
)

RESET = datetime(2027, 1, 15, tzinfo=UTC)
PER_RECIPIENT = "one credit for each recipient without a seat this billing year"


def refusal(required: int, remaining: int, *reasons: str) -> InsufficientCredits:
    exc = InsufficientCredits("x", credits_required=required, credits_remaining=remaining)
    exc.reasons = reasons
    exc.resets_at = RESET
    return exc


def test_the_worked_example() -> None:
    assert explain(refusal(12, 7, "publish")) == (
        f"Publishing needs 12 credits ({PER_RECIPIENT}); "
        "7 remain, so 5 are missing. The allowance resets on 15 January 2027."
    )


def test_singulars_and_none_left() -> None:
    assert explain(refusal(1, 0, "publish")) == (
        f"Publishing needs 1 credit ({PER_RECIPIENT}); "
        "none remain, so 1 is missing. The allowance resets on 15 January 2027."
    )
    text = explain(refusal(3, 1, "publish"))
    assert "1 remains, so 2 are missing" in text


def test_renewals_and_recipient_changes_say_why_in_words() -> None:
    assert explain(refusal(1, 0, "renewal")).startswith(
        "Renewing needs 1 credit (new dates for a credential from an earlier billing year "
        "need its recipient to hold a seat this year"
    )
    assert explain(refusal(1, 0, "recipient_change")).startswith(
        "Changing the recipient needs 1 credit (the new recipient needs a seat this billing year"
    )
    assert explain(refusal(2, 0, "publish", "renewal")).startswith("This change needs 2 credits")


def test_without_the_reset_date_the_sentence_is_left_out() -> None:
    exc = InsufficientCredits("x", credits_required=2, credits_remaining=1)
    assert explain(exc) == (
        f"This change needs 2 credits ({PER_RECIPIENT}); 1 remains, so 1 is missing."
    )


def test_no_subscription_says_so_in_words() -> None:
    exc = NoActiveSubscription("x", credits_required=1, credits_remaining=0)
    text = explain(exc)
    assert "R15" not in text and "active subscription" in text and "verifiable" in text


def test_other_errors_say_their_own_detail() -> None:
    assert explain(NotFound("no credential cred_1")) == "no credential cred_1"


def test_the_domain_refusal_carries_short_by() -> None:
    account = Account(year=0, allowance=10, used=8, active=True)
    events = [SeatEvent(i, f"r{i}@x.org", SeatReason.PUBLISH) for i in range(5)]
    with pytest.raises(InsufficientCredits) as info:
        require(quote(events, set(), account))
    assert (info.value.credits_required, info.value.credits_remaining) == (5, 2)
    assert info.value.credits_short == 3
    assert "credits_short" not in info.value.fields  # the problem JSON is unchanged


@pytest.mark.parametrize(
    ("before", "after", "allowance", "crossed"),
    [
        (0, 7, 10, ()),
        (7, 8, 10, (80,)),
        (8, 9, 10, ()),
        (9, 10, 10, (100,)),
        (0, 10, 10, (80, 100)),
        (10, 11, 10, ()),  # already past both
        (199, 200, 250, (80,)),
        (200, 201, 250, ()),
        (0, 1, 1, (80, 100)),
        (0, 0, 10, ()),
        (0, 5, 0, ()),
    ],
)
def test_thresholds_crossed(before: int, after: int, allowance: int, crossed: tuple[int]) -> None:
    assert credit_alerts.crossed(before, after, allowance) == crossed


def test_months_of_a_billing_year() -> None:
    year = billing_year(date(2024, 1, 31), 0)
    bounds = month_bounds(year, 31)
    assert len(bounds) == 13 and bounds[0] == year.starts_at and bounds[-1] == year.ends_at
    assert bounds[1].date() == date(2024, 2, 29)  # the 31st, or the month's last day
    assert bounds[2].date() == date(2024, 3, 31)
    assert add_months(date(2026, 11, 15), 3, 15) == date(2027, 2, 15)


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(1, 1), (7, 8), (11, 12), (25, 25), (110, 120), (275, 300), (1001, 1200), (5500, 6000)],
)
def test_the_chart_scale_is_a_round_number_just_above(value: int, ceiling: int) -> None:
    assert _nice_ceiling(value) == ceiling


@pytest.mark.parametrize(
    ("used", "allowance", "label"),
    [
        (0, 250, "0%"),
        (1, 250, "less than 1%"),
        (3, 250, "1%"),
        (249, 250, "99%"),
        (250, 250, "100%"),
        (300, 250, "100%"),
        (5, 0, "0%"),
    ],
)
def test_a_share_never_rounds_a_used_credit_away(used: int, allowance: int, label: str) -> None:
    assert share_label(used, allowance) == label


def test_the_chart_geometry() -> None:
    year = billing_year(date(2026, 1, 15), 0)
    bounds = month_bounds(year, 15)
    months = tuple(Month(bounds[i], bounds[i + 1], 10, 10 * (i + 1), i < 5) for i in range(12))
    c = chart(months, 250)
    assert len(c.bars) == 12 and len(c.points) == 5
    assert [t.value for t in c.ticks] == [0, 150, 300]  # the scale fits the allowance
    assert c.top <= c.allowance_y <= c.height - c.bottom
    assert all(p.y > c.allowance_y for p in c.points)  # below the allowance line
    empty = chart(tuple(Month(m.starts_at, m.ends_at, 0, 0, True) for m in months), 0)
    assert len(empty.points) == 12  # no division by zero


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2@x.org", "'=1+2@x.org"),
        ("+cmd@x.org", "'+cmd@x.org"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("ann@x.org", "ann@x.org"),
        (1, "1"),
        (None, ""),
    ],
)
def test_csv_cells_are_never_formulas(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_filters() -> None:
    f = parse_filter(2, year=None, reason=None, recipient=None, since=None, until=None)
    assert f.year == 2 and f.query().since is None
    f = parse_filter(
        2, year="all", reason="renewal", recipient=" Ann ", since="2026-01-01", until="2026-01-31"
    )
    q = f.query()
    assert q.year is None and q.reason == "renewal" and q.recipient_contains == "ann"
    assert q.since == datetime(2026, 1, 1, tzinfo=UTC)
    assert q.until == datetime(2026, 2, 1, tzinfo=UTC)  # the end day is included
    assert (
        parse_filter(0, year="", reason="", recipient="", since="9999-12-31", until="9999-12-31")
        .query()
        .until
        is None
    )
    with pytest.raises(InvalidInput) as info:
        parse_filter(0, year="3", reason="gift", recipient=None, since="2026-02-30", until="x")
    assert {e["field"] for e in info.value.errors} == {"year", "reason", "from", "to"}
