"""Recipient e-mail addresses: validated and normalized with email-validator, then keyed."""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from credo.domain.errors import InvalidInput
from credo.domain.recipients import RecipientKey

MAX_EMAIL_LENGTH = 320


class MalformedEmail(ValueError):
    pass


_ATEXT = r"[A-Za-z0-9_!#$%&'*+/=?^`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
_SPECIAL = tuple(SPECIAL_USE_DOMAIN_NAMES)


def plain_address(address: str) -> tuple[str, str] | None:
    """The common case, decided without email-validator: a plain ASCII address that
    email-validator certainly accepts, as (local part, lower-cased domain). None means "ask
    email-validator". A property test holds this to email-validator's own answers."""
    m = _PLAIN.fullmatch(address)
    if m is None or len(address) > 254:
        return None
    local, domain = m.group(1), m.group(2).lower()
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    labels = domain.split(".")
    if any(name in labels for name in _SPECIAL):
        return None
    return local, domain


@lru_cache(maxsize=65536)
def _parse(trimmed: str) -> tuple[str, str]:
    fast = plain_address(trimmed)
    if fast is not None:
        return fast
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
