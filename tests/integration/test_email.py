"""E-mail to recipients: outbox rows written with the publish, sent by the worker over real
SMTP (aiosmtpd on loopback), retried with backoff on the injected clock, never twice at once."""

from __future__ import annotations

import io
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select, update
from typer.testing import CliRunner

from credo.adapters.db import tables as t
from credo.adapters.db.uow import SqlUnitOfWorkFactory
from credo.adapters.mail.mailbox import FileMailbox
from credo.adapters.mail.smtp import SmtpSender
from credo.bootstrap import App, bootstrap, mail_sender
from credo.clock import FixedClock
from credo.domain.jobs import Backoff
from credo.entrypoints.cli.main import _embedded_worker
from credo.entrypoints.cli.main import app as cli
from credo.services.mail.badge_art import BadgeArt
from credo.services.mail.mailing import MailWorker
from credo.services.recipients import recipient_links
from credo.settings import Settings
from tests.conftest import MASTER_KEY, Org, create_org
from tests.smtp import SmtpServer, running_smtp_server
from tests.smtp import smtp_server as smtp_server_fixture

smtp_server = smtp_server_fixture  # the fixture, for this module's tests
FROM = "badges@university.example"
_o = t.outbox.c


@pytest.fixture(autouse=True)
def quiet_outbox(credo: App) -> None:
    """Tests share a database: set aside what earlier tests left pending, so a worker here
    sends only this test's e-mails (and a failing server fails on them)."""
    with credo.engine.begin() as conn:
        conn.execute(
            update(t.outbox)
            .where(_o.sent_at.is_(None), _o.failed_at.is_(None))
            .values(failed_at=credo.clock.now(), last_error="set aside by an earlier test")
        )


def rows(credo: App, org_id: str) -> list[dict[str, Any]]:
    with credo.engine.connect() as conn:
        found = conn.execute(
            select(t.outbox).where(_o.organization_id == org_id).order_by(_o.id)
        ).all()
    return [dict(r._mapping) for r in found]


def smtp_worker(credo: App, smtp: SmtpServer, **kw: Any) -> MailWorker:
    sender = SmtpSender(smtp.host, smtp.port, security="none", timeout=5)
    return MailWorker(credo.uow, credo.ctx, sender, FROM, **kw)


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def publish_one(org: Org, email: str, name: str = "Ada Lovelace", group: str = "") -> str:
    r = org.issue(group or org.group("Data Literacy"), email, name)
    assert r.status_code == 201, r.text
    cred_id: str = r.json()["credential"]["id"]
    return cred_id


# --- enqueued with the publish, in its transaction ---------------------------------------


def test_a_publish_enqueues_exactly_one_email(credo: App, org: Org) -> None:
    cred_id = publish_one(org, "Ada@Example.org")
    [row] = rows(credo, org.id)
    assert row["kind"] == "credential.published"
    assert row["credential_id"] == cred_id
    assert row["to_address"].lower() == "ada@example.org"
    assert row["next_attempt_at"] == credo.clock.now()
    assert row["attempts"] == 0 and row["sent_at"] is None and row["failed_at"] is None


def test_drafts_dry_runs_and_refusals_enqueue_nothing(credo: App, client: Any) -> None:
    org = create_org(client, sandbox=True, anchor="2026-01-15", plan="enterprise", credits=1)
    gid = org.group()
    assert org.issue(gid, "dry@example.org", dry_run=True).status_code == 200
    r = org.issue(gid, "draft@example.org", publish=False)
    assert r.status_code == 201, r.text
    draft_id = r.json()["credential"]["id"]
    assert rows(credo, org.id) == []
    # Two new recipients, one credit: the bulk is refused whole, its e-mails too.
    bulk = [{"recipient": {"name": "N", "email": f"r{i}@example.org"}} for i in range(2)]
    r = org.post("/v1/credentials/bulk", {"group_id": gid, "credentials": bulk})
    assert r.status_code == 402, r.text
    assert rows(credo, org.id) == []
    # Publishing the draft sends its one e-mail.
    assert org.post(f"/v1/credentials/{draft_id}/publish", {}).status_code == 200
    [row] = rows(credo, org.id)
    assert (row["credential_id"], row["to_address"]) == (draft_id, "draft@example.org")


