"""Accredible's dialect, as its clients speak it (the study in shared/reference/accredible):
the four Authorization forms, the date forms, ids given as numbers or numeric strings, and
page-number paging. Pure: the compatible API (entrypoints/api/accredible) reads with these.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 10_000  # Moodle's tests ask for 10,000 groups in one page
EVIDENCE_CATEGORIES = ("file", "url", "video", "grade", "transcript", "course_duration")


class Invalid(ValueError):
    """What Accredible answers 422 for: a field (`errors: {field: [message]}`), or, with no
    field, the request as a whole (`errors: message`, as its "Invalid Group")."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field} {message}" if field else message)
        self.field = field
        self.message = message


_TOKEN = re.compile(r'^\s*(?:Token|Bearer)\s+(?:token\s*=\s*)?"?([^\s",]+)"?', re.IGNORECASE)


def api_key(authorization: str | None) -> str | None:
    """The key of `Token token=KEY`, `Token token="KEY"`, `Token KEY` or `Bearer KEY`."""
    if not authorization:
        return None
    found = _TOKEN.match(authorization)
    return found.group(1) if found else None


_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_STAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def day(value: object, field: str) -> date | None:
    """A date in any form the clients send: `2026-03-05`, `2026-3-5`, `05/03/2026` (day
    first), `2021-01-01 00:00:00 +0000` or an ISO timestamp (its date, in UTC when it has
    an offset). None or "" is no date."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid(field, "is not a date")
    text = value.strip()
    try:
        if m := _YMD.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if _STAMP.match(text):
            normal = re.sub(r"\s*([+-]\d{2}):?(\d{2})$", r"\1:\2", text)
            normal = normal.replace(" ", "T", 1).replace("Z", "+00:00")
            at = datetime.fromisoformat(normal)
            return at.astimezone(UTC).date() if at.tzinfo else at.date()
    except ValueError:
        pass
    raise Invalid(field, f"is not a date: {text[:40]!r} (use YYYY-MM-DD)")


def number(value: object, field: str) -> int | None:
    """An id given as a number or a numeric string; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(field, "is not a number")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    else:
        raise Invalid(field, "is not a number")
    if not 0 < n < 2**63:
        raise Invalid(field, "is out of range")
    return n


def text(value: object, field: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(field, "can't be blank")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise Invalid(field, "is not text")
    if "\x00" in value:
        raise Invalid(field, "holds a NUL character")
    if len(value) > limit:
        raise Invalid(field, f"is too long (at most {limit} characters)")
    return value.strip()


def flag(value: object, field: str) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int):
        return value != 0
    raise Invalid(field, "is not true or false")


def obj(value: object, field: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(field, "is not an object")
    return value


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def meta(self, total: int) -> dict[str, Any]:
        """Accredible's `meta` block; `next_page` is null on the last page."""
        pages = max(1, math.ceil(total / self.size)) if total else 1
        return {
            "current_page": self.page,
            "next_page": self.page + 1 if self.page < pages else None,
            "prev_page": self.page - 1 if self.page > 1 else None,
            "total_pages": pages,
            "total_count": total,
        }


def paging(page: object, size: object, default: int = DEFAULT_PAGE_SIZE) -> Paging:
    p = number(page, "page") or 1
    s = number(size, "page_size") or default
    return Paging(min(p, 1_000_000), min(s, MAX_PAGE_SIZE))


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class CredentialDetails:
    """What a credential carries beyond Credo's fields (tables.credential_details)."""

    credential_id: str
    organization_id: str
    license_id: str | None = None
    course_link: str | None = None
    custom_attributes: dict[str, Any] | None = None
    grade: str | None = None
    meta_data: dict[str, Any] | None = None
    complete: bool | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    id: int
    credential_id: str
    description: str
    category: str
    url: str | None
    string_object: str | None
    hidden: bool
    position: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class GroupDetails:
    group_id: str
    organization_id: str
    internal_name: str | None = None
    course_link: str | None = None
    meta_data: dict[str, Any] | None = None
    language: str | None = None


# A filter on credentials: (field, operator, value). Fields: id, group_id, recipient_key,
# recipient_name, status, issued_on, expired_on, created_at, updated_at; operators: eq, lt,
# gt, lte, gte, and in (the value a list).
Condition = tuple[str, str, Any]
