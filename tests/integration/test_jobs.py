"""Background jobs: written with their cause, claimed with leases by any number of workers,
retried with backoff, given up visibly; e-mails by lane, organizations in turn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.clock import FixedClock
from credo.domain import entities
from credo.domain.entities import Job, OutboxMessage
from credo.domain.jobs import Backoff, Lane, mail_lane
from credo.entrypoints.cli.main import app as cli
from credo.entrypoints.worker.runner import Worker
from credo.ids import new_ids
from credo.services import jobs
from credo.services.importing import imports
from tests.conftest import MASTER_KEY, Org, create_org

_j = t.jobs.c
_o = t.outbox.c


@pytest.fixture(autouse=True)
def quiet_queues(credo: App) -> None:
    """Tests share a database: what earlier tests left pending is not this test's to run."""
    now = credo.clock.now()
    with credo.engine.begin() as conn:
        conn.execute(
            update(t.jobs)
            .where(_j.finished_at.is_(None), _j.failed_at.is_(None))
            .values(failed_at=now, singleton=None, last_error="set aside by an earlier test")
        )
        conn.execute(
            update(t.outbox)
            .where(_o.sent_at.is_(None), _o.failed_at.is_(None))
            .values(failed_at=now, last_error="set aside by an earlier test")
        )


def started_import(credo: App, org: Org, rows: int) -> str:
    gid = org.group("Course")
    data = ("Name,Email\n" + "".join(f"P{i},p{i}@x.org\n" for i in range(rows))).encode()
    table = imports.read_upload("people.csv", data)
    job = credo.runner.write(
        lambda uow: imports.create(uow, credo.ctx, org.id, None, gid, "people.csv", table)
    )
    credo.runner.write(
        lambda uow: imports.validate(
            uow, credo.ctx, org.id, job.id, {"name": 0, "email": 1}, day_first=True
        )
    )
    credo.runner.write(lambda uow: imports.start(uow, credo.ctx, org.id, job.id, publish=True))
    return job.id


def import_state(credo: App, org: Org, import_id: str) -> entities.ImportJob:
    return credo.runner.read(lambda uow: imports.get(uow, org.id, import_id))


def credentials_of(credo: App, org_id: str) -> int:
    q = (
        select(func.count())
        .select_from(t.credentials)
        .where(t.credentials.c.organization_id == org_id)
    )
    with credo.engine.connect() as conn:
        return int(conn.scalar(q) or 0)


def job_rows(credo: App, **where: Any) -> list[dict[str, Any]]:
    q = select(t.jobs).where(*(t.jobs.c[k] == v for k, v in where.items())).order_by(_j.id)
    with credo.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


# --- written with the change that causes it -------------------------------------------------


def test_a_started_import_is_a_job_and_a_rolled_back_start_is_none(credo: App, org: Org) -> None:
    gid = org.group("Course")
    table = imports.read_upload("a.csv", b"Name,Email\nAnn,ann@x.org\n")
    job = credo.runner.write(
        lambda uow: imports.create(uow, credo.ctx, org.id, None, gid, "a.csv", table)
    )
    credo.runner.write(
        lambda uow: imports.validate(
            uow, credo.ctx, org.id, job.id, {"name": 0, "email": 1}, day_first=True
        )
    )
    with credo.uow() as uow:  # started, then rolled back
        imports.start(uow, credo.ctx, org.id, job.id, publish=True)
    assert job_rows(credo, subject_id=job.id) == []
    credo.runner.write(lambda uow: imports.start(uow, credo.ctx, org.id, job.id, publish=True))
    [row] = job_rows(credo, subject_id=job.id)
    assert (row["kind"], row["organization_id"], row["priority"]) == (
        "import",
        org.id,
        Lane.CREDENTIAL,
    )
    assert row["singleton"] == f"import:{job.id}" and row["finished_at"] is None


# --- leases: a dead worker's job goes to the next, nothing is done twice -------------------


