"""Where a request's time goes, for the Server-Timing response header: code marks phases
with `phase("sign")`; the API middleware reports them, and each phase is also told to the
telemetry sink (signing and rendering time for operators)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from credo import telemetry

_phases: ContextVar[dict[str, float] | None] = ContextVar("credo_phases", default=None)


def start() -> dict[str, float]:
    """Begin collecting phases for the current request; returns the live record."""
    record: dict[str, float] = {}
    _phases.set(record)
    return record


@contextmanager
def phase(name: str) -> Iterator[None]:
    record = _phases.get()
    if record is None and telemetry.installed() is None:
        yield
        return
    began = time.perf_counter()
    try:
        yield
    finally:
        spent = time.perf_counter() - began
        if record is not None:
            record[name] = record.get(name, 0.0) + spent
        telemetry.phase(name, spent)
