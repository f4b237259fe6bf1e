"""The audit log in the dashboard: owners see every staff action (a member's, an API
key's) with who, from where, what, before and after; they filter it and export it as CSV;
issuers and viewers cannot open it."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest

from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import Org
from tests.dashboard.helpers import make_person, sign_in


def email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


def test_owners_see_filter_and_export_every_staff_action(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    other = email("issuer")
    other_id = make_person(credo, other, org.id, Role.ISSUER)
    r = owner.post(f"/app/members/{other_id}/role", {"role": "viewer"})
    assert r.status_code == 303, r.text
    r = owner.post("/app/api-keys", {"name": "Moodle sync"})
    assert r.status_code == 201, r.text
    new_key = re.search(r"credo_[A-Za-z0-9_\-]{20,}", r.text)
    assert new_key
    g = org.group("Course by API")

    page = owner.get("/app/audit-log")
    assert page.status_code == 200
    assert 'href="/app/audit-log"' in page.text  # in the side navigation
    rows = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr ")[1:]
    assert len(rows) == 4  # the group, the key, the role, and the organization's first key
    assert "Created a group" in rows[0] and "API key" in rows[0] and g in rows[0]
    assert "Created an API key" in rows[1] and owner.email in rows[1]
    assert "testclient" in rows[1] and "Moodle sync" in rows[1]
    assert "Changed a member&#39;s role" in rows[2] and owner.email in rows[2]
    assert "<del>issuer</del>" in rows[2] and "<ins>viewer</ins>" in rows[2]
    assert new_key.group(0) not in page.text  # the key itself never

    filtered = owner.get("/app/audit-log", params={"action": "member.role_changed"})
    assert filtered.text.count('<tr id="entry-') == 1
    mine = owner.get("/app/audit-log", params={"actor": owner.user_id})
    assert mine.text.count('<tr id="entry-') == 2
    assert f'<option value="{owner.user_id}" selected>{owner.email}</option>' in mine.text
    by_target = owner.get("/app/audit-log", params={"target": g})
    assert by_target.text.count('<tr id="entry-') == 1
    assert owner.get("/app/audit-log", params={"to": "2000-01-01"}).text.count("<tr id=") == 0

    export = owner.get("/app/audit-log.csv", params={"actor": owner.user_id})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert [row["action"] for row in table] == ["api_key.created", "member.role_changed"]
    assert {row["actor"] for row in table} == {owner.email}
    assert table[1]["before"] == f'{{"email":"{other}","role":"issuer"}}'
    assert new_key.group(0) not in export.text


def test_pages_follow_older_entries(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    for i in range(55):
        org.group(f"G{i}")
    first = owner.get("/app/audit-log")
    assert first.text.count('<tr id="entry-') == 50
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older
    second = owner.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count('<tr id="entry-') == 6  # 55 groups and the first key
    assert "Newest entries" in second.text and 'rel="next"' not in second.text


@pytest.mark.parametrize(
    "params",
    [
        {"action": "credential.exploded"},
        {"actor": "robert'); DROP TABLE"},
        {"from": "yesterday"},
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"to": "9999-12-31"},
        {"before": "log_zz"},
    ],
)
def test_bad_filters_are_told_in_words(credo: App, org: Org, params: dict[str, str]) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    page = owner.get("/app/audit-log", params=params)
    assert page.status_code == 422
    assert 'class="field-error"' in page.text
    if "before" not in params:
        csv_answer = owner.get("/app/audit-log.csv", params=params)
        assert csv_answer.status_code == 422


@pytest.mark.parametrize("role", [Role.ISSUER, Role.VIEWER])
def test_only_owners_read_the_log(credo: App, org: Org, role: Role) -> None:
    person = sign_in(credo, email(role.value), org.id, role)
    assert person.get("/app/audit-log").status_code == 403
    assert person.get("/app/audit-log.csv").status_code == 403
    assert 'href="/app/audit-log"' not in person.get("/app").text