def test_a_bulk_of_n_enqueues_n(credo: App, org: Org) -> None:
    gid = org.group()
    bulk = [{"recipient": {"name": f"R {i}", "email": f"b{i}@example.org"}} for i in range(120)]
    r = org.post("/v1/credentials/bulk", {"group_id": gid, "credentials": bulk})
    assert r.status_code == 201, r.text
    ids = {c["id"] for c in r.json()["credentials"]}
    found = rows(credo, org.id)
    assert len(found) == 120
    assert {row["credential_id"] for row in found} == ids
    assert len({row["id"] for row in found}) == 120


def test_renewal_and_new_recipient_are_announced_other_edits_not(credo: App, org: Org) -> None:
    cred_id = publish_one(org, "first@example.org")
    path = f"/v1/credentials/{cred_id}"
    assert org.patch(path, {"recipient": {"name": "Ada King"}}).status_code == 200
    assert len(rows(credo, org.id)) == 1
    assert org.patch(path, {"recipient": {"email": "second@example.org"}}).status_code == 200
    org.move_clock("2027-02-01T00:00:00Z")  # the next billing year: a date change renews
    r = org.patch(path, {"expires_on": "2030-01-01"})
    assert r.status_code == 200, r.text
    assert r.json()["credits_charged"] == 1
    found = [(row["kind"], row["to_address"]) for row in rows(credo, org.id)]
    assert found == [
        ("credential.published", "first@example.org"),
        ("credential.published", "second@example.org"),
        ("credential.renewed", "second@example.org"),
    ]


# --- delivered over SMTP -------------------------------------------------------------------


def inline_badge(msg: EmailMessage) -> tuple[str, Image.Image]:
    """The badge the HTML shows from inside the e-mail: the cid: it names, and the image/png
    part with that Content-ID, read as a PNG."""
    html = msg.get_body(("html",))
    assert html is not None
    found = re.search(r'<img src="cid:([^"]+)"[^>]* alt="([^"]+)"', html.get_content())
    assert found, html.get_content()
    cid, alt = found.groups()
    assert alt.startswith("Badge: ")
    [png] = [p for p in msg.walk() if p.get("Content-ID") == f"<{cid}>"]
    assert png.get_content_type() == "image/png"
    # It travels beside the HTML it illustrates, in a multipart/related.
    related = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1 and png in related[0].iter_parts()
    image = Image.open(io.BytesIO(png.get_content()))
    image.verify()
    image = Image.open(io.BytesIO(png.get_content()))
    assert image.format == "PNG"
    return cid, image


