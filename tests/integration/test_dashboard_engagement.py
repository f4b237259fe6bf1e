"""The dashboard's engagement page (totals in words, the funnel, the chart and its table,
the CSV) and the engagement section of a credential's page."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import update

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.domain.accounts import Role
from credo.domain.engagement import FIGURES, Kind, Reach
from credo.entrypoints.dashboard.engagement_routes import funnel
from credo.services.engagement.ports import Counted
from tests.conftest import Org, create_org
from tests.dashboard.helpers import Person, sign_in

RULE = re.compile(r"\bR(?:[1-9]|1[0-9]|2[01])(?:\.[0-9])?\b")
HEADER = ["period_start", *FIGURES]
PERIOD = {"from": "2026-01-12", "to": "2026-02-08"}  # four weeks from a Monday
D15, D16, D20 = date(2026, 1, 15), date(2026, 1, 16), date(2026, 1, 20)


def email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


def words(html: str) -> str:
    """The page's words without its tags, its spacing or its CSRF token."""
    html = re.sub(r'name="csrf" value="[^"]*"', "", html)
    return html_lib.unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


def by_id(html: str, element_id: str) -> str:
    """The text an element holds before its first child element."""
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, f"no #{element_id}"
    return html_lib.unescape(" ".join(found.group(1).split()))


