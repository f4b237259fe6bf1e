"""Priority and fairness of e-mail, with a real `credo worker` process and a real SMTP
server on PostgreSQL: a password reset is not held back by another organization's 50,000
queued e-mails, and two organizations' backlogs go out at comparable rates."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credo.bootstrap import App, bootstrap
from credo.clock import SystemClock
from credo.domain.accounts import Role
from credo.entrypoints.api.app import create_app
from credo.services.people import members
from credo.settings import Settings
from tests.conftest import ADMIN_TOKEN, MASTER_KEY, Org, create_org
from tests.dashboard.helpers import make_person
from tests.dashboard.mail import set_aside_pending as set_aside
from tests.databases import drop_postgres_database
from tests.e2e.fair_mail import backlog, worker_process
from tests.e2e.server import _postgres_database
from tests.smtp import SmtpServer, running_smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RESET_WITHIN = 5.0  # seconds, the target


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[App, TestClient]]:
    url = _postgres_database()
    settings = Settings(
        environment="test", database_url=url, admin_token=ADMIN_TOKEN, master_key=MASTER_KEY
    )
    credo = bootstrap(settings, clock=SystemClock(), migrate=True)
    try:
        with TestClient(create_app(credo)) as client:
            yield credo, client
    finally:
        credo.close()
        drop_postgres_database(url)


def sent_to(smtp: SmtpServer, prefix: str) -> int:
    return sum(1 for m in list(smtp.messages) if any(r.startswith(prefix) for r in m.rcpt_tos))


def test_a_reset_is_not_held_back_by_another_organizations_50000(
    served: tuple[App, TestClient], tmp_path: Path
) -> None:
    credo, client = served
    set_aside(credo)
    bulk = create_org(client, name="Bulk Academy", plan="enterprise", credits=100_000)
    backlog(credo, bulk, 50_000, "bulk")
    other = create_org(client, name="Small School")
    person = "reset.me@small.example"
    make_person(credo, person, other.id, Role.OWNER)
    with running_smtp_server() as smtp, worker_process(credo, smtp, tmp_path) as worker:
        deadline = time.monotonic() + 60
        while sent_to(smtp, "bulk") < 200:  # the backlog is going out
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        asked = time.monotonic()
        credo.runner.write(
            lambda uow: members.request_password_reset(uow, credo.ctx, email=person, client="test")
        )
        while not smtp.to(person):
            waited = time.monotonic() - asked
            assert waited < RESET_WITHIN, f"no reset after {waited:.1f} s"
            time.sleep(0.02)
        waited = time.monotonic() - asked
        behind = 50_000 - sent_to(smtp, "bulk")
    assert behind > 40_000  # it really jumped a queue
    print(f"reset delivered {waited:.2f} s after the request, ahead of {behind:,} e-mails")


def test_two_organizations_backlogs_go_out_at_comparable_rates(
    served: tuple[App, TestClient], tmp_path: Path
) -> None:
    credo, client = served
    set_aside(credo)
    first: Org = create_org(client, name="First", plan="enterprise", credits=20_000)
    second: Org = create_org(client, name="Second", plan="enterprise", credits=20_000)
    backlog(credo, first, 10_000, "first")  # all of the first's queued before the second's
    backlog(credo, second, 10_000, "second")
    with running_smtp_server() as smtp, worker_process(credo, smtp, tmp_path) as worker:
        deadline = time.monotonic() + 120
        while len(smtp.messages) < 2_000:
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        counts = Counter(
            "first" if m.rcpt_tos[0].startswith("first") else "second" for m in list(smtp.messages)
        )
    low, high = sorted([counts["first"], counts["second"]])
    assert low / high > 0.7, counts