def test_the_worker_delivers_html_and_text_with_the_links(
    credo: App, org: Org, smtp_server: SmtpServer
) -> None:
    gid = org.group("Data <b>Literacy</b> & Ethics")
    cred_id = publish_one(org, "ada@example.org", "Ada <script>x</script>", gid)
    report = smtp_worker(credo, smtp_server, badges=BadgeArt(credo.badges)).drain()
    assert report.sent == 1
    [got] = smtp_server.to("ada@example.org")
    assert got.mail_from == FROM
    msg = got.message
    [row] = rows(credo, org.id)
    assert msg["Message-ID"] == f"<{row['id']}@university.example>"
    assert msg["From"].addresses[0].display_name == "Test Org"
    assert msg["From"].addresses[0].addr_spec == FROM
    assert "Data <b>Literacy</b> & Ethics" in msg["Subject"]
    text, html = parts(msg)
    page = f"http://127.0.0.1:8000/c/{cred_id}"
    manage = recipient_links.manage_url(credo.ctx, cred_id)
    for body in (text, html):
        assert "Test Org" in body
        assert page in body
    assert manage in text
    assert manage.replace("&", "&amp;") in html or manage in html
    assert "Manage this credential" in html and "Manage this credential" in text
    # User-given text is escaped in HTML, kept as written in plain text.
    assert "<script>" not in html and "Ada &lt;script&gt;x&lt;/script&gt;" in html
    assert "Data &lt;b&gt;Literacy&lt;/b&gt; &amp; Ethics" in html
    assert "Ada <script>x</script>" in text
    assert re.search(r"Issued on \d{1,2} [A-Z][a-z]+ 20\d\d", text)
    # The badge is carried in the e-mail, for mail programs that block remote images; the
    # plain-text part stays as it was.
    cid, image = inline_badge(msg)
    assert cid.endswith("@university.example") and image.size == (320, 320)  # 2x its 160 px
    # Small, as a bulk's thousands of e-mails each carry it: a palette, a few kilobytes.
    [png] = [p for p in msg.walk() if p.get("Content-ID") == f"<{cid}>"]
    assert image.mode == "P" and len(png.get_content()) < 20_000
    assert "cid:" not in text
    assert 'alt="Badge: Data &lt;b&gt;Literacy&lt;/b&gt; &amp; Ethics, from Test Org"' in html
    [row] = rows(credo, org.id)
    assert row["sent_at"] == credo.clock.now() and row["attempts"] == 1
    assert row["leased_until"] is None and row["last_error"] is None
    # Sent rows stay sent.
    assert smtp_worker(credo, smtp_server).drain().handled == 0


@pytest.mark.parametrize("failure", ["451", "421", "drop"])
def test_transient_failures_are_retried_with_backoff_and_delivered_once(
    credo: App, org: Org, clock: FixedClock, failure: Any
) -> None:
    publish_one(org, "retry@example.org")
    start = clock.now()
    with running_smtp_server(fail_first=2, failure=failure) as smtp:
        worker = smtp_worker(credo, smtp)
        assert worker.run_once().retried == 1
        [row] = rows(credo, org.id)
        assert row["attempts"] == 1 and row["sent_at"] is None
        assert row["next_attempt_at"] == start + timedelta(minutes=1)
        assert row["last_error"]
        assert worker.run_once().handled == 0  # not due yet: no sleeping, no sending
        clock.set(start + timedelta(minutes=1))
        assert worker.run_once().retried == 1
        [row] = rows(credo, org.id)
        assert row["next_attempt_at"] == start + timedelta(minutes=1 + 2)
        clock.set(start + timedelta(minutes=3))
        assert worker.run_once().sent == 1
        assert len(smtp.to("retry@example.org")) == 1
        assert smtp.attempts == 3
        [row] = rows(credo, org.id)
        assert row["sent_at"] == start + timedelta(minutes=3) and row["attempts"] == 3
        clock.set(start + timedelta(days=30))
        assert worker.drain().handled == 0
    assert len(smtp.messages) == 1


def test_a_server_outage_puts_the_whole_batch_back(credo: App, org: Org) -> None:
    gid = org.group()
    for i in range(3):
        publish_one(org, f"down{i}@example.org", group=gid)
    with running_smtp_server(fail_first=1, failure="421") as smtp:
        report = smtp_worker(credo, smtp).run_once()
    assert (report.sent, report.retried) == (0, 3)
    assert smtp.attempts == 1  # the batch stopped at the first answer
    assert all(r["sent_at"] is None and r["last_error"] for r in rows(credo, org.id))


def test_a_permanent_refusal_is_recorded_and_not_retried(
    credo: App, org: Org, clock: FixedClock
) -> None:
    publish_one(org, "nobody@example.org")
    with running_smtp_server(fail_first=1, failure="550") as smtp:
        worker = smtp_worker(credo, smtp)
        assert worker.run_once().failed == 1
        clock.set(clock.now() + timedelta(days=365))
        assert worker.drain().handled == 0
        assert smtp.messages == [] and smtp.attempts == 1
    [row] = rows(credo, org.id)
    assert row["failed_at"] is not None and row["sent_at"] is None
    assert row["last_error"].startswith("message refused: 550")


