"""What every dashboard page shows around its content: the sandbox label with its test
clock's date, and an organization switcher that never hides a name."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.domain.accounts import Role
from credo.services.people import accounts
from tests.conftest import create_org
from tests.dashboard.helpers import sign_in
from tests.dashboard.mail import unique_email
from tests.dashboard.test_authorization import ROUTES, World
from tests.dashboard.test_authorization import world as world_fixture
from tests.webhook_receiver import settled_webhooks as settled_webhooks_fixture

settled_webhooks = settled_webhooks_fixture
world = world_fixture
HTML = {"Accept": "text/html"}
LABEL = re.compile(r'<p class="sandbox-label" id="sandbox-label">(.*?)</p>', re.S)


def test_every_page_of_a_sandbox_says_so_with_its_test_clock_date(
    world: World, settled_webhooks: None
) -> None:
    world.a.move_clock("2027-03-04T10:00:00Z")
    owner = world.people["owner"]
    pages = 0
    for route in ROUTES:
        if route.method != "GET":
            continue
        r = owner.client.get(route.path.format(**world.ids), headers=HTML)
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue
        if route.path.endswith("/progress"):  # a fragment polled into the import's page
            continue
        assert r.status_code == 200, (route.path, r.status_code)
        label = LABEL.search(r.text)
        assert label, route.path
        words = re.sub(r"<[^>]+>", "", label.group(1))
        assert words.startswith("Sandbox: test clock, no real billing"), words
        assert "4 March 2027" in words, words
        pages += 1
    assert pages >= 15


def test_a_real_organization_shows_no_sandbox_label(credo: App, client: TestClient) -> None:
    real = create_org(client, name="Real Academy", sandbox=False)
    owner = sign_in(credo, unique_email("real"), real.id, Role.OWNER)
    for path in ("/app", "/app/groups", "/app/credits"):
        page = owner.get(path)
        assert page.status_code == 200 and "Real Academy" in page.text
        assert "sandbox-label" not in page.text and "Sandbox" not in page.text


def test_the_switcher_keeps_every_name_whole_and_waits_for_the_button(
    credo: App, client: TestClient
) -> None:
    long_name = "The Very Long Name of a Continuing Education Institute " * 3 + "& Partners"
    first = create_org(client, name=long_name.strip(), sandbox=True, anchor="2026-01-15")
    person = sign_in(credo, unique_email("many"), first.id, Role.OWNER)
    others = [create_org(client, name=f"School {i}", sandbox=True) for i in range(8)]

    def join(uow: Any) -> None:
        for o in others:
            accounts.add_member(uow, credo.clock, o.id, person.user_id, Role.VIEWER)

    credo.runner.write(join)
    text = person.get("/app").text
    switcher = re.search(r'<form class="org-switch".*?</form>', text, re.S)
    assert switcher, text[:3000]
    form = switcher.group(0)
    full = html.escape(long_name.strip(), quote=True)
    # The full name is in the select's title and in its option (title and text): a
    # narrow screen may cut the select short, never the name these carry.
    assert f'title="{full}"' in form
    assert f'title="{full} (owner)"' in form and f">{full} (owner)</option>" in form
    assert form.count("<option") == 9 and all(f"School {i} (viewer)" in form for i in range(8))
    assert re.search(r'<label for="org-select"[^>]*>Organization</label>', form)
    # Changing the choice does not leave the page (arrow keys walk through the list);
    # the Switch button, always shown, does.
    assert "data-autosubmit" not in form and "js-hide" not in form
    assert re.search(r'<button type="submit" class="button small">Switch</button>', form)
    r = person.post("/app/switch", {"organization_id": others[3].id})
    assert r.status_code == 303 and "<h1>School 3</h1>" in person.get("/app").text


def test_one_organization_is_named_in_full_without_a_switcher(
    credo: App, client: TestClient
) -> None:
    name = "Academy of " + "Extraordinarily " * 6 + "Long Names"
    only = create_org(client, name=name, sandbox=True, anchor="2026-01-15")
    person = sign_in(credo, unique_email("one"), only.id, Role.OWNER)
    text = person.get("/app/groups").text
    assert 'id="org-select"' not in text
    assert f'<p class="org-switch org-name" title="{name}">{name}</p>' in text
