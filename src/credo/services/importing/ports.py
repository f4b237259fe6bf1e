"""What imports need from storage: the uploads and their progress."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from credo.domain.entities import (
    ImportJob,
)


class Imports(Protocol):
    """Spreadsheet uploads (services/imports.py): one row per upload, its table or its
    validated rows as JSON, and its publishing progress."""

    def add(self, job: ImportJob, rows: str) -> None: ...
    def get(self, org_id: str, job_id: str) -> ImportJob | None:
        """The job without its rows (cheap: for progress polls)."""

    def rows(self, org_id: str, job_id: str) -> str | None: ...
    def save(self, job: ImportJob, rows: str | None = None) -> None:
        """Store the job's state, counters, error and finish time (and rows when given)."""

    def recent(self, org_id: str, limit: int) -> list[ImportJob]: ...
    def heads(self, org_id: str, job_ids: Sequence[str], length: int) -> dict[str, str]:
        """The first `length` characters of each job's rows JSON, by job id (cheap: the
        imports list reads a count from them, never the rows)."""
