"""The credential lifecycle and which changes need a seat (credits.md R3, R9).

draft --publish--> published --delete--> deleted
  |                    |
  +------delete--------+   (edits keep the status; R3 decides whether they need a seat)
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from credo.domain.errors import AlreadyPublished, InvalidInput


class Status(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class SeatReason(StrEnum):
    """Why an event needs a seat; also the ledger's `reason` when it takes one (R4)."""

    PUBLISH = "publish"
    RENEWAL = "renewal"
    RECIPIENT_CHANGE = "recipient_change"


@dataclass(frozen=True, slots=True)
class CredentialState:
    status: Status
    recipient_key: str
    issued_on: date
    expires_on: date | None
    seat_year: int | None


def add_months(d: date, months: int) -> date:
    """`d` moved `months` on, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    total = d.year * 12 + (d.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def resolve_dates(
    issued_on: date | None,
    expires_on: date | None,
    *,
    today: date,
    expires_after_months: int | None,
    expires_given: bool,
) -> tuple[date, date | None]:
    """Defaults (api.md): issued today on the organization's clock; expiring after the
    group's policy unless the caller said otherwise (an explicit null means never)."""
    issued = issued_on or today
    if expires_given:
        expires = expires_on
    else:
        expires = add_months(issued, expires_after_months) if expires_after_months else None
    check_dates(issued, expires)
    return issued, expires


def check_dates(issued_on: date, expires_on: date | None) -> None:
    if expires_on is not None and expires_on < issued_on:
        raise InvalidInput(
            "expires_on is before issued_on",
            [{"field": "expires_on", "message": "must not be before issued_on"}],
        )


def publish_need(state: CredentialState) -> SeatReason:
    """R3.1: publishing needs a seat. Publishing twice is a mistake worth telling apart."""
    if state.status is Status.PUBLISHED:
        raise AlreadyPublished("the credential is already published")
    return SeatReason.PUBLISH


def edit_need(
    state: CredentialState,
    *,
    new_key: str,
    dates_changed: bool,
    current_year: int,
) -> SeatReason | None:
    """R3.2, R3.3, R9: which seat, if any, an edit of `state` needs in `current_year`.

    Drafts never need one. A new recipient key always does; a date change does only when the
    credential's seat year is not the current year (a renewal). Names and an e-mail's case
    never do.
    """
    if state.status is Status.DRAFT:
        return None
    if new_key != state.recipient_key:
        return SeatReason.RECIPIENT_CHANGE
    if dates_changed and state.seat_year != current_year:
        return SeatReason.RENEWAL
    return None
