"""Where a request's time goes, for the Server-Timing response header: code marks phases
with `phase("sign")`; the API middleware reports them. Costs nothing outside a request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_phases: ContextVar[dict[str, float] | None] = ContextVar("credo_phases", default=None)


def start() -> dict[str, float]:
    """Begin collecting phases for the current request; returns the live record."""
    record: dict[str, float] = {}
    _phases.set(record)
    return record


@contextmanager
def phase(name: str) -> Iterator[None]:
    record = _phases.get()
    if record is None:
        yield
        return
    began = time.perf_counter()
    try:
        yield
    finally:
        record[name] = record.get(name, 0.0) + time.perf_counter() - began
