"""Engagement: what is counted (people, not bots), how viewers are told apart without
keeping addresses, the share redirect that leads only where the credential's own buttons
lead, verifications, e-mail outcomes and opens, first-event webhooks, and the
`GET /v1/analytics` answer built from all of it."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from credo.adapters.db import tables as t
from credo.adapters.mail.smtp import SmtpSender
from credo.bootstrap import App
from credo.clock import FixedClock
from credo.domain import engagement as e
from credo.services.engagement.recording import Recorder, Subject
from credo.services.mail.mailing import MailWorker
from tests.conftest import Org
from tests.smtp import SmtpServer
from tests.smtp import smtp_server as smtp_server_fixture

smtp_server = smtp_server_fixture

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
OTHER_BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Gecko/20100101 Firefox/133.0"
BOTS = [
    "",
    "curl/8.5.0",
    "python-httpx/0.28.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0",
]
TODAY = "2026-02-01"  # the test clock's day (tests/conftest.py)


def published(org: Org, group: str | None = None, email: str = "ada@example.org") -> dict[str, Any]:
    gid = group or org.group("Data Science")
    r = org.issue(gid, email, "Ada Lovelace")
    assert r.status_code == 201, r.text
    cred: dict[str, Any] = r.json()["credential"]
    return cred


def visit(client: TestClient, path: str, agent: str = BROWSER, **kw: Any) -> Any:
    return client.get(path, headers={"User-Agent": agent, "Accept": "text/html"}, **kw)


def analytics(org: Org, **params: str) -> dict[str, Any]:
    r = org.get("/v1/analytics", params={"from": TODAY, "to": TODAY, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def totals(org: Org, **params: str) -> dict[str, int]:
    found: dict[str, int] = analytics(org, **params)["totals"]
    return found


def flushed(credo: App) -> None:
    assert credo.engagement is not None
    credo.engagement.flush()


# --- who counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("agent", BOTS)
def test_bots_and_scripts_are_not_people(agent: str) -> None:
    assert not e.is_person(agent)


def test_browsers_are_people() -> None:
    assert e.is_person(BROWSER) and e.is_person(OTHER_BROWSER)


def test_page_views_count_people_once_a_day_each_and_keep_no_address(
    org: Org, client: TestClient, credo: App
) -> None:
    cred = published(org)
    for _ in range(3):
        assert visit(client, f"/c/{cred['id']}").status_code == 200
    assert visit(client, f"/c/{cred['id']}", OTHER_BROWSER).status_code == 200
    for agent in BOTS:
        assert visit(client, f"/c/{cred['id']}", agent).status_code == 200
    flushed(credo)
    got = totals(org)
    assert (got["views"], got["unique_viewers"]) == (4, 2)
    v = t.engagement_visitors.c
    with credo.engine.connect() as conn:
        names = conn.scalars(select(v.visitor).where(v.organization_id == org.id)).all()
        keys = conn.scalars(select(t.engagement_day_keys.c.day)).all()
    assert len(names) == 2 and all(len(n) == 32 for n in names)
    assert not any("testclient" in n or "127.0.0.1" in n for n in names)
    assert date(2026, 2, 1) in keys and min(keys) == date(2026, 2, 1)  # none kept from before


def test_a_viewer_is_new_each_day_and_yesterdays_key_is_forgotten(
    org: Org, client: TestClient, credo: App, clock: FixedClock
) -> None:
    cred = published(org)
    visit(client, f"/c/{cred['id']}")
    flushed(credo)
    clock.set(datetime(2026, 2, 2, 9, 0, tzinfo=UTC))
    visit(client, f"/c/{cred['id']}")
    flushed(credo)
    v = t.engagement_visitors.c
    with credo.engine.connect() as conn:
        rows = conn.execute(
            select(v.day, v.visitor).where(v.organization_id == org.id).order_by(v.day)
        ).all()
        keys = conn.scalars(select(t.engagement_day_keys.c.day)).all()
    assert [r.day for r in rows] == [date(2026, 2, 1), date(2026, 2, 2)]
    assert rows[0].visitor != rows[1].visitor  # the same browser cannot be followed
    assert min(keys) == date(2026, 2, 2)  # the first day's key is gone
    got = totals(org, to="2026-02-02")
    assert (got["views"], got["unique_viewers"]) == (2, 2)


def test_recording_off_counts_nothing(org: Org, client: TestClient, credo: App) -> None:
    cred = published(org)
    assert credo.engagement is not None
    credo.engagement.enabled = False
    try:
        visit(client, f"/c/{cred['id']}")
        client.get(f"/c/{cred['id']}.pdf", headers={"User-Agent": BROWSER})
    finally:
        credo.engagement.enabled = True
    flushed(credo)
    assert totals(org)["views"] == totals(org)["downloads"] == 0


# --- downloads, shares, verifications -------------------------------------------------------


def test_downloads_count_each_file_but_not_the_badge_the_page_shows(
    org: Org, client: TestClient, credo: App
) -> None:
    cred = published(org)
    cid = cred["id"]
    for path in (f"/c/{cid}.pdf", f"/c/{cid}.png", f"/c/{cid}.json", f"/c/{cid}.svg?download=1"):
        assert visit(client, path).status_code == 200, path
    assert visit(client, f"/c/{cid}.svg").status_code == 200  # the page's own <img>
    assert client.get(f"/c/{cid}.pdf", headers={"User-Agent": "curl/8"}).status_code == 200
    flushed(credo)
    assert totals(org)["downloads"] == 4
    n = t.engagement_counts.c
    with credo.engine.connect() as conn:
        kinds = dict(conn.execute(select(n.kind, n.n).where(n.organization_id == org.id)).all())
    assert kinds == {"download_pdf": 1, "download_png": 1, "download_json": 1, "download_svg": 1}
    page = visit(client, f"/c/{cid}").text
    assert f'href="/c/{cid}.svg?download=1" download' in page


@pytest.mark.parametrize(
    ("target", "host", "figure"),
    [
        ("linkedin-profile", "www.linkedin.com", "linkedin_adds"),
        ("linkedin", "www.linkedin.com", "shares"),
        ("x", "x.com", "shares"),
        ("facebook", "www.facebook.com", "shares"),
    ],
)
def test_share_buttons_count_then_lead_where_the_page_said(
    org: Org, client: TestClient, credo: App, target: str, host: str, figure: str
) -> None:
    cred = published(org)
    page = visit(client, f"/c/{cred['id']}").text
    assert f'href="/c/{cred["id"]}/share/{target}"' in page
    r = visit(client, f"/c/{cred['id']}/share/{target}", follow_redirects=False)
    assert r.status_code == 303
    assert urlsplit(r.headers["location"]).hostname == host
    assert cred["id"] in r.headers["location"]  # the credential's own page is what is shared
    flushed(credo)
    got = totals(org)
    assert got[figure] == 1
    assert sum(got[f] for f in ("shares", "linkedin_adds")) == 1


def test_the_share_redirect_goes_nowhere_else(org: Org, client: TestClient, credo: App) -> None:
    cred = published(org)
    for target in ("https://evil.example", "https:%2F%2Fevil.example", "LinkedIn", "x "):
        r = client.get(f"/c/{cred['id']}/share/{target}", follow_redirects=False)
        assert r.status_code == 404, target
        assert r.headers["content-type"] == "application/problem+json"
    r = client.get(
        f"/c/{cred['id']}/share/x?url=https://evil.example&next=https://evil.example",
        follow_redirects=False,
    )
    assert urlsplit(r.headers["location"]).hostname == "x.com"
    assert "evil" not in r.headers["location"]
    assert visit(client, "/c/cred_nope/share/x").status_code == 404
    html = visit(client, f"/c/{cred['id']}/share/nowhere")
    assert html.status_code == 404 and html.headers["content-type"].startswith("text/html")


def test_verifying_one_of_ours_in_the_public_verifier_counts_for_it(
    org: Org, client: TestClient, credo: App
) -> None:
    cred = published(org)
    document = client.get(f"/c/{cred['id']}.json").json()  # a script: not a download
    upload = {"file": ("credential.json", json.dumps(document).encode(), "application/json")}
    r = client.post("/verify", files=upload, headers={"User-Agent": BROWSER})
    assert r.status_code == 200 and "genuine" in r.text
    forged = dict(document, name="Something else")
    upload = {"file": ("forged.json", json.dumps(forged).encode(), "application/json")}
    assert client.post("/verify", files=upload, headers={"User-Agent": BROWSER}).status_code
    flushed(credo)
    got = totals(org)
    assert (got["verifications"], got["downloads"]) == (1, 0)


# --- e-mails --------------------------------------------------------------------------------


def worker(credo: App, smtp: SmtpServer) -> MailWorker:
    sender = SmtpSender(smtp.host, smtp.port, security="none", timeout=5)
    return MailWorker(credo.uow, credo.ctx, sender, "badges@university.example")


def test_e_mails_delivered_and_bounced_are_counted_from_the_outbox(
    org: Org, credo: App, smtp_server: SmtpServer
) -> None:
    worker(credo, smtp_server).drain()  # what earlier tests left in this database's outbox
    smtp_server.fail_first, smtp_server.failure = smtp_server.attempts + 1, "550"
    gid = org.group("Data Science")
    creds = [published(org, gid, who) for who in ("one@example.org", "two@example.org")]
    worker(credo, smtp_server).drain()
    # Issued on the sandbox's date; delivered (and refused) today, in real time.
    got = totals(org, **{"from": creds[0]["issued_on"]})
    assert (got["issued"], got["delivered"], got["emails_bounced"], got["emails_failed"]) == (
        2,
        1,
        1,
        0,
    )
    assert analytics(org, **{"from": creds[0]["issued_on"]})["funnel"]["delivered"] == 1


def test_e_mail_opens_only_where_the_organization_counts_them(
    org: Org, client: TestClient, credo: App, smtp_server: SmtpServer
) -> None:
    gid = org.group("Data Science")
    published(org, gid, "off@example.org")
    worker(credo, smtp_server).drain()
    [off] = smtp_server.to("off@example.org")
    assert "/e/" not in off.raw.decode()  # off by default: no pixel at all
    with credo.uow() as uow:
        uow.organizations.set_email_open_tracking(org.id, True)
        uow.commit()
    published(org, gid, "on@example.org")
    worker(credo, smtp_server).drain()
    [on] = smtp_server.to("on@example.org")
    html = on.message.get_body(("html",))
    assert html is not None
    [pixel] = [w for w in html.get_content().split('"') if "/e/" in w]
    path = urlsplit(pixel).path
    # A mail program's fetch counts, whatever its user agent; a wrong token counts nothing
    # and answers the same image.
    good = client.get(path, headers={"User-Agent": "Outlook-iOS/2.0"})
    bad = client.get(path.replace(path.rsplit("/", 1)[1], "AAAAAAAAAAAAAAAAAAAAAAAA.gif"))
    for r in (good, bad):
        assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
        assert r.content == good.content
    flushed(credo)
    assert totals(org)["email_opens"] == 1


# --- the first view and the first LinkedIn add, told once -------------------------------------


def test_first_view_and_first_linkedin_add_are_webhook_events_once(
    org: Org, client: TestClient, credo: App
) -> None:
    r = org.post(
        "/v1/webhooks",
        {
            "url": "https://hooks.example.com/credo",
            "events": ["credential.first_viewed", "credential.linkedin_added"],
        },
    )
    assert r.status_code == 201, r.text
    cred = published(org)
    for _ in range(2):
        visit(client, f"/c/{cred['id']}")
        visit(client, f"/c/{cred['id']}/share/linkedin-profile", follow_redirects=False)
        flushed(credo)
    with credo.engine.connect() as conn:
        rows = conn.execute(
            select(t.webhook_deliveries.c.event_type, t.webhook_deliveries.c.payload).where(
                t.webhook_deliveries.c.organization_id == org.id
            )
        ).all()
    assert sorted(r.event_type for r in rows) == [
        "credential.first_viewed",
        "credential.linkedin_added",
    ]
    for row in rows:
        assert json.loads(row.payload)["data"]["credential"]["id"] == cred["id"]


# --- the API --------------------------------------------------------------------------------


def test_analytics_answers_totals_series_and_funnel(
    org: Org, client: TestClient, credo: App, clock: FixedClock
) -> None:
    gid = org.group("Data Science")
    other = org.group("Ethics")
    one = published(org, gid, "one@example.org")
    two = published(org, other, "two@example.org")
    visit(client, f"/c/{one['id']}")
    visit(client, f"/c/{one['id']}.pdf")
    flushed(credo)
    clock.set(datetime(2026, 2, 9, 9, 0, tzinfo=UTC))
    visit(client, f"/c/{two['id']}")
    flushed(credo)
    body = analytics(org, to="2026-02-09", granularity="week")
    keys = {
        "issued",
        "delivered",
        "views",
        "unique_viewers",
        "downloads",
        "shares",
        "linkedin_adds",
        "verifications",
    }
    assert keys <= set(body["totals"])
    assert body["totals"]["views"] == 2 and body["totals"]["downloads"] == 1
    assert [s["start"] for s in body["series"]] == ["2026-01-26", "2026-02-02", "2026-02-09"]
    assert [s["views"] for s in body["series"]] == [1, 0, 1]
    assert all(keys <= set(s) for s in body["series"])
    days = analytics(org, to="2026-02-09")["series"]
    assert len(days) == 9 and days[0]["start"] == TODAY and days[-1]["views"] == 1
    month = analytics(org, to="2026-02-09", granularity="month")["series"]
    assert [(s["start"], s["views"]) for s in month] == [("2026-02-01", 2)]
    assert totals(org, to="2026-02-09", group_id=gid)["views"] == 1
    assert totals(org, to="2026-02-09", credential_id=two["id"])["views"] == 1
    # Issued follows the sandbox's own clock (its credentials are issued on its dates).
    issued_on = one["issued_on"]
    assert totals(org, **{"from": issued_on, "to": issued_on})["issued"] == 2


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2026-02-05", "to": "2026-02-01"}, 422),
        ({"from": "yesterday"}, 422),
        ({"granularity": "hour"}, 422),
        ({"from": "2000-01-01", "to": "2026-01-01"}, 422),  # 9,497 days
        ({"from": "9999-12-30", "to": "9999-12-31", "granularity": "month"}, 422),
        ({"from": "0001-01-01", "to": "0001-01-02"}, 422),
        ({"group_id": "grp_doesnotexist"}, 404),
        ({"credential_id": "../../etc"}, 404),
    ],
)
def test_analytics_refuses_bad_questions_with_problems(
    org: Org, params: dict[str, str], status: int
) -> None:
    r = org.get("/v1/analytics", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_analytics_of_another_organization_s_credential_is_not_found(
    org: Org, client: TestClient
) -> None:
    from tests.conftest import create_org

    other = create_org(client, name="Other", sandbox=True, anchor="2026-01-15")
    cred = published(other)
    r = org.get("/v1/analytics", params={"credential_id": cred["id"]})
    assert r.status_code == 404
    assert client.get("/v1/analytics").status_code == 401


def test_analytics_defaults_to_the_last_thirty_days(org: Org) -> None:
    r = org.get("/v1/analytics")
    assert r.status_code == 200
    body = r.json()
    assert (body["from"], body["to"]) == ("2026-01-03", TODAY)
    assert len(body["series"]) == 30


# --- many writers -----------------------------------------------------------------------------


def test_processes_writing_the_same_counts_at_once_lose_none(org: Org, credo: App) -> None:
    """Four recorders (as four server processes would) add to the same credential's day at
    once: every event is counted exactly once."""
    cred = published(org)
    subject = Subject(org.id, cred["id"], cred["group_id"])
    recorders = [
        Recorder(credo.uow, credo.clock, credo.ctx.base_url, background=False) for _ in range(4)
    ]
    start = threading.Barrier(len(recorders))

    def run(rec: Recorder) -> None:
        start.wait()
        for round_ in range(5):
            for i in range(50):
                rec.record(subject, e.Kind.VIEW, BROWSER, f"10.0.{round_}.{i}")
                rec.record(subject, e.Kind.DOWNLOAD_PDF, BROWSER)
            rec.flush()

    threads = [threading.Thread(target=run, args=(r,)) for r in recorders]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    got = totals(org)
    assert (got["views"], got["downloads"]) == (4 * 5 * 50, 4 * 5 * 50)
    # The same addresses and browser are the same people: every recorder named them alike.
    assert got["unique_viewers"] == 5 * 50


def test_a_failed_write_keeps_the_counts_for_the_next(org: Org, credo: App) -> None:
    cred = published(org)
    subject = Subject(org.id, cred["id"], cred["group_id"])
    broken_first = True

    def uow(**kw: Any) -> Any:
        nonlocal broken_first
        if broken_first:
            broken_first = False
            raise OSError("the database went away")
        return credo.uow(**kw)

    rec = Recorder(uow, credo.clock, credo.ctx.base_url, background=False)
    for _ in range(3):
        rec.record(subject, e.Kind.VIEW, BROWSER, "10.0.0.1")
    assert rec.flush() == 0
    assert rec.flush() == 3
    assert totals(org)["views"] == 3


def test_counts_sit_on_the_day_they_happened(org: Org, credo: App, clock: FixedClock) -> None:
    cred = published(org)
    subject = Subject(org.id, cred["id"], cred["group_id"])
    rec = Recorder(credo.uow, credo.clock, credo.ctx.base_url, background=False)
    rec.record(subject, e.Kind.VIEW, BROWSER, "10.0.0.1")
    clock.set(clock.now() + timedelta(days=1))
    rec.record(subject, e.Kind.VIEW, BROWSER, "10.0.0.1")
    rec.flush()
    series = analytics(org, to="2026-02-02")["series"]
    assert [(s["start"], s["views"]) for s in series] == [(TODAY, 1), ("2026-02-02", 1)]
