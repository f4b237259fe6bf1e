"""Background jobs in tests: run a worker's job steps in this process, as `credo worker`
would in its own."""

from __future__ import annotations

import time

from credo.bootstrap import App
from credo.domain import entities
from credo.domain.entities import ImportJob
from credo.entrypoints.worker.runner import Worker
from credo.services.importing import imports


def finish_import(credo: App, org_id: str, import_id: str, timeout: float = 120) -> ImportJob:
    """Run due jobs (this import's among them) until the import is no longer running."""
    worker = Worker(credo)
    deadline = time.monotonic() + timeout
    while True:
        job = credo.runner.read(lambda uow: imports.get(uow, org_id, import_id))
        if job.state != entities.RUNNING:
            return job
        assert time.monotonic() < deadline, f"import {import_id} still running: {job}"
        if not worker.run_job():
            time.sleep(0.02)
