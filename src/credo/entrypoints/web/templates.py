"""The one Jinja2 environment: templates compile once per process and are cached."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from credo.services.billing.credit_reports import share_label


def long_date(d: date | datetime | None) -> str:
    """25 November 2026: unambiguous to every reader, unlike 11/25/2026."""
    if d is None:
        return ""
    return f"{d.day} {d:%B %Y}"


def month_year(d: date | None) -> str:
    return "" if d is None else f"{d:%B %Y}"


def counted(n: int, one: str, many: str | None = None) -> str:
    """ "1 row", "3 rows", "12,000 rows": a count with its noun in the right number."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def long_time(at: datetime) -> str:
    """14:05 on 25 November 2026."""
    return f"{at:%H:%M} on {long_date(at)}"


def short_date(d: date | datetime) -> str:
    """2 Dec 2026."""
    return f"{d.day} {d:%b %Y}"


def audit_value(value: object) -> str:
    """A value of an audit log entry in words: lists and objects as compact JSON."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        return text if len(text) <= 300 else text[:300] + "…"
    return str(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("credo", "templates"),
        autoescape=True,
        # Templates ship with the package and never change under a running process.
        auto_reload=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    env.filters["long_time"] = long_time
    env.filters["month_year"] = month_year
    env.filters["counted"] = counted
    env.filters["short_date"] = short_date
    env.filters["share"] = share_label
    env.filters["audit_value"] = audit_value
    return env


def render(name: str, **values: object) -> str:
    return environment().get_template(name).render(**values)
