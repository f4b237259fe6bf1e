"""Spreadsheet reading without I/O: CSV decoding, column guessing, dates, row checks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.domain import spreadsheets as sheets
from credo.domain.spreadsheets import DateError, SpreadsheetError, parse_date, read_csv

TODAY = date(2026, 2, 1)


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("2026-11-25", True, date(2026, 11, 25)),
        ("2026/11/25", False, date(2026, 11, 25)),
        ("2026-11-25 00:00:00", True, date(2026, 11, 25)),
        ("25/11/2026", True, date(2026, 11, 25)),
        ("25.11.2026", True, date(2026, 11, 25)),
        ("03/04/2026", True, date(2026, 4, 3)),
        ("03/04/2026", False, date(2026, 3, 4)),
        ("11/25/2026", False, date(2026, 11, 25)),
        ("25 November 2026", True, date(2026, 11, 25)),
        ("25 Nov 2026", False, date(2026, 11, 25)),
        ("25-Nov-2026", True, date(2026, 11, 25)),
        ("Nov 25, 2026", True, date(2026, 11, 25)),
        ("September 1st 2026", True, date(2026, 9, 1)),
    ],
)
def test_dates_in_the_documented_formats(text: str, day_first: bool, expected: date) -> None:
    assert parse_date(text, day_first=day_first) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("11/25/2026", "no month 25"),  # month-first date read day first: reported, not guessed
        ("31/02/2026", "no such day"),
        ("25/11/26", "four digits"),
        ("tomorrow", "not a date"),
        ("25 Foo 2026", "unknown month"),
        ("1800-01-01", "between"),
        ("", "not a date"),
    ],
)
def test_bad_dates_say_why(text: str, why: str) -> None:
    with pytest.raises(DateError, match=why):
        parse_date(text)


@given(st.text(max_size=60), st.booleans())
def test_date_parsing_raises_nothing_but_date_error(text: str, day_first: bool) -> None:
    try:
        value = parse_date(text, day_first=day_first)
    except DateError:
        return
    assert sheets.EARLIEST <= value <= sheets.LATEST


@given(st.dates(min_value=sheets.EARLIEST, max_value=sheets.LATEST), st.booleans())
def test_every_date_round_trips_through_its_written_forms(d: date, day_first: bool) -> None:
    numeric = f"{d.day:02}/{d.month:02}/{d.year}" if day_first else f"{d.month}/{d.day}/{d.year}"
    assert parse_date(numeric, day_first=day_first) == d
    assert parse_date(d.isoformat(), day_first=not day_first) == d
    assert parse_date(f"{d.day} {d:%B} {d.year}") == d


def test_columns_are_guessed_from_the_header() -> None:
    header = ["Student Name", "E-mail Address", "Completion date", "Valid until", "Notes"]
    assert sheets.guess_mapping(header) == {
        "name": 0,
        "email": 1,
        "issued_on": 2,
        "expires_on": 3,
    }
    assert sheets.guess_mapping(["a", "b"]) == dict.fromkeys(sheets.FIELDS)
    assert sheets.guess_mapping(["Email", "Name"])["name"] == 1
    assert sheets.guess_mapping(["Full name", "Email", "Completed on"])["issued_on"] == 2


@pytest.mark.parametrize(
    "data",
    [
        b"name,email\nAnn,ann@x.org\n",
        "\ufeffname;email\r\nAnn;ann@x.org\r\n".encode(),
        "name\temail\nAnn\tann@x.org\n".encode("utf-16"),
        "name|email\nAnn|ann@x.org\n".encode("cp1252"),
    ],
)
def test_csv_delimiters_and_encodings(data: bytes) -> None:
    table = read_csv(data)
    assert table.header == ["name", "email"]
    assert table.rows == [(2, ["Ann", "ann@x.org"])]


def test_windows_encoded_names_survive() -> None:
    table = read_csv("name,email\nRenée Ødegård,r@x.org\n".encode("cp1252"))
    assert table.rows[0][1][0] == "Renée Ødegård"


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers() -> None:
    table = read_csv(b"\nname,email\n\nAnn,ann@x.org\n,\nBob,bob@x.org\n")
    assert table.header == ["name", "email"]
    assert [n for n, _ in table.rows] == [4, 6]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"name,email\n", "no rows"),
        (b"\x00\x01\x02\x03binary" * 100, "does not look like a CSV"),
        (b'name,email\n"' + b"x" * 200_000 + b'",a@x.org\n', "cannot be read"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(SpreadsheetError, match=why):
        read_csv(data)


def test_rows_are_capped_and_cells_cut() -> None:
    too_many = b"name,email\n" + b"a,b\n" * (sheets.MAX_ROWS + 1)
    with pytest.raises(SpreadsheetError, match="more than"):
        read_csv(too_many)
    wide = read_csv(b"name,email\n" + b"x" * 5000 + b",a@x.org\n")
    assert len(wide.rows[0][1][0]) == sheets.MAX_CELL


def test_row_checks() -> None:
    ok = sheets.check_row(2, " Ann ", "2026-01-10", "25/01/2027", day_first=True, today=TODAY)
    assert (ok.name, ok.issued_on, ok.expires_on, ok.errors) == (
        "Ann",
        date(2026, 1, 10),
        date(2027, 1, 25),
        [],
    )
    bad = sheets.check_row(3, "", "someday", "", day_first=True, today=TODAY)
    assert [(e.row, e.field) for e in bad.errors] == [(3, "name"), (3, "issued_on")]
    early = sheets.check_row(4, "Bob", "", "2026-01-01", day_first=True, today=TODAY)
    assert [e.field for e in early.errors] == ["expires_on"]  # before today, the issue date
    long = sheets.check_row(5, "x" * 201, "", "", day_first=True, today=TODAY)
    assert "200" in long.errors[0].message


@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=30), st.booleans())
def test_row_checks_never_raise(name: str, issued: str, expires: str, day_first: bool) -> None:
    checked = sheets.check_row(2, name, issued, expires, day_first=day_first, today=TODAY)
    assert all(e.row == 2 for e in checked.errors)