def table(html: str, table_id: str) -> list[list[str]]:
    """The rows of a table's body and foot, each as its cells' words."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = body.split("</thead>", 1)[1]
    return [
        [words(cell) for cell in re.findall(r"<t[hd][ >].*?</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[ >].*?</tr>", body, re.S)
    ]


def no_rule_codes(html: str) -> None:
    found = RULE.search(words(html))
    assert found is None, found


@dataclass
class World:
    """Two groups, three credentials issued on 15 January 2026 (the sandbox clock's
    day), and engagement recorded for two of them."""

    group_a: str
    group_b: str
    a1: str
    a2: str
    b1: str


def issue(org: Org, group_id: str, to: str, name: str) -> str:
    r = org.issue(group_id, to, name)
    assert r.status_code == 201, r.text
    return str(r.json()["credential"]["id"])


def world(credo: App, org: Org) -> World:
    ga = org.group("Analytical Engines")
    gb = org.group("Difference Engines")
    a1 = issue(org, ga, "ada@example.org", "Ada Lovelace")
    a2 = issue(org, ga, "mary@example.org", "Mary Somerville")
    b1 = issue(org, gb, "charles@example.org", "Charles Babbage")
    o = t.outbox.c
    with credo.engine.begin() as conn:
        delivered = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
        conn.execute(update(t.outbox).where(o.credential_id == a1).values(sent_at=delivered))
        conn.execute(
            update(t.outbox)
            .where(o.credential_id == b1)
            .values(
                failed_at=datetime(2026, 1, 16, 9, 0, tzinfo=UTC),
                last_error="recipient refused: 550 no such user",
            )
        )
    with credo.uow() as uow:
        uow.engagement.add_counts(
            [
                Counted(a1, D15, Kind.VIEW, org.id, ga, 3),
                Counted(a1, D15, Kind.EMAIL_OPEN, org.id, ga, 1),
                Counted(a1, D16, Kind.VIEW, org.id, ga, 1),
                Counted(a1, D16, Kind.DOWNLOAD_PDF, org.id, ga, 2),
                Counted(a1, D20, Kind.LINKEDIN_ADD, org.id, ga, 1),
                Counted(a1, D20, Kind.VERIFICATION, org.id, ga, 1),
                Counted(b1, D15, Kind.VIEW, org.id, gb, 5),
                Counted(b1, D15, Kind.SHARE_X, org.id, gb, 1),
            ]
        )
        uow.engagement.add_visitors(
            [
                (a1, D15, "v1", org.id, ga),
                (a1, D15, "v2", org.id, ga),
                (a1, D16, "v1", org.id, ga),
                (b1, D15, "v3", org.id, gb),
            ]
        )
        uow.commit()
    return World(ga, gb, a1, a2, b1)


def get(person: Person, path: str, **params: str) -> Any:
    return person.get(path, params=params)


def csv_rows(person: Person, **params: str) -> tuple[Any, list[list[str]]]:
    r = person.client.get("/app/engagement.csv", params=params)
    assert r.status_code == 200, r.text
    return r, list(csv.reader(io.StringIO(r.text)))


def zeros(n: int = len(FIGURES)) -> list[str]:
    return ["0"] * n


def test_the_totals_are_the_figures_in_words(credo: App, org: Org) -> None:
    world(credo, org)
    owner = sign_in(credo, email("owner"), org.id)
    r = get(owner, "/app/engagement", **PERIOD)
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    no_rule_codes(page)
    assert by_id(page, "total-issued") == "3 credentials issued"
    assert by_id(page, "total-delivered") == "1 e-mail delivered"
    assert by_id(page, "reach-delivered") == (
        "1 of the 3 credentials issued had their e-mail delivered (33%)"
    )
    assert by_id(page, "total-views") == "9 views"
    assert by_id(page, "reach-views") == "2 of the 3 credentials issued viewed (66%)"
    assert by_id(page, "total-unique_viewers") == "4 unique viewers, each counted once a day"
    assert by_id(page, "total-downloads") == "2 downloads"
    assert by_id(page, "reach-downloads") == "1 of the 3 credentials issued downloaded (33%)"
    assert by_id(page, "total-shares") == "1 share"
    assert by_id(page, "reach-shares") == "1 of the 3 credentials issued shared (33%)"
    assert by_id(page, "total-linkedin_adds") == "1 add to a LinkedIn profile"
    assert by_id(page, "reach-linkedin_adds") == (
        "1 of the 3 credentials issued added to LinkedIn (33%)"
    )
    assert by_id(page, "total-verifications") == "1 verification"
    assert by_id(page, "total-emails_failed") == "0 e-mails failed, 1 bounced"
    assert by_id(page, "total-email_opens") == "1 e-mail open"
    period = words(page.split('id="engagement-period"', 1)[1].split("</p>", 1)[0])
    assert period.replace(" ,", ",").startswith(
        ">From 12 January 2026 to 8 February 2026, all groups."
    )
    # The funnel: a bar, the count and the share of the issued ones for each step.
    assert table(page, "funnel") == [
        ["Issued", "", "3 credentials", "100%"],
        ["E-mail delivered", "", "1 credential", "33%"],
        ["Viewed", "", "2 credentials", "66%"],
        ["Downloaded", "", "1 credential", "33%"],
        ["Shared", "", "1 credential", "33%"],
        ["Added to LinkedIn", "", "1 credential", "33%"],
    ]
    assert page.count('class="funnel-bar"') == 6
    assert 'width="100.00" height="10" fill="#1f3a5f"' in page
    assert 'width="66.67" height="10" fill="#1f3a5f"' in page
    # The chart: a bar of views per day, a line through the credentials issued.
    chart = page.split('id="engagement-chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count('class="bar"') == 28
    assert "15 Jan 2026: 8 views" in chart and "16 Jan 2026: 1 view" in chart
    assert "15 Jan 2026: 3 issued" in chart
    # The same numbers as a table: every figure of every day, then the totals.
    rows = table(page, "series")
    assert len(rows) == 29
    assert rows[0] == ["12 Jan 2026", *zeros()]
    assert rows[3] == ["15 Jan 2026", "3", "1", "8", "3", "0", "1", "0", "0", "0", "0", "1"]
    assert rows[4] == ["16 Jan 2026", "0", "0", "1", "1", "2", "0", "0", "0", "0", "1", "0"]
    assert rows[8] == ["20 Jan 2026", "0", "0", "0", "0", "0", "0", "1", "1", "0", "0", "0"]
    assert rows[27] == ["8 Feb 2026", *zeros()]
    assert rows[28] == ["Total", "3", "1", "9", "4", "2", "1", "1", "1", "0", "1", "1"]
    head = page.split('id="series"', 1)[1].split("</thead>", 1)[0]
    assert words(head).endswith(
        "Day Issued E-mails delivered Views Unique viewers Downloads Shares "
        "Added to LinkedIn Verifications E-mails failed E-mails bounced E-mails opened"
    )
    csv_link = by_id(page, "engagement-csv")
    assert csv_link == "Download CSV"
    assert 'href="/app/engagement.csv?from=2026-01-12&amp;to=2026-02-08&amp;granularity=day"' in (
        page
    )


def test_the_csv_has_a_row_per_period_and_the_totals(credo: App, org: Org) -> None:
    world(credo, org)
    owner = sign_in(credo, email("owner"), org.id)
    r, rows = csv_rows(owner, **PERIOD)
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="engagement-2026-01-12-2026-02-08.csv"' in r.headers["content-disposition"]
    assert "attachment" in r.headers["content-disposition"]
    assert rows[0] == HEADER
    assert len(rows) == 1 + 28 + 1
    assert rows[1] == ["2026-01-12", *zeros()]
    assert rows[4] == ["2026-01-15", "3", "1", "8", "3", "0", "1", "0", "0", "0", "0", "1"]
    assert rows[5] == ["2026-01-16", "0", "0", "1", "1", "2", "0", "0", "0", "0", "1", "0"]
    assert rows[9] == ["2026-01-20", "0", "0", "0", "0", "0", "0", "1", "1", "0", "0", "0"]
    assert rows[-1] == ["total", "3", "1", "9", "4", "2", "1", "1", "1", "0", "1", "1"]
    # The page's link gives the same file.
    page = get(owner, "/app/engagement", **PERIOD).text
    found = re.search(r'id="engagement-csv" href="([^"]+)"', page)
    assert found
    link = html_lib.unescape(found.group(1))
    assert owner.client.get(link).text == r.text


def test_a_group_narrows_everything(credo: App, org: Org) -> None:
    w = world(credo, org)
    owner = sign_in(credo, email("owner"), org.id)
    page = get(owner, "/app/engagement", group=w.group_a, granularity="week", **PERIOD).text
    assert by_id(page, "engagement-group") == "Analytical Engines"
    assert f'<option value="{w.group_a}" selected>' in page
    assert by_id(page, "total-issued") == "2 credentials issued"
    assert by_id(page, "total-views") == "4 views"
    assert by_id(page, "reach-views") == "1 of the 2 credentials issued viewed (50%)"
    assert by_id(page, "total-shares") == "0 shares"
    assert by_id(page, "total-emails_failed") == "0 e-mails failed, 0 bounced"
    assert table(page, "series") == [
        ["Week of 12 Jan 2026", "2", "1", "4", "3", "2", "0", "0", "0", "0", "0", "1"],
        ["Week of 19 Jan 2026", "0", "0", "0", "0", "0", "0", "1", "1", "0", "0", "0"],
        ["Week of 26 Jan 2026", *zeros()],
        ["Week of 2 Feb 2026", *zeros()],
        ["Total", "2", "1", "4", "3", "2", "0", "1", "1", "0", "0", "1"],
    ]
    _, rows = csv_rows(owner, group=w.group_a, granularity="week", **PERIOD)
    assert rows == [
        HEADER,
        ["2026-01-12", "2", "1", "4", "3", "2", "0", "0", "0", "0", "0", "1"],
        ["2026-01-19", "0", "0", "0", "0", "0", "0", "1", "1", "0", "0", "0"],
        ["2026-01-26", *zeros()],
        ["2026-02-02", *zeros()],
        ["total", "2", "1", "4", "3", "2", "0", "1", "1", "0", "0", "1"],
    ]
    _, rows = csv_rows(owner, group=w.group_b, granularity="month", **PERIOD)
    assert rows == [
        HEADER,
        ["2026-01-01", "1", "0", "5", "1", "0", "1", "0", "0", "0", "1", "0"],
        ["2026-02-01", *zeros()],
        ["total", "1", "0", "5", "1", "0", "1", "0", "0", "0", "1", "0"],
    ]


def test_weeks_and_months_are_buckets_of_days(credo: App, org: Org) -> None:
    world(credo, org)
    owner = sign_in(credo, email("owner"), org.id)
    weeks = get(owner, "/app/engagement", granularity="week", **PERIOD).text
    assert [row[0] for row in table(weeks, "series")] == [
        "Week of 12 Jan 2026",
        "Week of 19 Jan 2026",
        "Week of 26 Jan 2026",
        "Week of 2 Feb 2026",
        "Total",
    ]
    assert table(weeks, "series")[0] == [
        "Week of 12 Jan 2026",
        *["3", "1", "9", "4", "2", "1", "0", "0", "0", "1", "1"],
    ]
    assert "Views and credentials issued per week" in words(weeks)
    # A period starting mid-week still counts from the Monday of its first week.
    _, rows = csv_rows(owner, granularity="week", **{"from": "2026-01-14", "to": "2026-01-21"})
    assert [r[0] for r in rows] == ["period_start", "2026-01-12", "2026-01-19", "total"]
    assert rows[-1] == ["total", "3", "1", "9", "4", "2", "1", "1", "1", "0", "1", "1"]
    months = get(owner, "/app/engagement", granularity="month", **PERIOD).text
    assert table(months, "series") == [
        ["January 2026", "3", "1", "9", "4", "2", "1", "1", "1", "0", "1", "1"],
        ["February 2026", *zeros()],
        ["Total", "3", "1", "9", "4", "2", "1", "1", "1", "0", "1", "1"],
    ]
    no_rule_codes(months)


def test_the_default_is_the_last_30_days_up_to_today_or_the_sandbox_clock(
    credo: App, org: Org
) -> None:
    world(credo, org)
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    r = viewer.get("/app/engagement")
    assert r.status_code == 200, r.text[:2000]
    page = r.text
    # A viewer sees the page, and the side nav links to it after Credits.
    nav = page.split('class="sidenav"', 1)[1].split("</nav>", 1)[0]
    assert nav.index('href="/app/credits"') < nav.index('href="/app/engagement"')
    assert '<a href="/app/engagement" aria-current="page">Engagement</a>' in nav
    # Today (the test's real clock: 1 Feb 2026), as the sandbox's clock stands behind it.
    assert 'id="f-from" name="from" type="date" value="2026-01-03"' in page
    assert 'id="f-to" name="to" type="date" value="2026-02-01"' in page
    assert '<option value="day" selected>' in page
    group_field = page.split('id="f-group"', 1)[1].split("</select>", 1)[0]
    assert "selected" not in group_field  # all groups, and each of them offered
    assert "Analytical Engines" in group_field and "Difference Engines" in group_field
    rows = table(page, "series")
    assert len(rows) == 31 and rows[0][0] == "3 Jan 2026" and rows[-2][0] == "1 Feb 2026"
    assert rows[-1] == ["Total", "3", "1", "9", "4", "2", "1", "1", "1", "0", "1", "1"]
    assert by_id(page, "total-views") == "9 views"
    no_rule_codes(page)
    _, rows = csv_rows(viewer)
    assert rows[1][0] == "2026-01-03" and rows[-2][0] == "2026-02-01"
    r = viewer.client.get("/app/engagement.csv")
    assert 'filename="engagement-2026-01-03-2026-02-01.csv"' in r.headers["content-disposition"]
    # The sandbox's clock moves ahead of today, and the default period with it.
    org.move_clock("2026-03-01T08:00:00Z")
    later = viewer.get("/app/engagement").text
    assert 'value="2026-01-31"' in later and 'value="2026-03-01"' in later


def test_bad_input_shows_the_form_again_in_words(credo: App, org: Org) -> None:
    world(credo, org)
    owner = sign_in(credo, email("owner"), org.id)
    cases = [
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to", "must not be before the start date"),
        ({"from": "yesterday"}, "from", "must be a date like 2026-02-01"),
        ({"to": "2026-02-30"}, "to", "must be a date like 2026-02-01"),
        ({"to": "9999-12-31"}, "to", "must be between 1 Jan 1900 and 31 Dec 2999"),
        ({"group": "grp_nope"}, "group", "is not one of this organization's groups"),
        ({"granularity": "hour"}, "granularity", "must be day, week or month"),
        (
            {"from": "2020-01-01", "to": "2026-01-01", "granularity": "day"},
            "granularity",
            "the period holds more than 1,000 days: choose a shorter period, or weeks or months",
        ),
        (
            {"from": "1900-01-01", "to": "2999-12-31", "granularity": "week"},
            "granularity",
            "the period holds more than 1,000 weeks: choose a shorter period, or weeks or months",
        ),
    ]
    for params, field, message in cases:
        r = get(owner, "/app/engagement", **params)
        assert r.status_code == 422, (params, r.status_code, r.text[:500])
        page = r.text
        assert 'id="engagement-form"' in page, params  # the form, again
        assert by_id(page, f"e-{field}") == message, params
        assert 'role="alert" id="engagement-errors"' in page
        assert 'id="series"' not in page and 'id="engagement-csv"' not in page
        no_rule_codes(page)
        # What was typed is shown back.
        for name, value in params.items():
            if name in ("from", "to"):
                assert f'name="{name}" type="date" value="{value}"' in page, params
        csv_answer = owner.client.get("/app/engagement.csv", params=params)
        assert csv_answer.status_code == 422, params
        assert not csv_answer.headers["content-type"].startswith("text/csv")
    # The same long period by month is fine.
    ok = get(owner, "/app/engagement", granularity="month", **{"from": "2020-01-01"})
    assert ok.status_code == 200
    assert len(table(ok.text, "series")) == 74 + 1  # Jan 2020 to Feb 2026, then the total


def test_another_organizations_group_is_unknown(credo: App, org: Org) -> None:
    other = create_org(org.client, sandbox=True, anchor="2026-01-15")
    theirs = other.group("Not Yours")
    world(credo, org)
    owner = sign_in(credo, email("owner"), org.id)
    r = get(owner, "/app/engagement", group=theirs, **PERIOD)
    assert r.status_code == 422
    assert "Not Yours" not in r.text
    assert owner.client.get("/app/engagement.csv", params={"group": theirs}).status_code == 422


def test_signed_out_people_are_sent_to_sign_in(credo: App, org: Org) -> None:
    r = org.client.get("/app/engagement", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert org.client.get("/app/engagement.csv", follow_redirects=False).status_code == 401


def test_a_credentials_page_shows_its_timeline(credo: App, org: Org) -> None:
    w = world(credo, org)
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    r = issuer.get(f"/app/credentials/{w.a1}")
    assert r.status_code == 200, r.text[:2000]
    page = r.text
    no_rule_codes(page)
    section = page.split('id="engagement-heading"', 1)[1].split("</ol>", 1)[0]
    days = re.findall(r"<li><time[^>]*>([^<]+)</time>\s*<ul>(.*?)</ul>", section, re.S)
    assert [(day, re.findall(r"<li>([^<]+)</li>", lines)) for day, lines in days] == [
        ("20 Jan 2026", ["1 added to a LinkedIn profile", "1 verification in the public verifier"]),
        ("16 Jan 2026", ["1 page view by 1 person", "2 PDF downloads"]),
        (
            "15 Jan 2026",
            ["Issued", "E-mail delivered", "3 page views by 2 people", "1 e-mail opened"],
        ),
    ]
    bounced = issuer.get(f"/app/credentials/{w.b1}").text
    assert "16 Jan 2026 E-mail bounced" in words(bounced)
    assert "15 Jan 2026 Issued 5 page views by 1 person 1 share on X" in words(bounced)
    # Only issued: nothing yet.
    quiet = issuer.get(f"/app/credentials/{w.a2}").text
    assert by_id(quiet, "engagement") == "Nothing yet."
    no_rule_codes(quiet)


def test_a_small_share_is_never_zero_percent() -> None:
    steps = funnel(Reach(issued=250, delivered=250, viewed=1, downloaded=249, shared=0))
    shares = {s.label: s.share for s in steps}
    assert shares["Viewed"] == "less than 1%"
    assert shares["Downloaded"] == "99%"  # not rounded up to all of them
    assert shares["E-mail delivered"] == "100%"
    assert shares["Shared"] == "0%"
    assert {s.label: s.words for s in steps}["Viewed"] == "1 credential"
    assert {s.label: s.width for s in steps}["Viewed"] > 0  # drawn, if thin
    none = funnel(Reach())
    assert {s.share for s in none} == {"\u2013"}


def test_owners_turn_e_mail_opens_on_and_off(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    page = owner.get("/app/engagement").text
    assert "Opens are not counted (the default)." in page
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = owner.client.post(
        "/app/engagement/email-opens", data={"csrf": csrf, "on": "true"}, follow_redirects=False
    )
    assert r.status_code == 303
    with credo.uow(write=False) as uow:
        found = uow.organizations.get(org.id)
        assert found is not None and found.email_open_tracking
    page = owner.get("/app/engagement?notice=opens-on").text
    assert "Opens are counted" in page and "Stop counting opens" in page
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    seen = viewer.get("/app/engagement").text
    assert "Opens are counted" in seen and "Stop counting opens" not in seen