def test_a_credential_deleted_before_sending_is_not_announced(credo: App, org: Org) -> None:
    gone = publish_one(org, "gone@example.org")
    kept = publish_one(org, "kept@example.org")
    assert org.delete(f"/v1/credentials/{gone}").status_code == 204
    with running_smtp_server() as smtp:
        report = smtp_worker(credo, smtp).drain()
        assert report.sent == 1 and report.failed == 1
        assert [m.rcpt_tos for m in smtp.messages] == [["kept@example.org"]]
    by_credential = {r["credential_id"]: r for r in rows(credo, org.id)}
    assert by_credential[kept]["sent_at"] is not None
    assert by_credential[gone]["sent_at"] is None
    assert by_credential[gone]["last_error"] == "not sent: the credential was deleted"


def test_transient_failures_give_up_after_max_attempts(
    credo: App, org: Org, clock: FixedClock
) -> None:
    publish_one(org, "flaky@example.org")
    with running_smtp_server(fail_first=100, failure="451") as smtp:
        worker = smtp_worker(credo, smtp, policy=Backoff(max_attempts=3))
        outcomes = []
        for _ in range(5):
            outcomes.append(worker.run_once())
            clock.set(clock.now() + timedelta(hours=1))
        assert [(r.retried, r.failed) for r in outcomes] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
        assert smtp.attempts == 3
    [row] = rows(credo, org.id)
    assert row["failed_at"] is not None and row["attempts"] == 3
    assert "451" in row["last_error"]


def test_a_crash_after_sending_resends_with_the_same_message_id(
    credo: App, org: Org, clock: FixedClock, smtp_server: SmtpServer
) -> None:
    """At least once: the row is sent again only after its lease ran out."""
    publish_one(org, "crash@example.org")

    class Crash(BaseException):
        pass

    class CrashingAfterSend:
        def __init__(self, real: SmtpSender) -> None:
            self.real = real

        def session(self) -> Any:
            outer = self

            class Session:
                def __init__(self, inner: Any) -> None:
                    self.inner = inner

                def send(self, message: EmailMessage) -> None:
                    self.inner.send(message)
                    raise Crash

            @contextmanager
            def opened() -> Iterator[Session]:
                with outer.real.session() as inner:
                    yield Session(inner)

            return opened()

    real = SmtpSender(smtp_server.host, smtp_server.port, security="none", timeout=5)
    crashing = MailWorker(credo.uow, credo.ctx, CrashingAfterSend(real), FROM)
    with pytest.raises(Crash):
        crashing.run_once()
    worker = smtp_worker(credo, smtp_server)
    assert worker.run_once().handled == 0  # leased: nobody sends it meanwhile
    clock.set(clock.now() + worker.lease)
    assert worker.run_once().sent == 1
    first, second = smtp_server.to("crash@example.org")
    assert first.message["Message-ID"] == second.message["Message-ID"]
    [row] = rows(credo, org.id)
    assert row["attempts"] == 2 and row["sent_at"] is not None


def test_concurrent_workers_never_send_a_row_twice(
    credo: App, org: Org, smtp_server: SmtpServer
) -> None:
    gid = org.group()
    bulk = [{"recipient": {"name": "R", "email": f"c{i}@example.org"}} for i in range(60)]
    assert (
        org.post("/v1/credentials/bulk", {"group_id": gid, "credentials": bulk}).status_code == 201
    )
    # Separate unit-of-work factories: on SQLite they meet only in the database's lock.
    workers = [
        MailWorker(
            SqlUnitOfWorkFactory(credo.engine),
            credo.ctx,
            SmtpSender(smtp_server.host, smtp_server.port, security="none", timeout=5),
            FROM,
            batch=3,
        )
        for _ in range(4)
    ]
    barrier = threading.Barrier(len(workers))
    sent: list[int] = []
    errors: list[BaseException] = []

    def work(w: MailWorker) -> None:
        try:
            barrier.wait()
            sent.append(w.drain().sent)
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert errors == []
    assert sum(sent) == 60
    ids = Counter(m.message["Message-ID"] for m in smtp_server.messages)
    assert len(ids) == 60 and set(ids.values()) == {1}
    assert all(r["sent_at"] is not None and r["attempts"] == 1 for r in rows(credo, org.id))


