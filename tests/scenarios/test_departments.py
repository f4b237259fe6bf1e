"""Departments with credit caps: the worked examples E13..E16 of credits.md and the rules
R16..R21 around them, through the API, on both databases."""

from __future__ import annotations

from typing import Any

from credo.bootstrap import App
from credo.services.billing.audit import audit_organization
from tests.conftest import Org, create_org


def _department(org: Org, name: str, cap: int | None = None) -> str:
    body: dict[str, Any] = {"name": name}
    if cap is not None:
        body["credit_cap"] = cap
    r = org.post("/v1/departments", body)
    assert r.status_code == 201, r.text
    dept = r.json()["department"]
    assert (dept["name"], dept["credit_cap"]) == (name, cap)
    return str(dept["id"])


def _figures(org: Org) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in org.credits()["departments"]}


def _audit_clean(credo: App, org: Org) -> None:
    report = credo.runner.read(lambda uow: audit_organization(uow, credo.clock, org.id))
    assert report.problems == []


def test_worked_examples_e13_to_e16(org: Org, credo: App) -> None:
    d1, d2 = _department(org, "D1", 2), _department(org, "D2")
    g1, g2 = org.group("D1 course", department_id=d1), org.group("D2 course", department_id=d2)
    org.move_clock("2026-02-01T09:00:00Z")

    # E13: D1's group to a and b -> D1 used 2, org used 2 (R16)
    for who in ("a", "b"):
        r = org.issue(g1, f"{who}@x.org")
        assert r.status_code == 201 and r.json()["credits_charged"] == 1, r.text
    assert org.used() == 2
    assert _figures(org)["D1"] | {} == {
        "id": d1,
        "name": "D1",
        "credit_cap": 2,
        "used": 2,
        "remaining": 0,
    }

    # E14: D1's group to c -> refused 402 department_cap_reached, nothing created (R17)
    before = org.get("/v1/credentials", params={"limit": 100}).json()["credentials"]
    r = org.issue(g1, "c@x.org")
    assert r.status_code == 402, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "department_cap_reached"
    assert problem["department"] == {"id": d1, "name": "D1", "credit_cap": 2}
    assert (problem["credits_required"], problem["credits_remaining"]) == (1, 0)
    assert org.get("/v1/credentials", params={"limit": 100}).json()["credentials"] == before
    assert org.used() == 2

    # E15: D2's group to c, then D1's group to c -> org 3, D1 2, D2 1; both live (R16, R17)
    r = org.issue(g2, "c@x.org")
    assert r.status_code == 201 and r.json()["credits_charged"] == 1
    r = org.issue(g1, "c@x.org")
    assert r.status_code == 201 and r.json()["credits_charged"] == 0, r.text
    figures = _figures(org)
    assert org.used() == 3
    assert (figures["D1"]["used"], figures["D2"]["used"]) == (2, 1)
    assert figures["D2"]["credit_cap"] is None and figures["D2"]["remaining"] is None
    live = org.get("/v1/credentials", params={"limit": 100}).json()["credentials"]
    assert sorted(c["group_id"] for c in live if c["recipient"]["email"] == "c@x.org") == sorted(
        [g1, g2]
    )

    # E16: raise D1's cap to 3, D1's group to d -> D1 used 3, org used 4 (R18)
    r = org.patch(f"/v1/departments/{d1}", {"credit_cap": 3})
    assert r.status_code == 200 and r.json()["department"]["credit_cap"] == 3
    r = org.issue(g1, "d@x.org")
    assert r.status_code == 201 and r.json()["credits_charged"] == 1
    assert org.used() == 4 and _figures(org)["D1"]["used"] == 3

    # The ledger names the department each seat was charged to (R16).
    entries = org.get("/v1/credits/ledger").json()["entries"]
    assert [(e["recipient"], e["department_id"]) for e in entries] == [
        ("a@x.org", d1),
        ("b@x.org", d1),
        ("c@x.org", d2),
        ("d@x.org", d1),
    ]
    # The ledger of one department (and not of another organization's).
    mine = org.get("/v1/credits/ledger", params={"department_id": d1}).json()["entries"]
    assert [e["recipient"] for e in mine] == ["a@x.org", "b@x.org", "d@x.org"]
    unknown = "dep_" + "0" * 32
    assert org.get("/v1/credits/ledger", params={"department_id": unknown}).status_code == 404
    assert org.get("/v1/credits/ledger", params={"department_id": "dep_0"}).status_code == 422
    # Every cap change is recorded: who, when, old, new (R18).
    changes = org.get(f"/v1/departments/{d1}").json()["cap_changes"]
    assert [(c["old_cap"], c["new_cap"]) for c in changes] == [(2, 3), (None, 2)]
    assert all(c["by"].startswith("API key") and c["at"].endswith("Z") for c in changes)
    _audit_clean(credo, org)


