"""Spreadsheet uploads without I/O: reading CSV text, guessing which column holds which
field, and checking one row's name and dates.

Dates (the rule the upload page states): ISO `2026-11-25` (also with `/` or `.`), written
out `25 November 2026`, `25 Nov 2026`, `Nov 25, 2026`, and numeric `25/11/2026`
(`/`, `.` or `-`). Numeric dates are read **day first** unless the issuer picks month first
for the file on the mapping page; a date impossible in the chosen order (`11/25/2026` read
day first) is reported on its row, never guessed. Years have four digits. XLSX date cells
carry no ambiguity: they arrive here as ISO text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

MAX_ROWS = 50_500  # data rows: 50,000 and a little (blank lines, a total row)
MAX_LINES = 4 * MAX_ROWS  # lines read, blank ones included (a sheet of empty rows)
MAX_COLUMNS = 50  # columns read; any further ones are ignored (the page says so)
MAX_CELL = 1_000  # characters kept of a cell; longer values fail validation anyway
MAX_NAME = 200
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)

FIELDS = ("name", "email", "issued_on", "expires_on")
LABELS = {
    "name": "Recipient name",
    "email": "Recipient e-mail",
    "issued_on": "Issue date",
    "expires_on": "Expiry date",
}
REQUIRED = ("name", "email")


class SpreadsheetError(ValueError):
    """The file as a whole cannot be read; the message says why, for the issuer."""


class DateError(ValueError):
    """A cell is not a date this module reads; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class Table:
    """A sheet's header and its non-blank rows, each with its row number in the
    spreadsheet (the header's row is 1 when it is the first line)."""

    header: list[str]
    rows: list[tuple[int, list[str]]]
    columns_cut: bool = False  # the sheet had more than MAX_COLUMNS columns


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Checked:
    """One row's name and dates, checked; `errors` empty when all are usable."""

    name: str
    issued_on: date | None
    expires_on: date | None
    errors: list[RowError] = field(default_factory=list)


def _cell(value: str) -> str:
    return value.strip()[:MAX_CELL]


def build_table(lines: Iterable[Sequence[str]]) -> Table:
    """Header = the first non-blank row; data rows = the later non-blank ones. `lines`
    iterates rows of cell strings (CSV reader, XLSX rows turned to text)."""
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    cut = False
    for number, raw in enumerate(lines, start=1):
        if number > MAX_LINES:
            raise SpreadsheetError(f"the file has more than {MAX_LINES:,} lines")
        if len(raw) > MAX_COLUMNS:
            cut = cut or any(str(c).strip() for c in raw[MAX_COLUMNS:])
        cells = [_cell(c) for c in raw[:MAX_COLUMNS]]
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        if len(rows) >= MAX_ROWS:
            raise SpreadsheetError(
                f"the file has more than {MAX_ROWS:,} rows; split it into several uploads"
            )
        rows.append((number, cells))
    if header is None:
        raise SpreadsheetError("the file is empty")
    if not rows:
        raise SpreadsheetError("the file has a header row but no rows below it")
    width = max(len(header), *(len(c) for _, c in rows))
    header = header + [""] * (width - len(header))
    return Table(header, rows, cut)


