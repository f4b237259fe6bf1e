"""The worked examples E1..E12 of credits.md, through the API, on both databases."""

from __future__ import annotations

from tests.conftest import Org, create_org


def test_worked_examples_e1_to_e11(org: Org) -> None:
    a, b, c = org.group("A"), org.group("B"), org.group("C")
    org.move_clock("2026-02-01T09:00:00Z")

    # E1: publish group A to ann -> 1 (R4)
    r = org.issue(a, "ann@x.org", "Ann")
    assert r.status_code == 201 and r.json()["credits_charged"] == 1
    ann_a = r.json()["credential"]["id"]
    assert org.used() == 1

    # E2: groups B and C to ann -> still 1 (R1)
    ann_b = org.issue(b, "ann@x.org", "Ann").json()
    ann_c = org.issue(c, "ann@x.org", "Ann").json()
    assert ann_b["credits_charged"] == 0 and ann_c["credits_charged"] == 0
    assert org.used() == 1

    # E3: group A again to ANN@X.org -> 1 (R2, case-blind key)
    r = org.issue(a, "ANN@X.org", "Ann")
    assert r.json()["credits_charged"] == 0
    assert r.json()["credential"]["recipient"]["email"] == "ANN@X.org"
    assert org.used() == 1

    # E4: group A to bob as a draft -> 1 (R9)
    r = org.issue(a, "bob@x.org", "Bob", publish=False)
    assert r.status_code == 201 and r.json()["credits_charged"] == 0
    bob_draft = r.json()["credential"]
    assert bob_draft["status"] == "draft" and bob_draft["seat_year"] is None
    assert org.used() == 1

    # E5: publish the draft -> 2 (R3.1)
    r = org.post(f"/v1/credentials/{bob_draft['id']}/publish")
    assert r.status_code == 200 and r.json()["credits_charged"] == 1
    assert org.used() == 2

    # E6: delete ann's group-B credential -> 2 (R6; ann still holds her seat)
    assert org.delete(f"/v1/credentials/{ann_b['credential']['id']}").status_code == 204
    assert org.used() == 2
    assert org.credits()["seats_held"] == 2

    # E7: 2026-03-01 delete bob's only credential, then issue him group C -> 3 (R7)
    org.move_clock("2026-03-01T10:00:00Z")
    assert org.delete(f"/v1/credentials/{bob_draft['id']}").status_code == 204
    assert org.credits()["seats_held"] == 1
    r = org.issue(c, "bob@x.org", "Bob")
    assert r.json()["credits_charged"] == 1
    assert org.used() == 3

    # E8: 2027-01-15, year 1 starts: allowance 250, used 0 (R8)
    org.move_clock("2027-01-15T00:00:00Z")
    credits = org.credits()
    assert credits["billing_year"]["index"] == 1
    assert credits["billing_year"]["starts_at"] == "2027-01-15T00:00:00Z"
    assert (credits["allowance"], credits["used"], credits["remaining"]) == (250, 0, 250)
    assert credits["seats_held"] == 0

    # E9: 2027-02-01 change the expiry of ann's first year-0 group-A credential -> 1 (R3.2)
    org.move_clock("2027-02-01T08:00:00Z")
    r = org.patch(f"/v1/credentials/{ann_a}", {"expires_on": "2029-02-01"})
    assert r.status_code == 200, r.text
    assert r.json()["credits_charged"] == 1
    assert r.json()["credential"]["seat_year"] == 1
    assert org.used() == 1

    # E10: then change the expiry of ann's year-0 group-C credential -> 1 (ann holds a seat)
    r = org.patch(f"/v1/credentials/{ann_c['credential']['id']}", {"expires_on": "2029-03-01"})
    assert r.json()["credits_charged"] == 0
    assert org.used() == 1

    # E11: then publish group B to ann -> 1 (R1)
    assert org.issue(b, "ann@x.org", "Ann").json()["credits_charged"] == 0
    assert org.used() == 1

    ledger = org.get("/v1/credits/ledger", params={"billing_year": 0}).json()["entries"]
    assert [(e["reason"], e["recipient"]) for e in ledger] == [
        ("publish", "ann@x.org"),
        ("publish", "bob@x.org"),
        ("publish", "bob@x.org"),
    ]
    ledger1 = org.get("/v1/credits/ledger").json()["entries"]
    assert [(e["reason"], e["credential_id"]) for e in ledger1] == [("renewal", ann_a)]


def test_worked_example_e12_bulk_refused_whole(client) -> None:  # type: ignore[no-untyped-def]
    org = create_org(client, sandbox=True, anchor="2026-01-15")
    g = org.group("A")
    org.move_clock("2026-02-01T00:00:00Z")
    first = [{"recipient": {"name": f"R{i}", "email": f"r{i}@x.org"}} for i in range(250)]
    r = org.post("/v1/credentials/bulk", {"group_id": g, "credentials": first})
    assert r.status_code == 201 and r.json()["credits_charged"] == 250
    assert org.used() == 250

    extra = [{"recipient": {"name": f"N{i}", "email": f"new{i}@x.org"}} for i in range(2)]
    preview = org.post(
        "/v1/credentials/bulk", {"group_id": g, "credentials": extra, "dry_run": True}
    )
    assert preview.status_code == 200
    assert preview.json()["credits_required"] == 2 and preview.json()["sufficient"] is False

    r = org.post("/v1/credentials/bulk", {"group_id": g, "credentials": extra})
    assert r.status_code == 402
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["credits_required"] == 2 and problem["credits_remaining"] == 0
    assert org.used() == 250
    listed = org.get("/v1/credentials", params={"limit": 1000}).json()["credentials"]
    assert len(listed) == 250
    assert not any(c["recipient"]["email"].startswith("new") for c in listed)