def test_bulk_is_all_or_nothing_against_the_cap_and_previews_it(org: Org, credo: App) -> None:
    dept = _department(org, "Faculty of Law", 3)
    g = org.group("Law", department_id=dept)
    org.move_clock("2026-02-01T09:00:00Z")
    assert org.issue(g, "held@x.org").status_code == 201
    four = [{"recipient": {"name": f"R{i}", "email": f"r{i}@x.org"}} for i in range(3)]
    four.append({"recipient": {"name": "Held", "email": "held@x.org"}})

    preview = org.post(
        "/v1/credentials/bulk", {"group_id": g, "credentials": four, "dry_run": True}
    )
    assert preview.status_code == 200, preview.text
    body = preview.json()
    # The organization could pay; the department cannot (R17, R21).
    assert (body["credits_required"], body["credits_remaining"]) == (3, 249)
    assert body["sufficient"] is False
    assert body["departments"] == [
        {
            "id": dept,
            "name": "Faculty of Law",
            "credit_cap": 3,
            "used": 1,
            "credits_required": 3,
            "credits_remaining": 2,
            "sufficient": False,
        }
    ]
    r = org.post("/v1/credentials/bulk", {"group_id": g, "credentials": four})
    assert r.status_code == 402 and r.json()["code"] == "department_cap_reached"
    assert r.json()["credits_required"] == 3 and r.json()["credits_remaining"] == 2
    assert org.used() == 1
    assert len(org.get("/v1/credentials").json()["credentials"]) == 1

    # Two of them fit; the holder of a seat costs nothing and no cap refuses it (R17).
    r = org.post("/v1/credentials/bulk", {"group_id": g, "credentials": four[1:]})
    assert r.status_code == 201 and r.json()["credits_charged"] == 2, r.text
    assert _figures(org)["Faculty of Law"]["used"] == 3
    assert org.issue(g, "held@x.org").status_code == 201
    _audit_clean(credo, org)


def test_a_free_event_is_never_refused_by_a_cap_and_a_lowered_cap_takes_nothing_back(
    org: Org, credo: App
) -> None:
    full = _department(org, "Full", 0)
    other = _department(org, "Other", 5)
    g_full, g_other = org.group("F", department_id=full), org.group("O", department_id=other)
    org.move_clock("2026-02-01T09:00:00Z")
    assert org.issue(g_full, "x@x.org").json()["code"] == "department_cap_reached"
    for who in ("x", "y", "z"):
        assert org.issue(g_other, f"{who}@x.org").status_code == 201
    # x holds a seat taken by Other: Full's group issues to x for free (R17).
    r = org.issue(g_full, "x@x.org")
    assert r.status_code == 201 and r.json()["credits_charged"] == 0
    # R18: lowering Other's cap below what it took refuses more and takes nothing back.
    assert org.patch(f"/v1/departments/{other}", {"credit_cap": 1}).status_code == 200
    assert org.issue(g_other, "w@x.org").json()["code"] == "department_cap_reached"
    figures = _figures(org)
    assert figures["Other"]["used"] == 3 and figures["Other"]["remaining"] == 0
    assert org.used() == 3
    # No cap at all: only the organization's allowance binds.
    assert org.patch(f"/v1/departments/{other}", {"credit_cap": None}).status_code == 200
    assert org.issue(g_other, "w@x.org").status_code == 201
    _audit_clean(credo, org)


