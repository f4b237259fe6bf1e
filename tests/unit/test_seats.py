"""Seat pricing (R1, R2, R4, R11, R15) and which edits need a seat (R3, R9)."""

from __future__ import annotations

from datetime import date

import pytest

from credo.domain.credentials import (
    CredentialState,
    SeatReason,
    Status,
    add_months,
    edit_need,
    publish_need,
    resolve_dates,
)
from credo.domain.errors import (
    AlreadyPublished,
    InsufficientCredits,
    InvalidInput,
    NoActiveSubscription,
)
from credo.domain.seats import Account, SeatEvent, quote, require

P = SeatReason.PUBLISH


def ev(ref: str, key: str) -> SeatEvent[str]:
    return SeatEvent(ref, key, P)


def test_one_charge_per_new_key_in_a_batch() -> None:
    events = [ev("1", "a"), ev("2", "b"), ev("3", "a"), ev("4", "c")]
    q = quote(events, {"c"}, Account(0, 250, 10, True))
    assert [e.ref for e in q.charged] == ["1", "2"]
    assert q.credits_required == 2 and q.credits_remaining == 240 and q.sufficient
    require(q)


def test_all_or_nothing_when_short() -> None:
    q = quote([ev("1", "a"), ev("2", "b")], set(), Account(0, 250, 249, True))
    assert not q.sufficient
    with pytest.raises(InsufficientCredits) as info:
        require(q)
    assert (info.value.credits_required, info.value.credits_remaining) == (2, 1)
    assert info.value.status == 402


def test_no_subscription_refuses_even_free_events() -> None:
    q = quote([ev("1", "a")], {"a"}, Account(0, 250, 0, False))
    assert q.credits_required == 0
    with pytest.raises(NoActiveSubscription):
        require(q)


def state(status: Status = Status.PUBLISHED, seat_year: int | None = 0) -> CredentialState:
    return CredentialState(status, "ann@x.org", date(2026, 2, 1), None, seat_year)


def test_edit_needs() -> None:
    s = state()
    assert edit_need(s, new_key="ann@x.org", dates_changed=False, current_year=1) is None
    assert edit_need(s, new_key="ann@x.org", dates_changed=True, current_year=0) is None
    assert (
        edit_need(s, new_key="ann@x.org", dates_changed=True, current_year=1) is SeatReason.RENEWAL
    )
    assert (
        edit_need(s, new_key="bob@x.org", dates_changed=False, current_year=0)
        is SeatReason.RECIPIENT_CHANGE
    )
    draft = state(Status.DRAFT, None)
    assert edit_need(draft, new_key="bob@x.org", dates_changed=True, current_year=3) is None
    assert publish_need(draft) is P
    with pytest.raises(AlreadyPublished):
        publish_need(s)


def test_dates() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    today = date(2026, 5, 1)
    assert resolve_dates(None, None, today=today, expires_after_months=24, expires_given=False) == (
        today,
        date(2028, 5, 1),
    )
    assert resolve_dates(None, None, today=today, expires_after_months=24, expires_given=True) == (
        today,
        None,
    )
    with pytest.raises(InvalidInput):
        resolve_dates(
            today, date(2026, 4, 1), today=today, expires_after_months=None, expires_given=True
        )
