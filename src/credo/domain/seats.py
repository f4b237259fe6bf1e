"""Seat pricing: who pays for a batch of seat-needing events (credits.md R1, R4, R5, R11, R15).

A recipient holds a seat in year k while at least one live credential of theirs has seat
year k (R5), so a seat is released exactly when its last such credential leaves it (R7).
The functions here decide; the service stores their answers inside one transaction while it
holds the organization's lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Generic, TypeVar

from credo.domain.credentials import SeatReason
from credo.domain.errors import InsufficientCredits, NoActiveSubscription

Ref = TypeVar("Ref")


@dataclass(frozen=True, slots=True)
class SeatEvent(Generic[Ref]):
    """One event that needs `recipient_key` to hold a seat in the current year (R3)."""

    ref: Ref
    recipient_key: str
    reason: SeatReason


@dataclass(frozen=True, slots=True)
class Account:
    """One organization's credits in one billing year."""

    year: int
    allowance: int
    used: int
    active: bool

    @property
    def remaining(self) -> int:
        """What may still be spent: nothing at all without an active subscription (R15)."""
        if not self.active:
            return 0
        return max(0, self.allowance - self.used)


@dataclass(frozen=True, slots=True)
class Quote(Generic[Ref]):
    """What a batch would cost (R12): the events that take a seat, one per new key."""

    charged: tuple[SeatEvent[Ref], ...]
    credits_remaining: int
    active: bool

    @property
    def credits_required(self) -> int:
        return len(self.charged)

    @property
    def sufficient(self) -> bool:
        return self.active and self.credits_required <= self.credits_remaining


def quote(events: Iterable[SeatEvent[Ref]], seated: Set[str], account: Account) -> Quote[Ref]:
    """R1, R2, R4: an event is free if its key holds a seat this year or an earlier event of
    the batch already took one; otherwise it takes the seat and costs one credit."""
    taken: set[str] = set()
    charged: list[SeatEvent[Ref]] = []
    for event in events:
        key = event.recipient_key
        if key in seated or key in taken:
            continue
        taken.add(key)
        charged.append(event)
    return Quote(tuple(charged), account.remaining, account.active)


def require(q: Quote[Ref]) -> None:
    """R11, R15: refuse the whole batch unless it is affordable and a subscription is active."""
    if not q.active:
        raise NoActiveSubscription(
            "the organization has no active subscription (R15)",
            credits_required=q.credits_required,
            credits_remaining=0,
        )
    if not q.sufficient:
        short = q.credits_required - q.credits_remaining
        raise InsufficientCredits(
            f"this needs {q.credits_required} credit(s) and {q.credits_remaining} remain "
            f"this billing year: {short} short (R11)",
            credits_required=q.credits_required,
            credits_remaining=q.credits_remaining,
        )