def test_the_smtp_password_is_never_shown(
    credo: App, org: Org, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-Wrong-Passw0rd"
    settings = Settings(
        environment="test",
        master_key=MASTER_KEY,
        smtp_host="127.0.0.1",
        smtp_username="mailer",
        smtp_password=SecretStr(secret),
    )
    assert secret not in repr(settings) and secret not in str(settings.model_dump())
    publish_one(org, "auth@example.org")
    caplog.set_level(logging.DEBUG)
    with running_smtp_server(password="the-right-one") as smtp:
        bad = SmtpSender(
            smtp.host, smtp.port, security="none", username="mailer", password=SecretStr(secret)
        )
        assert secret not in repr(bad)
        report = MailWorker(credo.uow, credo.ctx, bad, FROM).run_once()
        assert report.retried == 1 and smtp.messages == []
        [row] = rows(credo, org.id)
        assert "535" in row["last_error"] and secret not in row["last_error"]
        assert secret not in caplog.text
        good = SmtpSender(
            smtp.host,
            smtp.port,
            security="none",
            username="mailer",
            password=SecretStr("the-right-one"),
        )
        clock.set(clock.now() + timedelta(minutes=1))
        assert MailWorker(credo.uow, credo.ctx, good, FROM).run_once().sent == 1
        assert len(smtp.to("auth@example.org")) == 1


# --- the development mailbox and the command ---------------------------------------------


def test_without_smtp_development_writes_a_file_mailbox(
    credo: App, org: Org, tmp_path: Path
) -> None:
    settings = Settings(
        environment="development",
        master_key=MASTER_KEY,
        database_url=credo.settings.database_url,
        mailbox_dir=tmp_path / "mailbox",
    )
    assert isinstance(mail_sender(settings), FileMailbox)
    assert isinstance(mail_sender(settings.model_copy(update={"smtp_host": "x"})), SmtpSender)
    dev = bootstrap(settings, clock=credo.clock, engine=credo.engine)
    cred_id = publish_one(org, "dev@example.org")
    assert dev.mail_worker().drain().sent == 1
    [eml] = (tmp_path / "mailbox").glob("*.eml")
    msg = read_eml(eml)
    assert msg["To"].addresses[0].addr_spec == "dev@example.org"
    text, html = parts(msg)
    assert f"/c/{cred_id}" in text and f"/c/{cred_id}" in html
    # A re-send (a crash before it was recorded) replaces the file: still one message.
    with credo.engine.begin() as conn:
        conn.execute(update(t.outbox).where(_o.organization_id == org.id).values(sent_at=None))
    assert dev.mail_worker().drain().sent == 1
    assert len(list((tmp_path / "mailbox").glob("*.eml"))) == 1


def read_eml(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def cli_env(credo: App, smtp: SmtpServer) -> dict[str, str]:
    return {
        "CREDO_DATABASE_URL": credo.settings.database_url,
        "CREDO_ENVIRONMENT": "test",
        "CREDO_MASTER_KEY": MASTER_KEY,
        "CREDO_SMTP_HOST": smtp.host,
        "CREDO_SMTP_PORT": str(smtp.port),
        "CREDO_SMTP_SECURITY": "none",
        "CREDO_MAIL_FROM": FROM,
        # The database is shared: no sweep for other tests' expiring credentials here.
        "CREDO_EXPIRY_REMINDER_DAYS": "0",
    }


def test_the_server_sends_from_a_child_process_unless_told_not_to(
    credo: App, org: Org, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in cli_env(credo, smtp_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CREDO_WORKER_IN_SERVER", "false")
    with _embedded_worker() as child:
        assert child is None
    monkeypatch.delenv("CREDO_WORKER_IN_SERVER")
    with _embedded_worker() as child:
        assert child is not None and child.poll() is None
        publish_one(org, "served@example.org")
        smtp_server.wait_for(1, timeout=30)
    assert child.returncode is not None  # stopped with the server
    assert len(smtp_server.to("served@example.org")) == 1


def test_credo_worker_once_delivers_over_smtp(
    credo: App, org: Org, smtp_server: SmtpServer
) -> None:
    cred_id = publish_one(org, "cli@example.org")
    result = CliRunner().invoke(cli, ["worker", "--once"], env=cli_env(credo, smtp_server))
    assert result.exit_code == 0, result.output
    assert "sent 1," in result.output
    [got] = smtp_server.to("cli@example.org")
    assert f"/c/{cred_id}" in parts(got.message)[0]
    inline_badge(got.message)  # the worker `credo worker` runs draws badges
    [row] = rows(credo, org.id)
    assert row["sent_at"] is not None


def test_production_without_smtp_warns_and_keeps_the_mail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(environment="production", master_key=MASTER_KEY, mailbox_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="credo.mail"):
        assert isinstance(mail_sender(settings), FileMailbox)
    assert "CREDO_SMTP_HOST is not set" in caplog.text


def test_the_embedded_worker_ends_when_its_server_is_killed(
    credo: App, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A server killed outright cannot stop its worker: the worker notices it is orphaned."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    env = {**os.environ, **cli_env(credo, smtp_server)}
    script = (
        "import time\n"
        "from credo.entrypoints.cli.main import _embedded_worker\n"
        "with _embedded_worker() as child:\n"
        "    print(child.pid, flush=True)\n"
        "    time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert psutil.pid_exists(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if psutil.Process(child).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    else:
        psutil.Process(child).kill()
        raise AssertionError("the worker outlived its server")


def test_a_badge_that_cannot_be_drawn_leaves_the_e_mail_without_it(
    credo: App, org: Org, smtp_server: SmtpServer
) -> None:
    class Broken:
        drawn = 0

        def email_png(self, content: Any) -> bytes:
            self.drawn += 1
            raise OSError("no fonts here")

    broken = Broken()
    gid = org.group("Plain Course")
    for who in ("one@example.org", "two@example.org"):
        publish_one(org, who, group=gid)
    worker = smtp_worker(credo, smtp_server, badges=BadgeArt(broken))  # type: ignore[arg-type]
    assert worker.drain().sent == 2
    for who in ("one@example.org", "two@example.org"):
        [got] = smtp_server.to(who)
        html = parts(got.message)[1]
        assert "<img" not in html and "View your credential" in html
        assert not [p for p in got.message.walk() if p.get_content_maintype() == "image"]
    assert broken.drawn == 2  # tried for each, sent regardless


def test_one_group_s_badge_is_drawn_once_for_many_e_mails(
    credo: App, org: Org, smtp_server: SmtpServer
) -> None:
    drawn: list[str] = []

    class Counting:
        def email_png(self, content: Any) -> bytes:
            drawn.append(content.achievement_name)
            return credo.badges.email_png(content)

    gid = org.group("Shared Look")
    for i in range(3):
        publish_one(org, f"many{i}@example.org", group=gid)
    worker = smtp_worker(credo, smtp_server, badges=BadgeArt(Counting()))  # type: ignore[arg-type]
    assert worker.drain().sent == 3
    assert drawn == ["Shared Look"]
    cids = {inline_badge(smtp_server.to(f"many{i}@example.org")[0].message)[0] for i in range(3)}
    assert len(cids) == 3  # each e-mail names its own part