def test_a_dead_workers_import_is_taken_up_after_its_lease(
    credo: App, org: Org, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK", 2)
    import_id = started_import(credo, org, 5)
    dying = Worker(credo, name="dying")
    now = clock.now()
    with credo.uow() as uow:
        claimed = uow.jobs.claim(now, now + dying.lease, dying.name)
        uow.commit()
    assert claimed is not None and claimed.subject_id == import_id and claimed.attempts == 1
    # It publishes its first chunk, then dies before saying how the step went.
    imports.step(credo.uow, credo.ctx, org.id, import_id)
    assert credentials_of(credo, org.id) == 2
    [row] = job_rows(credo, subject_id=import_id)
    assert row["leased_by"] == "dying" and row["leased_until"] == now + dying.lease

    other = Worker(credo, name="other")
    assert other.run_job() is False  # the lease holds
    clock.set(now + dying.lease + timedelta(seconds=1))
    while other.run_job():
        pass
    final = import_state(credo, org, import_id)
    assert (final.state, final.done, final.credits_charged) == ("done", 5, 5)
    assert credentials_of(credo, org.id) == 5 and org.used() == 5
    [row] = job_rows(credo, subject_id=import_id)
    assert row["finished_at"] is not None and row["singleton"] is None and row["leased_by"] is None


def test_imports_of_two_organizations_advance_in_turn(
    credo: App, client: Any, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK", 2)
    a = create_org(client, name="A", sandbox=True, anchor="2026-01-15")
    b = create_org(client, name="B", sandbox=True, anchor="2026-01-15")
    first = started_import(credo, a, 10)
    second = started_import(credo, b, 10)
    worker = Worker(credo)
    for _ in range(4):
        clock.set(clock.now() + timedelta(seconds=1))  # a chunk takes time
        assert worker.run_job()
    # Two chunks each, not four of the first.
    assert import_state(credo, a, first).done == 4
    assert import_state(credo, b, second).done == 4


# --- retries and failure --------------------------------------------------------------------


class Boom:
    def __init__(self) -> None:
        self.gave_up: list[str] = []
        self.runs = 0

    def run(self, job: Job, now: datetime) -> datetime | None:
        self.runs += 1
        raise RuntimeError("the printer is on fire")

    def given_up(self, job: Job, error: str) -> None:
        self.gave_up.append(error)


def test_a_failing_job_is_retried_with_backoff_then_given_up_with_its_error(
    credo: App, clock: FixedClock
) -> None:
    boom = Boom()
    worker = Worker(credo, handlers={"test.boom": boom}, policy=Backoff(3, timedelta(minutes=1)))
    credo.runner.write(lambda uow: jobs.enqueue(uow, "test.boom", clock.now()))
    start = clock.now()
    assert worker.run_job()
    [row] = job_rows(credo, kind="test.boom")
    assert row["attempts"] == 1 and row["run_at"] == start + timedelta(minutes=1)
    assert row["last_error"] == "RuntimeError: the printer is on fire" and row["failed_at"] is None
    assert worker.run_job() is False  # not due yet
    clock.set(start + timedelta(minutes=1))
    assert worker.run_job()
    [row] = job_rows(credo, kind="test.boom")
    assert row["run_at"] == start + timedelta(minutes=3)  # 1 minute, then 2
    clock.set(start + timedelta(minutes=3))
    assert worker.run_job()
    [row] = job_rows(credo, kind="test.boom")
    assert row["failed_at"] == start + timedelta(minutes=3) and row["attempts"] == 3
    assert boom.runs == 3 and boom.gave_up == ["RuntimeError: the printer is on fire"]
    clock.set(start + timedelta(days=30))
    assert worker.run_job() is False  # given up for good
    # Operators see it.
    with credo.uow(write=False) as uow:
        stats = {s.queue: s for s in uow.jobs.stats(clock.now())}
        [(failed, _, error)] = [f for f in uow.jobs.failures(50) if f[0].kind == "test.boom"]
    assert stats["test.boom"].failed >= 1 and stats["test.boom"].pending == 0
    assert error.endswith("on fire") and failed.id == row["id"]


def test_an_import_given_up_says_so_on_the_import(
    credo: App, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_id = started_import(credo, org, 3)

    def broken(*_: Any, **__: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr(imports, "run_chunk", broken)
    worker = Worker(credo, policy=Backoff(1))
    assert worker.run_job()
    job = import_state(credo, org, import_id)
    assert job.state == "failed" and "an internal error stopped it" in (job.error or "")
    [row] = job_rows(credo, subject_id=import_id)
    assert row["failed_at"] is not None and "disk on fire" in row["last_error"]


def test_a_job_of_an_unknown_kind_waits_for_a_worker_that_knows_it(
    credo: App, clock: FixedClock
) -> None:
    credo.runner.write(lambda uow: jobs.enqueue(uow, "from.the.future", clock.now()))
    assert Worker(credo).run_job()
    [row] = job_rows(credo, kind="from.the.future")
    assert row["failed_at"] is None and row["run_at"] > clock.now()
    assert "does not know jobs of kind 'from.the.future'" in row["last_error"]


def test_the_expiry_sweep_is_one_job_whatever_the_workers(credo: App, clock: FixedClock) -> None:
    for worker in (Worker(credo), Worker(credo)):
        worker.ensure_periodic()
    [sweep] = [r for r in job_rows(credo, kind=jobs.EXPIRY_REMINDERS) if r["failed_at"] is None]
    assert sweep["singleton"] == jobs.EXPIRY_REMINDERS and sweep["priority"] == Lane.BULK
    [hooks] = [r for r in job_rows(credo, kind=jobs.WEBHOOK_EXPIRIES) if r["failed_at"] is None]
    assert hooks["singleton"] == jobs.WEBHOOK_EXPIRIES and hooks["priority"] == Lane.BULK
    assert Worker(credo).run_job()
    [row] = job_rows(credo, id=sweep["id"])
    assert row["run_at"] == clock.now() + timedelta(hours=1) and row["finished_at"] is None
    assert row["attempts"] == 0 and row["leased_until"] is None


# --- e-mails: account lane first, then organizations in turn --------------------------------


def enqueue_mail(credo: App, org_id: str, kind: str, n: int, at: datetime) -> list[str]:
    ids = new_ids("mail", n, at)
    messages = [
        OutboxMessage(
            id=i,
            organization_id=org_id,
            kind=kind,
            to_address=f"{i}@example.org",
            credential_id=None,
            payload="{}",
            created_at=at,
            next_attempt_at=at,
        )
        for i in ids
    ]
    credo.runner.write(lambda uow: uow.outbox.add_many(messages))
    return ids


def test_account_mail_goes_first_then_each_organization_in_turn(
    credo: App, client: Any, clock: FixedClock
) -> None:
    a, b, c = (create_org(client, name=n).id for n in "ABC")
    early = clock.now() - timedelta(hours=1)
    enqueue_mail(credo, a, "credential.published", 30, early)  # a bulk, queued first
    enqueue_mail(credo, b, "credential.published", 3, clock.now())
    [reset] = enqueue_mail(credo, c, "password.reset", 1, clock.now())
    now = clock.now()
    cursor = ""
    served: list[list[str]] = []
    for _ in range(3):
        with credo.uow() as uow:
            batch, cursor = uow.outbox.claim(now, now + timedelta(minutes=5), 5, cursor)
            uow.commit()
        served.append([m.organization_id for m in batch])
    # The reset first, though a's bulk was queued an hour before; then b's three e-mails
    # after one batch of a's, not after all thirty.
    assert served == [[c, a, a, a, a], [b, b, b], [a] * 5]
    assert reset in job_ids_claimed(credo)


def job_ids_claimed(credo: App) -> set[str]:
    with credo.engine.connect() as conn:
        return set(conn.scalars(select(_o.id).where(_o.leased_until.is_not(None))))


def test_mail_lanes() -> None:
    assert mail_lane("password.reset") == mail_lane("account.invite") == Lane.ACCOUNT
    assert mail_lane("credits.alert") == Lane.ACCOUNT
    assert mail_lane("credential.published") == Lane.CREDENTIAL
    assert mail_lane("credential.expiring") == Lane.BULK


def test_a_stopping_worker_hands_back_what_it_has_not_sent(
    credo: App, org: Org, clock: FixedClock
) -> None:
    ids = enqueue_mail(credo, org.id, "credential.published", 4, clock.now())
    stop = threading.Event()
    stop.set()  # SIGTERM arrived just after the claim
    report = Worker(credo).mail.run_once(stop)  # type: ignore[union-attr]
    assert report.handled == 0
    with credo.engine.connect() as conn:
        found = conn.execute(select(_o.leased_until, _o.attempts).where(_o.id.in_(ids))).all()
    assert found == [(None, 0)] * 4


# --- many workers ---------------------------------------------------------------------------


class Count:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def run(self, job: Job, now: datetime) -> datetime | None:
        with self.lock:
            self.seen.append(job.id)
        time.sleep(0.002)
        return None

    def given_up(self, job: Job, error: str) -> None:
        raise AssertionError(error)


def test_concurrent_workers_run_each_job_once(credo: App, clock: FixedClock) -> None:
    def enqueue(uow: Any) -> None:
        for _ in range(60):
            jobs.enqueue(uow, "test.count", clock.now())

    credo.runner.write(enqueue)
    count = Count()
    workers = [Worker(credo, name=f"w{i}", handlers={"test.count": count}) for i in range(4)]
    barrier = threading.Barrier(len(workers))

    def work(w: Worker) -> None:
        barrier.wait()
        while w.run_job():
            pass

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert len(count.seen) == 60 and len(set(count.seen)) == 60
    done = job_rows(credo, kind="test.count")
    assert all(r["finished_at"] is not None and r["attempts"] == 1 for r in done)


# --- the command ----------------------------------------------------------------------------


def test_credo_worker_stops_on_sigterm(credo: App, tmp_path: Any) -> None:
    env = {
        **os.environ,
        "CREDO_DATABASE_URL": credo.settings.database_url,
        "CREDO_ENVIRONMENT": "test",
        "CREDO_MASTER_KEY": MASTER_KEY,
        "CREDO_MAILBOX_DIR": str(tmp_path / "mail"),
    }
    log = (tmp_path / "worker.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "credo.entrypoints.cli.main", "worker", "--poll", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "Ctrl-C stops" in proc.stdout.readline()  # it is working
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        log.close()
    assert "stopped" in (tmp_path / "worker.log").read_text()


def test_credo_jobs_lists_queues_and_failures(credo: App, clock: FixedClock) -> None:
    credo.runner.write(lambda uow: jobs.enqueue(uow, "from.the.future", clock.now()))
    boom = Boom()
    credo.runner.write(lambda uow: jobs.enqueue(uow, "test.boom", clock.now()))
    Worker(credo, handlers={"test.boom": boom}, policy=Backoff(1)).run_job()
    Worker(credo, handlers={"test.boom": boom}, policy=Backoff(1)).run_job()
    env = {
        "CREDO_DATABASE_URL": credo.settings.database_url,
        "CREDO_ENVIRONMENT": "test",
        "CREDO_MASTER_KEY": MASTER_KEY,
    }
    result = CliRunner().invoke(cli, ["jobs"], env=env)
    assert result.exit_code == 0, result.output
    assert "test.boom" in result.output and "on fire" in result.output
