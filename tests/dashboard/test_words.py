"""The customer's words: no rule codes (R1, R6, R11...) in any dashboard page or e-mail,
which explain in words and link "How credits work" instead (the API's problem JSON keeps
citing rules, for developers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from credo.bootstrap import App
from credo.domain.accounts import Role
from credo.domain.entities import OutboxMessage
from credo.services.mail import notifications
from tests.conftest import Org, create_org
from tests.dashboard.helpers import sign_in
from tests.dashboard.mail import unique_email
from tests.dashboard.test_authorization import ROUTES, World
from tests.dashboard.test_authorization import world as world_fixture
from tests.webhook_receiver import settled_webhooks as settled_webhooks_fixture

settled_webhooks = settled_webhooks_fixture


@pytest.fixture(autouse=True)
def _settle(settled_webhooks: None) -> None:
    """This module makes webhook endpoints: they are settled after each test."""


world = world_fixture
RULE = re.compile(r"\bR(?:[1-9]|1[0-9]|2[01])(?:\.[0-9])?\b")
HTML = {"Accept": "text/html"}


def test_no_page_cites_a_rule_code(world: World) -> None:
    owner = world.people["owner"]
    for route in ROUTES:
        if route.method != "GET":
            continue
        r = owner.client.get(route.path.format(**world.ids), headers=HTML)
        if r.headers.get("content-type", "").startswith("text/html"):
            assert not RULE.search(r.text), (route.path, RULE.search(r.text))


def test_refusals_and_costs_say_it_in_words(credo: App, client: object) -> None:
    org: Org = create_org(client, sandbox=True, plan="connect", credits=1)  # type: ignore[arg-type]
    issuer = sign_in(credo, unique_email("words"), org.id, Role.OWNER)
    gid = org.group("Words 101")
    assert org.issue(gid, "first@example.org").status_code == 201
    form = {"group_id": gid, "recipient_name": "Second", "recipient_email": "second@example.org",
            "action": "publish"}  # fmt: skip
    r = issuer.post("/app/credentials/new", form)
    assert "credit" in r.text and not RULE.search(r.text), r.text[:2000]
    how = issuer.get("/app/credits/how")
    assert how.status_code == 200 and "One credit per person, per billing year" in how.text
    # This sandbox's year began on its creation day, 1 February 2026: its last day is the
    # eve of the next year's first.
    assert "this one runs from 1 February 2026 to 31 January 2027" in how.text
    assert not RULE.search(how.text)
    assert 'href="/app/credits/how"' in issuer.get("/app/credits").text


def test_e_mails_cite_no_rule_code(credo: App) -> None:
    now = datetime(2026, 2, 1, tzinfo=UTC)
    payload = (
        '{"organization": "Org", "threshold": 80, "used": 8, "allowance": 10, '
        '"billing_year": 0, "year_ends_at": "2027-01-14T00:00:00+00:00", "owner_name": "Owen"}'
    )
    row = OutboxMessage(
        "mail_1", "org_1", "credits.alert", "o@example.org", None, payload, now, now
    )
    message = notifications.compose(row, credo.ctx, "credo@credo.example", now)
    for part in ("plain", "html"):
        text = message.get_body((part,)).get_content()  # type: ignore[union-attr]
        assert not RULE.search(text), (part, RULE.search(text))


def test_the_credits_page_speaks_in_dates_and_honest_shares(credo: App, client: object) -> None:
    org: Org = create_org(client, sandbox=True, anchor="2026-01-15")  # type: ignore[arg-type]
    owner = sign_in(credo, unique_email("words"), org.id, Role.OWNER)
    assert org.issue(org.group("Shares"), "one@example.org").status_code == 201
    html = owner.get("/app/credits").text
    assert "Billing year 15 Jan 2026 \u2013 14 Jan 2027" in html
    assert "Billing year 0" not in html and ">Year 0" not in html
    assert "(less than 1%)" in html and "(0%)" not in html  # 1 of 250 is not nothing
    assert "<td>15 Jan 2026 \u2013 14 Jan 2027</td>" in html  # the ledger's year column