def test_moving_a_group_and_retaking_a_released_seat(org: Org, credo: App) -> None:
    a, b = _department(org, "A", 10), _department(org, "B", 10)
    g = org.group("Moving", department_id=a)
    org.move_clock("2026-02-01T09:00:00Z")
    cred = org.issue(g, "ann@x.org").json()["credential"]["id"]

    # R20: moving the group changes nothing already charged; later seats go to B.
    r = org.patch(f"/v1/groups/{g}", {"department_id": b})
    assert r.status_code == 200 and r.json()["group"]["department_id"] == b
    assert org.issue(g, "bob@x.org").json()["credits_charged"] == 1
    figures = _figures(org)
    assert (figures["A"]["used"], figures["B"]["used"]) == (1, 1)

    # R19: ann's seat released (R7) and taken again: charged to the taking event's (B).
    assert org.delete(f"/v1/credentials/{cred}").status_code == 204
    assert org.issue(g, "ann@x.org").json()["credits_charged"] == 1
    figures = _figures(org)
    assert (figures["A"]["used"], figures["B"]["used"]) == (1, 2)
    assert org.used() == 3

    # Out of every department: charged to none.
    assert org.patch(f"/v1/groups/{g}", {"department_id": None}).status_code == 200
    assert org.issue(g, "cy@x.org").json()["credits_charged"] == 1
    entries = org.get("/v1/credits/ledger").json()["entries"]
    assert [e["department_id"] for e in entries] == [a, b, b, None]
    _audit_clean(credo, org)


def test_renewals_and_drafts_published_later_charge_the_groups_department(
    org: Org, credo: App
) -> None:
    dept = _department(org, "Academy", 1)
    g = org.group("Academy course", department_id=dept)
    org.move_clock("2026-02-01T09:00:00Z")
    draft = org.issue(g, "d1@x.org", publish=False).json()["credential"]["id"]
    other = org.issue(g, "d2@x.org", publish=False).json()["credential"]["id"]
    dry = org.post(f"/v1/credentials/{draft}/publish", {"dry_run": True})
    assert dry.status_code == 200 and dry.json()["departments"][0]["credits_remaining"] == 1
    assert org.post(f"/v1/credentials/{draft}/publish").status_code == 200
    r = org.post(f"/v1/credentials/{other}/publish")
    assert r.status_code == 402 and r.json()["code"] == "department_cap_reached"

    # A renewal in the next billing year takes a seat there, from the same department.
    org.move_clock("2027-02-01T09:00:00Z")
    r = org.patch(f"/v1/credentials/{draft}", {"expires_on": "2030-01-01"})
    assert r.status_code == 200 and r.json()["credits_charged"] == 1, r.text
    assert _figures(org)["Academy"]["used"] == 1
    _audit_clean(credo, org)


