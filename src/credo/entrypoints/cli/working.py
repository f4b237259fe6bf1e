"""Background work: `credo worker` and `credo jobs`."""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from credo.entrypoints.cli.common import app, escape, opened, out

if TYPE_CHECKING:
    from credo.services.ports import UnitOfWork


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Do what is due, then exit.")] = False,
    poll: Annotated[
        float, typer.Option(metavar="SECONDS", help="How long to wait between looks for work.")
    ] = 1.0,
) -> None:
    """Do the background work until stopped. It sends e-mails and expiry reminders and
    runs spreadsheet imports; run as many workers as you like, on any machines sharing the
    database. SIGTERM or Ctrl-C finishes the step in flight and hands back the rest. Set
    CREDO_WORKER_IN_SERVER=false for `credo serve` when workers run apart."""
    from credo import logs
    from credo.domain.audit_log import SYSTEM
    from credo.entrypoints.cli.serving import _PARENT_ENV, _stop_with_parent
    from credo.entrypoints.worker.runner import Worker
    from credo.services import audit_log
    from credo.settings import Settings

    settings = Settings()
    logs.configure(logs.chosen_format(settings.log_format, settings.environment))
    with opened() as credo, audit_log.acting(SYSTEM):  # what it does is Credo's own
        runner = Worker(credo)
        if once:
            r = runner.drain()
            m = r.mail
            out.print(
                f"sent {m.sent}, to retry {m.retried}, given up {m.failed}; {r.jobs} job steps"
            )
            return
        stop = threading.Event()
        parent = os.environ.get(_PARENT_ENV)
        if parent:
            _stop_with_parent(int(parent), stop)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        assert runner.mail is not None
        out.print(f"worker {runner.name}: e-mails through {runner.mail.sender!r}; Ctrl-C stops")
        runner.run(stop, poll)


@app.command()
def jobs(
    failures: Annotated[
        int, typer.Option(metavar="N", help="How many of the latest given-up jobs to list.")
    ] = 10,
) -> None:
    """Show the queues of background work. Lists what waits in each (e-mail lanes, job
    kinds) and the latest given-up jobs with their errors."""
    from rich.table import Table

    with opened() as credo:
        now = credo.clock.now()

        def read(uow: UnitOfWork) -> tuple[list[Any], list[Any]]:
            return uow.outbox.stats(now) + uow.jobs.stats(now), uow.jobs.failures(failures)

        stats, failed = credo.runner.read(read)
    table = Table(title="Queues")
    for col in ("queue", "pending", "due now", "oldest due", "running", "given up"):
        table.add_column(col)
    for q in sorted(stats, key=lambda q: q.queue):
        oldest = f"{(now - q.oldest_due_at).total_seconds():,.0f} s ago" if q.oldest_due_at else ""
        table.add_row(q.queue, str(q.pending), str(q.due), oldest, str(q.running), str(q.failed))
    out.print(table)
    if failed:
        gone = Table(title="Latest given up")
        for col in ("job", "kind", "organization", "when", "tries", "last error"):
            gone.add_column(col, overflow="fold")
        for job, at, error in failed:
            gone.add_row(
                job.id,
                job.kind,
                job.organization_id or "",
                at.isoformat(timespec="seconds"),
                str(job.attempts),
                escape(error),
            )
        out.print(gone)