def decode(data: bytes) -> str:
    """Text of a CSV upload: UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's
    "Unicode text"), else Windows-1252, else Latin-1 (which reads any bytes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SpreadsheetError("the file is not readable text (broken UTF-16)") from None
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _delimiter(text: str) -> str:
    """The delimiter of the first non-blank line: the most frequent of , ; tab |."""
    for line in text.splitlines():
        if line.strip():
            counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] else ","
    return ","


def read_csv(data: bytes) -> Table:
    text = decode(data)
    if "\x00" in text or _mostly_control(text[:4096]):
        raise SpreadsheetError(
            "this does not look like a CSV file; upload a .csv or .xlsx spreadsheet"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=False)
    try:
        return build_table(reader)
    except csv.Error as exc:
        raise SpreadsheetError(f"the CSV file cannot be read: {exc}") from None


def _mostly_control(sample: str) -> bool:
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return bad > max(8, len(sample) // 50)


_SYNONYMS = {
    "name": (
        "name",
        "full name",
        "recipient name",
        "recipient",
        "student",
        "student name",
        "participant",
        "attendee",
        "learner",
        "holder",
        "nom",
        "nombre",
    ),
    "email": ("email", "e-mail", "mail", "email address", "recipient email", "courriel", "correo"),
    "issued_on": (
        "issue date",
        "issued",
        "issued on",
        "date issued",
        "issuance date",
        "date",
        "completion date",
        "completed",
        "completed on",
        "date completed",
        "date of completion",
        "awarded",
        "awarded on",
        "award date",
    ),
    "expires_on": (
        "expiry",
        "expiry date",
        "expires",
        "expires on",
        "expiration",
        "expiration date",
        "valid until",
        "valid to",
    ),
}


def _norm(header: str) -> str:
    text = re.sub(r"[_\-.:/()]+", " ", header.lower()).strip()
    return re.sub(r"\s+", " ", text).replace("e mail", "email")


def guess_mapping(header: Sequence[str]) -> dict[str, int | None]:
    """Which column holds each field, from the header's words; None when no column fits.
    Exact synonyms win over partial ones; a column serves at most one field."""
    normalized = [_norm(h) for h in header]
    mapping: dict[str, int | None] = dict.fromkeys(FIELDS)
    used: set[int] = set()
    for exact in (True, False):
        for fld in FIELDS:
            if mapping[fld] is not None:
                continue
            for i, h in enumerate(normalized):
                if i in used or not h:
                    continue
                words = _SYNONYMS[fld]
                hit = h in words if exact else _partial(fld, h)
                if hit:
                    mapping[fld] = i
                    used.add(i)
                    break
    return mapping


def _partial(fld: str, h: str) -> bool:
    if fld == "email":
        return "email" in h or "mail" in h.split()
    if fld == "name":
        return "name" in h.split() and "email" not in h
    if fld == "expires_on":
        return any(w in h for w in ("expir", "valid until", "expires"))
    return "issue" in h or ("date" in h.split() and "expir" not in h)


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_NUMERIC = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{2,4})")
_DAY_MONTH = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[\s\-]+([A-Za-z]+)\.?,?[\s\-]+(\d{4})")
_MONTH_DAY = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
ACCEPTED = "use 2026-11-25, 25/11/2026 or 25 Nov 2026"


def parse_date(text: str, *, day_first: bool = True) -> date:
    """A date from a cell's text (see the module's rule); DateError otherwise, never any
    other exception."""
    s = text.strip()
    if len(s) > 40:
        raise DateError(f"not a date; {ACCEPTED}")
    if m := _ISO.fullmatch(s):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := _NUMERIC.fullmatch(s):
        if len(m[4]) != 4:
            raise DateError("write the year with four digits (25/11/2026)")
        a, b, y = int(m[1]), int(m[3]), int(m[4])
        d, mo = (a, b) if day_first else (b, a)
    elif m := _DAY_MONTH.fullmatch(s):
        d, mo, y = int(m[1]), _month(m[2]), int(m[3])
    elif m := _MONTH_DAY.fullmatch(s):
        mo, d, y = _month(m[1]), int(m[2]), int(m[3])
    else:
        raise DateError(f"not a date; {ACCEPTED}")
    order = "day first" if day_first else "month first"
    if not 1 <= mo <= 12:
        raise DateError(f"there is no month {mo} (numeric dates are read {order})")
    try:
        value = date(y, mo, d)
    except ValueError:
        raise DateError(f"no such day: {s} (numeric dates are read {order})") from None
    if not EARLIEST <= value <= LATEST:
        raise DateError(f"must be between {EARLIEST} and {LATEST}")
    return value


def _month(word: str) -> int:
    number = _MONTHS.get(word.lower())
    if number is None:
        raise DateError(f"unknown month {word[:20]!r}; {ACCEPTED}")
    return number


def check_row(
    row: int,
    name: str,
    issued: str,
    expires: str,
    *,
    day_first: bool,
    today: date,
) -> Checked:
    """Name present, at most 200 characters, no control characters; dates readable;
    expiry not before the issue date (an empty issue date means today, as in the API)."""
    errors: list[RowError] = []
    name = name.strip()
    if not name:
        errors.append(RowError(row, "name", "the recipient's name is missing"))
    elif len(name) > MAX_NAME:
        errors.append(RowError(row, "name", f"longer than {MAX_NAME} characters"))
    elif any(ord(ch) < 32 for ch in name):
        errors.append(RowError(row, "name", "contains control characters"))
    dates: list[date | None] = []
    for fld, text in (("issued_on", issued), ("expires_on", expires)):
        if not text.strip():
            dates.append(None)
            continue
        try:
            dates.append(parse_date(text, day_first=day_first))
        except DateError as exc:
            errors.append(RowError(row, fld, str(exc)))
            dates.append(None)
    issued_on, expires_on = dates
    bad_date = any(e.field in ("issued_on", "expires_on") for e in errors)
    if expires_on is not None and not bad_date and expires_on < (issued_on or today):
        errors.append(RowError(row, "expires_on", "is before the issue date"))
    return Checked(name, issued_on, expires_on, errors)
