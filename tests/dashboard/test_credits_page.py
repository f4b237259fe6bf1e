"""The credits page: the numbers of GET /v1/credits, days left on the organization's clock,
the seats chart and its table, the filterable ledger and its CSV export."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import pytest

from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import Org, create_org
from tests.dashboard.helpers import Person, sign_in


def email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.org"


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, f"no #{element_id}"
    return found.group(1)


def table_rows(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", body.split("<tbody>", 1)[1], re.S)


def issue(org: Org, group: str, to: str) -> dict[str, Any]:
    r = org.issue(group, to)
    assert r.status_code == 201, r.text
    cred: dict[str, Any] = r.json()["credential"]
    return cred


def csv_of(person: Person, query: str = "") -> list[dict[str, str]]:
    r = person.client.get("/app/credits/ledger.csv" + query)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(r.text)))


def test_the_page_shows_the_numbers_of_the_api(credo: App, org: Org) -> None:
    g = org.group("Data Literacy")
    for who in ("ann@x.org", "bob@x.org", "cy@x.org"):
        issue(org, g, who)
    issue(org, g, "ANN@x.org")  # R2: free
    api = org.credits()
    owner = sign_in(credo, email("owner"), org.id)
    page = owner.get("/app/credits")
    assert page.status_code == 200, page.text
    html = page.text
    assert text_of(html, "credits-page-remaining") == str(api["remaining"]) == "247"
    assert text_of(html, "credits-page-used") == str(api["used"]) == "3"
    assert text_of(html, "credits-page-allowance") == str(api["allowance"]) == "250"
    assert text_of(html, "credits-page-seats") == str(api["seats_held"]) == "3"
    assert text_of(html, "credits-remaining") == "247"  # the top bar, as on every page
    assert text_of(html, "credits-page-starts") == "15 January 2026"
    assert text_of(html, "credits-page-resets") == "15 January 2027"
    # Days left on the sandbox's test clock (it starts at the anchor): a full year.
    assert org.get("/v1/test-clock").json()["now"].startswith("2026-01-15")
    assert text_of(html, "credits-page-days-left") == "365"
    org.move_clock("2026-02-01T12:00:00Z")
    assert text_of(owner.get("/app/credits").text, "credits-page-days-left") == "348"
    org.move_clock("2027-01-10T09:00:00Z")
    later = owner.get("/app/credits").text
    assert text_of(later, "credits-page-days-left") == "5"  # the org's clock, not real time


def test_the_chart_has_a_point_per_month_and_the_allowance(credo: App, org: Org) -> None:
    g = org.group()
    issue(org, g, "m0a@x.org")
    issue(org, g, "m0b@x.org")  # the month from 15 January
    org.move_clock("2026-03-01T10:00:00Z")
    issue(org, g, "m1@x.org")  # the month from 15 February
    org.move_clock("2026-06-20T10:00:00Z")
    issue(org, g, "m5@x.org")  # the month from 15 June
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    html = viewer.get("/app/credits").text
    svg = html.split('<svg id="seats-chart"', 1)[1].split("</svg>", 1)[0]
    assert '<title id="chart-title">' in svg and '<desc id="chart-desc">' in svg
    assert 'aria-labelledby="chart-title chart-desc"' in html
    assert svg.count('class="bar"') == 12
    # A point for each month begun: 15 January .. 15 June 2026 is six months.
    assert svg.count('class="point"') == 6
    assert 'class="allowance"' in svg and "Allowance 250" in svg
    rows = table_rows(html, "seats-table")
    assert len(rows) == 12
    cells = [re.findall(r'<td class="num">([^<]*)</td>', r) for r in rows]
    assert [c[0] for c in cells[:6]] == ["2", "1", "0", "0", "0", "1"]
    assert [c[1] for c in cells[:6]] == ["2", "3", "3", "3", "3", "4"]
    assert cells[6][0] == "\N{EN DASH}"  # a month not yet begun
    # The allowance line sits above the running total: y grows downwards.
    allowance_y = float(re.search(r'class="allowance"[^>]*y1="([0-9.]+)"', svg).group(1))  # type: ignore[union-attr]
    last_y = float(re.findall(r'class="point" cx="[0-9.]+" cy="([0-9.]+)"', svg)[-1])
    assert allowance_y < last_y
    # A whole year ends with twelve points.
    org.move_clock("2027-01-14T23:00:00Z")
    assert viewer.get("/app/credits").text.count('class="point"') == 12


def _ledger(credo: App) -> tuple[Org, Person, dict[str, str]]:
    from fastapi.testclient import TestClient

    from tests.conftest import app_for

    client = TestClient(app_for(credo), raise_server_exceptions=False)
    org = create_org(client, sandbox=True, anchor="2026-01-15")
    g = org.group("Ledger")
    ann = issue(org, g, "ann@ledger.org")
    issue(org, g, "bob@ledger.org")
    org.move_clock("2026-03-10T08:00:00Z")
    r = org.patch(f"/v1/credentials/{ann['id']}", {"recipient": {"email": "zoe@ledger.org"}})
    assert r.status_code == 200 and r.json()["credits_charged"] == 1, r.text
    issue(org, g, "=1+2@ledger.org")  # a formula, were it opened in a spreadsheet as is
    org.move_clock("2027-02-01T08:00:00Z")  # billing year 1
    issue(org, g, "bob@ledger.org")
    org.move_clock("2027-02-02T08:00:00Z")
    issue(org, g, "+cmd@ledger.org")
    owner = sign_in(credo, email("owner"), org.id)
    return org, owner, {"ann": ann["id"]}


def ledger_recipients(html: str) -> list[str]:
    return re.findall(r'<td class="recipient">([^<]*)</td>', html)


def test_the_ledger_filters(credo: App) -> None:
    _, owner, _ = _ledger(credo)
    current = owner.get("/app/credits").text
    assert ledger_recipients(current) == ["+cmd@ledger.org", "bob@ledger.org"]  # year 1
    assert 'id="ledger-count">2 entries' in current
    year0 = owner.get("/app/credits", params={"year": "0"}).text
    assert ledger_recipients(year0) == [
        "=1+2@ledger.org",
        "zoe@ledger.org",
        "bob@ledger.org",
        "ann@ledger.org",
    ]
    assert "&#34;" not in year0 and "=1+2@ledger.org" in year0  # shown as is, escaped
    every = owner.get("/app/credits", params={"year": "all"}).text
    assert len(ledger_recipients(every)) == 6
    changed = owner.get("/app/credits", params={"year": "all", "reason": "recipient_change"})
    assert ledger_recipients(changed.text) == ["zoe@ledger.org"]
    bob = owner.get("/app/credits", params={"year": "all", "recipient": "BOB@"}).text
    assert ledger_recipients(bob) == ["bob@ledger.org", "bob@ledger.org"]
    # LIKE wildcards are taken literally.
    assert (
        ledger_recipients(owner.get("/app/credits", params={"year": "all", "recipient": "%"}).text)
        == []
    )
    march = owner.get(
        "/app/credits", params={"year": "all", "from": "2026-03-01", "to": "2026-03-10"}
    ).text
    assert ledger_recipients(march) == ["=1+2@ledger.org", "zoe@ledger.org"]
    feb1 = owner.get("/app/credits", params={"year": "all", "to": "2027-02-01"}).text
    assert ledger_recipients(feb1)[0] == "bob@ledger.org" and len(ledger_recipients(feb1)) == 5
    assert 'id="ledger-empty"' in owner.get("/app/credits", params={"reason": "renewal"}).text


def test_the_ledger_is_paginated(credo: App, org: Org) -> None:
    g = org.group()
    r = org.post(
        "/v1/credentials/bulk",
        {
            "group_id": g,
            "credentials": [
                {"recipient": {"name": "R", "email": f"p{i:02d}@page.org"}} for i in range(60)
            ],
        },
    )
    assert r.status_code == 201, r.text
    owner = sign_in(credo, email("owner"), org.id)
    first = owner.get("/app/credits").text
    assert len(ledger_recipients(first)) == 50 and 'id="ledger-count">60 entries' in first
    nxt = re.search(r'href="([^"]+)" rel="next"', first)
    assert nxt
    second = owner.get(nxt.group(1).replace("&amp;", "&")).text
    seen = ledger_recipients(first) + ledger_recipients(second)
    assert sorted(seen) == [f"p{i:02d}@page.org" for i in range(60)]
    assert 'rel="next"' not in second and "Newest entries" in second


def test_the_csv_is_the_filtered_ledger_and_injection_safe(credo: App) -> None:
    org, owner, _ = _ledger(credo)
    everything = csv_of(owner, "?year=all")
    api: list[dict[str, Any]] = []
    for year in (0, 1):
        api += org.get("/v1/credits/ledger", params={"billing_year": year}).json()["entries"]
    assert [row["id"] for row in everything] == [e["id"] for e in api]  # oldest first
    assert [row["credential_id"] for row in everything] == [e["credential_id"] for e in api]
    assert {row["credits"] for row in everything} == {"1"}
    assert "'=1+2@ledger.org" in [row["recipient"] for row in everything]
    assert "'+cmd@ledger.org" in [row["recipient"] for row in everything]
    for row in everything:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), row
    # The same filters as the page, the same rows.
    for query in ("?year=all&reason=recipient_change", "?year=0&recipient=bob", "?year=1", ""):
        params = dict(p.split("=") for p in query.lstrip("?").split("&") if p)
        page = owner.get("/app/credits", params=params).text
        rows = csv_of(owner, query)
        shown = [r.lstrip("'") for r in ledger_recipients(page)]
        assert [r["recipient"].lstrip("'") for r in reversed(rows)] == shown, query
    # The page's export link carries its filters.
    page = owner.get("/app/credits", params={"year": "0", "reason": "publish"}).text
    link = re.search(r'id="ledger-csv" href="([^"]+)"', page)
    assert link and "year=0" in link.group(1) and "reason=publish" in link.group(1)
    assert len(csv_of(owner, link.group(1).replace("&amp;", "&").split("csv", 1)[1])) == 3


def test_the_csv_streams_in_chunks(credo: App, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    from credo.services.billing import credit_reports

    monkeypatch.setattr(credit_reports, "CSV_CHUNK", 7)
    n = 3 * 7 + 2
    body = {
        "group_id": org.group(),
        "credentials": [{"recipient": {"name": "R", "email": f"s{i}@big.org"}} for i in range(n)],
    }
    assert org.post("/v1/credentials/bulk", body).status_code == 201
    owner = sign_in(credo, email("owner"), org.id)
    rows = csv_of(owner)
    assert len(rows) == n and len({r["id"] for r in rows}) == n
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)


def test_members_see_only_their_own_organization(credo: App, org: Org) -> None:
    g = org.group()
    issue(org, g, "mine@own.org")
    other = create_org(org.client, sandbox=True, anchor="2026-01-15")
    issue(other, other.group(), "theirs@other.org")
    stranger = sign_in(credo, email("stranger"), other.id, Role.VIEWER)
    html = stranger.get("/app/credits", params={"year": "all"}).text
    assert ledger_recipients(html) == ["theirs@other.org"]
    assert "mine@own.org" not in stranger.client.get("/app/credits/ledger.csv?year=all").text
    assert text_of(html, "credits-page-used") == "1"


def test_signed_out_is_sent_to_sign_in(org: Org) -> None:
    r = org.client.get("/app/credits", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303
    assert org.client.get("/app/credits/ledger.csv").status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"year": "abc"},
        {"year": "-1"},
        {"year": "99999999"},
        {"year": "5"},
        {"reason": "refund"},
        {"from": "2026-13-01"},
        {"from": "yesterday"},
        {"from": "2026-03-10", "to": "2026-03-01"},
        {"recipient": "x" * 900},
        {"recipient": "x" * 5000},
        {"before": "abc"},
        {"before": "9" * 30},
        {"from": "x" * 100},
    ],
)
def test_bad_filters_are_explained_never_a_500(
    credo: App, org: Org, params: dict[str, str]
) -> None:
    viewer = sign_in(credo, email("bad"), org.id, Role.VIEWER)
    r = viewer.get("/app/credits", params=params)
    assert r.status_code == 422, (params, r.status_code)
    assert "text/html" in r.headers["content-type"]
    c = viewer.client.get("/app/credits/ledger.csv", params=params)
    assert c.status_code in (200, 422), (params, c.status_code)  # the CSV has no cursor


def test_odd_but_valid_filters(credo: App, org: Org) -> None:
    viewer = sign_in(credo, email("odd"), org.id, Role.VIEWER)
    for params in (
        {"from": "9999-12-31", "to": "9999-12-31"},
        {"from": "0001-01-01"},
        {"year": "", "reason": "", "recipient": "", "from": "", "to": ""},
        {"recipient": "_%\\'\"<script>"},
        {"year": "0", "before": "1"},
    ):
        r = viewer.get("/app/credits", params=params)
        assert r.status_code == 200, (params, r.text[:300])
        assert "<script>" not in r.text
        assert viewer.client.get("/app/credits/ledger.csv", params=params).status_code == 200