def test_departments_api(org: Org) -> None:
    dept = _department(org, "Engineering", 40)
    assert org.post("/v1/departments", {"name": " engineering "}).status_code == 409
    for bad in ({"name": ""}, {"name": "X", "credit_cap": -1}, {"name": "X", "credit_cap": 1.5},
                {"name": "X", "credit_cap": "3"}, {"name": "X", "extra": 1}, {}):  # fmt: skip
        r = org.post("/v1/departments", bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    listed = org.get("/v1/departments").json()["departments"]
    assert listed == [
        {"id": dept, "name": "Engineering", "credit_cap": 40, "used": 0, "remaining": 40}
    ]
    assert org.get("/v1/departments/dep_nope").status_code == 404
    assert org.patch(f"/v1/departments/{dept}", {"name": None}).status_code == 422
    r = org.patch(f"/v1/departments/{dept}", {"name": "Engineering & Design"})
    assert r.json()["department"] == {"id": dept, "name": "Engineering & Design", "credit_cap": 40}
    # A group of another organization's department, or of none that exists: refused.
    r = org.post("/v1/groups", {"name": "G", "department_id": "dep_missing"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "department_id"
    g = org.group("G", department_id=dept)
    # Deleting a department that holds groups: 409; once empty, it goes.
    r = org.delete(f"/v1/departments/{dept}")
    assert r.status_code == 409 and "1 group" in r.json()["detail"]
    assert org.patch(f"/v1/groups/{g}", {"department_id": None}).status_code == 200
    assert org.delete(f"/v1/departments/{dept}").status_code == 204
    assert org.get(f"/v1/departments/{dept}").status_code == 404
    assert org.get("/v1/departments").json()["departments"] == []
    # Its name is free again.
    _department(org, "Engineering & Design")


def test_departments_are_the_organizations_own(org: Org, client) -> None:  # type: ignore[no-untyped-def]
    dept = _department(org, "Mine", 1)
    other = create_org(client, sandbox=True, anchor="2026-01-15")
    assert other.get(f"/v1/departments/{dept}").status_code == 404
    assert other.patch(f"/v1/departments/{dept}", {"credit_cap": 9}).status_code == 404
    assert other.delete(f"/v1/departments/{dept}").status_code == 404
    r = other.post("/v1/groups", {"name": "Theirs", "department_id": dept})
    assert r.status_code == 422
    assert org.get(f"/v1/departments/{dept}").json()["department"]["credit_cap"] == 1


def test_what_a_review_found(org: Org, credo: App) -> None:
    """Regressions: the VC API's group stays out of every department (its seats would
    escape the cap); names are unique whatever their case, in any script; a NUL or a
    malformed id is a 422, not a database error; a long key name does not overflow the
    cap history; a deleted department's ledger lines can still be listed."""
    from credo.services.credentials.groups import vc_api_group_id

    dept = _department(org, "Économie", 1)
    r = org.post(
        "/credentials/issue",
        {
            "credential": {
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                ],
                "type": ["VerifiableCredential", "OpenBadgeCredential"],
                "credentialSubject": {
                    "type": ["AchievementSubject"],
                    "achievement": {
                        "id": "https://example.org/a",
                        "type": ["Achievement"],
                        "name": "A",
                        "description": "A",
                        "criteria": {"narrative": "A"},
                    },
                },
            },
            "options": {"recipient": {"name": "V", "email": "v@x.org"}},
        },
    )
    vc = vc_api_group_id(org.id)
    assert r.status_code == 201, r.text  # the VC API made its group: it joins no department
    moved = org.patch(f"/v1/groups/{vc}", {"department_id": dept})
    assert moved.status_code == 409, moved.text
    assert moved.json()["code"] == "conflict"

    assert org.post("/v1/departments", {"name": "ÉCONOMIE"}).status_code == 409
    assert org.post("/v1/departments", {"name": "économie"}).status_code == 409
    for bad in ("dep_\u0000", "dep_" + "0" * 31 + "\u0000"):
        r = org.post("/v1/groups", {"name": "G", "department_id": bad})
        assert r.status_code == 422, r.text
    assert org.get("/v1/credits/ledger", params={"department_id": "x\u0000"}).status_code == 422

    g = org.group("Economics", department_id=dept)
    org.move_clock("2026-02-01T09:00:00Z")
    assert org.issue(g, "e1@x.org").status_code == 201
    assert org.patch(f"/v1/departments/{dept}", {"credit_cap": 5}).status_code == 200
    assert org.patch(f"/v1/groups/{g}", {"department_id": None}).status_code == 200
    assert org.delete(f"/v1/departments/{dept}").status_code == 204
    kept = org.get("/v1/credits/ledger", params={"department_id": dept}).json()["entries"]
    assert [e["recipient"] for e in kept] == ["e1@x.org"]
    _audit_clean(credo, org)
