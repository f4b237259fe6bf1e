"""Recipient e-mail addresses: validated and normalized with email-validator, then keyed."""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from credo.domain.errors import InvalidInput
from credo.domain.recipients import RecipientKey

MAX_EMAIL_LENGTH = 320


class MalformedEmail(ValueError):
    pass


@lru_cache(maxsize=65536)
def _parse(trimmed: str) -> tuple[str, str]:
    try:
        v = validate_email(trimmed, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise MalformedEmail(str(exc)) from None
    return v.local_part, v.ascii_domain


def recipient_key(email: str) -> tuple[str, RecipientKey]:
    """The address as given (trimmed) and its recipient key; MalformedEmail if not an address.

    Results are cached: a bulk often names one recipient many times, and parsing is the
    costliest step of pricing a bulk.
    """
    trimmed = email.strip()
    if not trimmed or len(trimmed) > MAX_EMAIL_LENGTH:
        raise MalformedEmail("an e-mail address needs 1 to 320 characters")
    local, domain = _parse(trimmed)
    return trimmed, RecipientKey.from_parts(local, domain)


def require_key(email: str, field: str) -> tuple[str, RecipientKey]:
    try:
        return recipient_key(email)
    except MalformedEmail as exc:
        raise InvalidInput(
            f"{field} is not a valid e-mail address", [{"field": field, "message": str(exc)}]
        ) from None
