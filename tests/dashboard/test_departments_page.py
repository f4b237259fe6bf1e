"""Departments in the dashboard: owners add them, set and change caps (each change shown
with who made it), see each department's seats against its cap month by month, and place
groups in them; issuers and viewers cannot."""

from __future__ import annotations

import re
import uuid

from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import Org
from tests.dashboard.helpers import sign_in


def email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


def _add(owner, name: str, cap: str) -> str:  # type: ignore[no-untyped-def]
    r = owner.post("/app/departments", {"name": name, "cap": cap})
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/app/departments/(dep_\w+)\?notice=created", r.headers["location"])
    assert found, r.headers["location"]
    return found.group(1)


def test_owner_adds_caps_and_watches_a_department(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    page = owner.get("/app/departments")
    assert page.status_code == 200 and "No departments yet" in page.text
    assert 'href="/app/departments"' in page.text  # in the side navigation

    dept = _add(owner, "Faculty of Law", "2")
    detail = owner.get(f"/app/departments/{dept}?notice=created")
    assert "Department added" in detail.text
    assert 'id="department-cap-value">2<' in detail.text
    assert '<svg id="seats-chart"' in detail.text and 'id="seats-table"' in detail.text

    # A group placed in it from the group form; its seats count there.
    gid = org.group("Contract law")
    form = owner.get(f"/app/groups/{gid}")
    assert f'<option value="{dept}"' in form.text and "Faculty of Law (cap 2)" in form.text
    assert org.patch(f"/v1/groups/{gid}", {"department_id": dept}).status_code == 200
    org.move_clock("2026-02-01T09:00:00Z")
    for who in ("a", "b"):
        assert org.issue(gid, f"{who}@x.org").status_code == 201
    assert org.issue(gid, "c@x.org").json()["code"] == "department_cap_reached"

    listing = owner.get("/app/departments").text
    row = listing.split(f'id="department-{dept}"', 1)[1].split("</tr>", 1)[0]
    assert "Faculty of Law" in row and ">2<" in row and "none left" in row
    detail = owner.get(f"/app/departments/{dept}").text
    assert 'id="department-used">2<' in detail and 'id="department-remaining">0<' in detail
    assert "Contract law" in detail
    # Its ledger lines: the credits page filtered to the department, and its CSV.
    link = detail.split('id="department-ledger"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    ledger = owner.get(link.replace("&amp;", "&")).text
    assert f'<option value="{dept}" selected>Faculty of Law</option>' in ledger
    assert "a@x.org" in ledger and "b@x.org" in ledger
    csv = owner.get(f"/app/credits/ledger.csv?year=all&department={dept}").text
    assert csv.count("@x.org") == 2
    assert owner.get("/app/credits?department=nope").status_code == 422

    # Raising the cap: recorded with who did it, and in effect at once (R18).
    r = owner.post(f"/app/departments/{dept}", {"name": "Faculty of Law", "cap": "5"})
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=saved")
    history = owner.get(f"/app/departments/{dept}").text.split('id="cap-changes"', 1)[1]
    assert history.index(owner.email) < history.index("</table>")
    assert org.issue(gid, "c@x.org").status_code == 201

    # Words, not a 500, for a bad cap or a taken name; nothing changes.
    bad = owner.post(f"/app/departments/{dept}", {"name": "Faculty of Law", "cap": "-3"})
    assert bad.status_code == 422 and "credit_cap" not in bad.text.split("<main", 1)[0]
    assert 'id="department-error"' in bad.text and "whole number" in bad.text
    _add(owner, "Faculty of Arts", "")
    taken = owner.post("/app/departments", {"name": "faculty of arts", "cap": ""})
    assert taken.status_code == 409 and "exists already" in taken.text

    # A department holding a group cannot be deleted; once empty it can.
    assert "Delete department" not in owner.get(f"/app/departments/{dept}").text
    refused = owner.post(f"/app/departments/{dept}/delete", {})
    assert refused.status_code == 409 and "holds 1 group" in refused.text
    assert org.patch(f"/v1/groups/{gid}", {"department_id": None}).status_code == 200
    gone = owner.post(f"/app/departments/{dept}/delete", {})
    assert gone.status_code == 303 and gone.headers["location"] == "/app/departments?notice=deleted"
    assert "Faculty of Law" not in owner.get("/app/departments").text


def test_only_owners_manage_departments_and_place_groups(credo: App, org: Org) -> None:
    dept = org.post("/v1/departments", {"name": "Academy", "credit_cap": 3}).json()
    dept_id = dept["department"]["id"]
    gid = org.group("Onboarding")
    for role in (Role.ISSUER, Role.VIEWER):
        person = sign_in(credo, email(role.value), org.id, role)
        assert person.get("/app/departments").status_code == 403
        assert person.get(f"/app/departments/{dept_id}").status_code == 403
        assert person.post("/app/departments", {"name": "Mine", "cap": ""}).status_code == 403
        r = person.post(f"/app/departments/{dept_id}", {"name": "Academy", "cap": "99"})
        assert r.status_code == 403
        assert person.post(f"/app/departments/{dept_id}/delete", {}).status_code == 403
        assert 'href="/app/departments"' not in person.get("/app").text
    assert org.get(f"/v1/departments/{dept_id}").json()["department"]["credit_cap"] == 3

    # An issuer edits the group but cannot move it into (or out of) a department.
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    form = issuer.get(f"/app/groups/{gid}").text
    assert "Only owners move groups between departments" in form
    base = {
        "name": "Onboarding",
        "duplicate_policy": "allow",
        "certificate": "classic",
        "badge": "medal",
        "paper": "a4",
        "orientation": "landscape",
        "action": "save",
    }
    moved = issuer.post(f"/app/groups/{gid}", {**base, "department_id": dept_id})
    assert moved.status_code == 403
    assert org.get(f"/v1/groups/{gid}").json()["group"]["department_id"] is None
    kept = issuer.post(f"/app/groups/{gid}", {**base, "name": "Onboarding 2"})
    assert kept.status_code == 303, kept.text
    owner = sign_in(credo, email("owner"), org.id)
    assert owner.post(f"/app/groups/{gid}", {**base, "department_id": dept_id}).status_code == 303
    assert org.get(f"/v1/groups/{gid}").json()["group"]["department_id"] == dept_id


def test_bulk_publish_and_imports_preview_the_departments_cap(credo: App, org: Org) -> None:
    """Bulk actions and imports show what a publish takes from the group's department next
    to the organization's credits, and say when the cap is what refuses it (R21)."""
    dept = org.post("/v1/departments", {"name": "Evening school", "credit_cap": 2}).json()
    gid = org.group("Evening course", department_id=dept["department"]["id"])
    owner = sign_in(credo, email("owner"), org.id)
    drafts = [
        org.issue(gid, f"{who}@x.org", publish=False).json()["credential"]["id"]
        for who in ("p", "q", "r")
    ]
    html = owner.post("/app/credentials/bulk", {"action": "publish", "ids": drafts}).text
    table = html.split('id="department-cost"', 1)[1].split("</table>", 1)[0]
    assert "Evening school" in table and ">3<" in table and ">2<" in table
    assert "Evening school may take 2 seats this billing year and has taken 0" in html
    assert "credits short" not in html  # the organization has plenty
    assert "for 3 credits</button>" not in html  # refused as a whole: no button

    up = owner.client.post(
        "/app/imports",
        data={"csrf": owner.csrf(), "group_id": gid},
        files={"file": ("e.csv", b"name,email\nS,s@x.org\nT,t@x.org\nU,u@x.org\n", "text/csv")},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert up.status_code == 303, up.text
    job = up.headers["location"].split("/")[3]
    mapped = owner.post(f"/app/imports/{job}/map", {"name": "0", "email": "1"})
    assert mapped.status_code == 303, mapped.text
    preview = owner.get(mapped.headers["location"]).text
    assert 'id="department-cost"' in preview and "Evening school may take 2 seats" in preview
    assert "Not enough credits" not in preview
    assert 'value="publish" class="button primary" disabled' in preview
    # One credential: the same figures before it is published.
    one = owner.post(
        "/app/credentials/new",
        {
            "group_id": gid,
            "recipient_name": "Vi",
            "recipient_email": "vi@x.org",
            "action": "preview",
        },
    ).text
    assert 'id="department-cost"' in one and "credits short" not in one
    # Started anyway (a stale page): refused for the cap, in words, not for the subscription.
    started = owner.post(f"/app/imports/{job}/start", {"mode": "publish"})
    assert started.status_code == 402, started.text
    assert "Evening school may give 2 seats this billing year" in started.text
    assert "subscription" not in started.text.split("<main", 1)[1]
