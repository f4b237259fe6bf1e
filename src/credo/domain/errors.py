"""The one error family. Every refusal the product makes is a DomainError with a stable code.

The API maps `status` to the HTTP status and the fields to problem JSON; the CLI maps them to
one line and a non-zero exit. Codes never change once published: clients branch on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class InvalidInput(DomainError):
    """A value is malformed. `errors` lists each bad field as {"field", "message"}."""

    code = "invalid_input"
    status = 422
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[dict[str, str]]) -> None:
        super().__init__(detail, errors=errors)
        self.errors = errors


class InsufficientCredits(DomainError):
    """R11: the event needs more credits than remain this billing year."""

    code = "insufficient_credits"
    status = 402
    title = "Not enough credits"

    def __init__(self, detail: str, *, credits_required: int, credits_remaining: int) -> None:
        super().__init__(
            detail, credits_required=credits_required, credits_remaining=credits_remaining
        )
        self.credits_required = credits_required
        self.credits_remaining = credits_remaining
        # Filled in by the charge path for plain-word explanations (services.credit_reports
        # .explain); not part of the problem JSON: why seats were needed (SeatReason values)
        # and when the billing year's allowance resets.
        self.reasons: tuple[str, ...] = ()
        self.resets_at: datetime | None = None

    @property
    def credits_short(self) -> int:
        """How many credits are missing for the event to go through."""
        return max(0, self.credits_required - self.credits_remaining)


class NoActiveSubscription(InsufficientCredits):
    """R15: without an active subscription nothing that needs a seat may happen."""

    code = "no_active_subscription"
    title = "No active subscription"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"


class AlreadyPublished(Conflict):
    code = "already_published"
    title = "Already published"


class ClockBackwards(Conflict):
    code = "clock_backwards"
    title = "Test clocks only move forward"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with a different request"


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    title = "Unauthorized"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"
