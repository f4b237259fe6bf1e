"""Backlogs of e-mail for the priority and fairness tests and benchmarks: a real published
credential's e-mail, copied many times over (COPY), and a real `credo worker` process that
sends to a real SMTP server."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.domain.entities import OutboxMessage
from credo.ids import new_ids
from credo.services.ports import UnitOfWork
from tests.conftest import Org
from tests.e2e.server import server_env
from tests.smtp import SmtpServer

_o = t.outbox.c


def backlog(credo: App, org: Org, n: int, tag: str) -> None:
    """`n` e-mails of `org` waiting: its publish announcement, to `n` addresses."""
    group = org.group("Backlog")
    r = org.issue(group, f"{tag}-first@example.org")
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]["id"]
    with credo.engine.connect() as conn:
        row = conn.execute(select(t.outbox).where(_o.credential_id == cred)).one()
    first = OutboxMessage(
        id=row.id,
        organization_id=row.organization_id,
        kind=row.kind,
        to_address=row.to_address,
        credential_id=row.credential_id,
        payload=row.payload,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
    )
    ids = new_ids("mail", n, credo.clock.now())
    copies = [replace(first, id=ids[i], to_address=f"{tag}{i}@example.org") for i in range(n)]
    for start in range(0, n, 10_000):
        chunk = copies[start : start + 10_000]

        def add(uow: UnitOfWork, chunk: list[OutboxMessage] = chunk) -> None:
            uow.outbox.add_many(chunk)

        credo.runner.write(add)


@contextmanager
def worker_process(
    credo: App, smtp: SmtpServer, workdir: Path
) -> Iterator[subprocess.Popen[bytes]]:
    env = server_env(credo.settings.database_url)
    env.update(
        CREDO_SMTP_HOST=smtp.host,
        CREDO_SMTP_PORT=str(smtp.port),
        CREDO_SMTP_SECURITY="none",
        CREDO_EXPIRY_REMINDER_DAYS="0",
        CREDO_LOG_FORMAT="json",
    )
    with (workdir / "worker.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "credo.entrypoints.cli.main", "worker", "--poll", "0.2"],
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
