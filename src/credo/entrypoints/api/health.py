"""Health for load balancers and supervisors: `/healthz` says the process answers (it reads
nothing: a database outage must not get every API process restarted), `/readyz` says it can
serve (the database answers and its schema is the one this code expects)."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from credo import __version__
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.api.problems import problem


@cache
def expected_revision() -> str | None:
    """The newest migration this code ships (read once per process)."""
    from alembic.script import ScriptDirectory

    from credo.adapters.db.migrate import MIGRATIONS

    head: str | None = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    return head


def install(api: FastAPI) -> None:
    @api.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @api.get("/readyz", tags=["operations"], responses={503: {"description": "not ready"}})
    def readyz(credo: AppDep) -> Response:
        try:
            current = credo.runner.read(lambda uow: uow.organizations.schema_revision())
        except Exception as exc:  # whatever keeps the database from answering
            return _not_ready(f"the database does not answer: {type(exc).__name__}")
        expected = expected_revision()
        if current != expected:
            return _not_ready(
                f"the database schema is at {current or 'nothing'}, this code needs {expected}:"
                " run `credo db upgrade`"
            )
        return JSONResponse({"status": "ready", "version": __version__, "schema": current})


def _not_ready(detail: str) -> Response:
    return problem(503, "not_ready", detail)
