"""One credential's page: what it shows (recipient, status, version, e-mails, credits in
words), and its actions, each showing its cost before it does it."""

from __future__ import annotations

import html as html_lib
import re
import uuid
from typing import Any

from sqlalchemy import func, select, update

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import Org, create_org
from tests.dashboard.helpers import Person, sign_in

RULE = re.compile(r"\bR(?:[1-9]|1[0-9]|2[01])(?:\.[0-9])?\b")
YEAR_0 = "15 Jan 2026 \u2013 14 Jan 2027"
YEAR_1 = "15 Jan 2027 \u2013 14 Jan 2028"
_o = t.outbox.c


def email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


def text(html: str) -> str:
    """The page's words without its tags, its spacing or its CSRF token."""
    html = re.sub(r'name="csrf" value="[^"]*"', "", html)
    return html_lib.unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


def of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, f"no #{element_id}"
    return html_lib.unescape(" ".join(found.group(1).split()))


def issue_ada(org: Org, **fields: Any) -> tuple[str, str]:
    gid = org.group("Analytical Engines")
    r = org.issue(gid, "ada@example.org", "Ada Lovelace", **fields)
    assert r.status_code == 201, r.text
    return gid, str(r.json()["credential"]["id"])


def mails(credo: App, cred_id: str) -> list[Any]:
    with credo.engine.connect() as conn:
        return list(conn.execute(select(t.outbox).where(_o.credential_id == cred_id)).all())


def mark_mails(credo: App, cred_id: str, **values: Any) -> None:
    with credo.engine.begin() as conn:
        conn.execute(update(t.outbox).where(_o.credential_id == cred_id).values(**values))


def charges(credo: App, org_id: str) -> list[tuple[int, str, str]]:
    e = t.ledger_entries.c
    with credo.engine.connect() as conn:
        rows = conn.execute(
            select(e.billing_year, e.reason, e.credential_id)
            .where(e.organization_id == org_id)
            .order_by(e.id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def confirm(person: Person, cred_id: str, action: str) -> str:
    r = person.get(f"/app/credentials/{cred_id}/{action}")
    assert r.status_code == 200, r.text[:500]
    assert not RULE.search(r.text), RULE.search(r.text)
    return str(r.text)


def do(person: Person, cred_id: str, action: str, shown: str, **extra: str) -> Any:
    required = of(shown, "credits-required")
    return person.post(
        f"/app/credentials/{cred_id}/{action}", {"expected_credits": required, **extra}
    )


def test_the_page_shows_the_credential_in_words(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id, Role.OWNER)
    _, cred_id = issue_ada(org, expires_on="2028-01-31")
    listing = owner.get("/app/credentials").text
    assert f'href="/app/credentials/{cred_id}"' in listing  # each row links to its page
    r = owner.get(f"/app/credentials/{cred_id}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert not RULE.search(page), RULE.search(page)
    assert of(page, "recipient-name") == "Ada Lovelace"
    assert of(page, "recipient-email") == "ada@example.org"
    assert "Analytical Engines" in of(page, "group")
    assert of(page, "state") == "published"
    assert of(page, "status") == "Published: it verifies."
    assert of(page, "issued-on") == "15 January 2026"  # the sandbox clock's day
    assert of(page, "expires-on") == "31 January 2028"
    assert f'href="/c/{cred_id}"' in page
    words = text(page)
    # Its one signed version, when it was signed, and what it says.
    assert "Versions" in words and "the current version" in words
    assert "Ada Lovelace <ada@example.org>" in words
    # The publish e-mail, waiting for the worker, and the credit it took, in words.
    assert "Credential issued ada@example.org" in words and "waiting" in words
    assert (
        f"Publishing it made Ada Lovelace a recipient in the billing year {YEAR_0}: 1 credit."
    ) in words
    assert "Never revoked, and not suspended now." in words

    mark_mails(
        credo, cred_id, failed_at=credo.clock.now(), last_error="recipient refused: 550 no user"
    )
    words = text(owner.get(f"/app/credentials/{cred_id}").text)
    assert "failed The recipient's mail server refused the address" in words
    assert "The server said: recipient refused: 550 no user" in words
    mark_mails(credo, cred_id, failed_at=None, sent_at=credo.clock.now())
    assert "delivered 1 February 2026" in text(owner.get(f"/app/credentials/{cred_id}").text)


def test_each_change_adds_the_version_it_replaced(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id, Role.OWNER)
    _, cred_id = issue_ada(org, expires_on="2028-01-31")
    assert "It has not been changed since it was published." in text(
        owner.get(f"/app/credentials/{cred_id}").text
    )
    r = org.patch(f"/v1/credentials/{cred_id}", {"recipient": {"name": "Ada King"}})
    assert r.status_code == 200, r.text
    org.move_clock("2026-03-01T09:30:00Z")
    r = org.patch(f"/v1/credentials/{cred_id}", {"expires_on": "2029-01-31"})
    assert r.status_code == 200, r.text
    page = owner.get(f"/app/credentials/{cred_id}").text
    rows = re.findall(
        r"<tr[^>]*>(.*?)</tr>", page.split('id="versions"')[1].split("</table>")[0], re.S
    )
    lines = [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]
    assert len(lines) == 4, lines  # the heading, the current version and the two before it
    assert "Ada King <ada@example.org>" in lines[1] and "31 January 2029" in lines[1]
    assert "the current version" in lines[1]
    assert "Ada King" in lines[2] and "31 January 2028" in lines[2]
    assert "replaced on 1 March 2026 09:30 UTC" in lines[2]
    assert "Ada Lovelace <ada@example.org>" in lines[3] and "when first published" in lines[3]
    assert "replaced on 15 January 2026 00:00 UTC" in lines[3]  # the sandbox clock
    assert "Earlier versions are listed by what they said" in text(page)
    # Two versions kept: one row a change, none for the first publish.
    with credo.engine.connect() as conn:
        kept = conn.scalar(
            select(func.count())
            .select_from(t.credential_versions)
            .where(t.credential_versions.c.credential_id == cred_id)
        )
    assert kept == 2


def test_a_draft_has_no_version_mail_or_credit(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id, Role.OWNER)
    _, cred_id = issue_ada(org, publish=False)
    page = owner.get(f"/app/credentials/{cred_id}").text
    assert of(page, "state") == "draft"
    assert "A draft is not signed yet" in text(page)
    assert "No e-mail has been sent for it: a draft is not sent." in text(page)
    assert "It has taken no credit" in text(page)
    assert 'href="/c/' not in page
    revoke = confirm(owner, cred_id, "revoke")
    assert "a draft: publish or delete it instead" in of(revoke, "why-not")
    assert 'type="submit" class="button danger"' not in revoke  # nothing to confirm


def test_renewing_in_a_later_year_shows_the_credit_then_takes_it(credo: App, org: Org) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    _, cred_id = issue_ada(org)
    # In its own billing year a renewal needs no seat.
    shown = confirm(issuer, cred_id, "renew")
    assert of(shown, "cost-text") == (
        f"This costs no credit: the credential already counts in the billing year {YEAR_0}."
    )
    org.move_clock("2027-02-01T12:00:00Z")
    shown = confirm(issuer, cred_id, "renew")
    assert of(shown, "cost-text") == (
        f"This costs 1 credit: Ada Lovelace is not yet a recipient in the billing year {YEAR_1}."
    )
    assert of(shown, "credits-required") == "1"
    assert of(shown, "new-issued-on") == "1 February 2027"
    assert org.used() == 0  # showing it took nothing
    r = do(issuer, cred_id, "renew", shown)
    assert r.status_code == 303, r.text[:500]
    assert r.headers["location"] == f"/app/credentials/{cred_id}?done=renew&charged=1"
    assert org.used() == 1
    assert charges(credo, org.id) == [(0, "publish", cred_id), (1, "renewal", cred_id)]
    page = issuer.get(r.headers["location"]).text
    assert "Credential renewed; 1 credit used." in text(page)
    assert of(page, "issued-on") == "1 February 2027"
    assert (
        "Renewing it, a credential of an earlier billing year, made Ada Lovelace a recipient "
        f"in the billing year {YEAR_1}: 1 credit."
    ) in text(page)
    assert "Credential renewed" in text(page)  # the renewal e-mail, queued with it


def test_a_renewal_short_of_credits_is_refused_in_words(credo: App, client: Any) -> None:
    small = create_org(client, plan="connect", credits=1, sandbox=True, anchor="2026-01-15")
    owner = sign_in(credo, email("owner"), small.id)
    gid, cred_id = issue_ada(small)
    small.move_clock("2027-02-01T12:00:00Z")
    assert small.issue(gid, "babbage@example.org").status_code == 201  # the year's one credit
    shown = confirm(owner, cred_id, "renew")
    assert "This would be refused: It needs 1 credit and none remain" in text(shown)
    assert "Renew for 1 credit" not in shown  # no button to press
    r = do(owner, cred_id, "renew", shown)
    assert r.status_code == 402
    assert "1 is missing" in text(r.text) and "Nothing was done." in text(r.text)
    assert not RULE.search(r.text)
    assert small.used() == 1
    assert small.get(f"/v1/credentials/{cred_id}").json()["credential"]["issued_on"] == (
        "2026-01-15"
    )


def test_a_cost_that_changed_since_it_was_shown_is_not_charged(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    _, cred_id = issue_ada(org)
    shown = confirm(owner, cred_id, "renew")  # free, in its own year
    org.move_clock("2027-02-01T12:00:00Z")
    r = do(owner, cred_id, "renew", shown)  # now it would cost 1
    assert r.status_code == 409 and "the cost changed from 0 to 1" in r.text
    assert org.used() == 0 and len(charges(credo, org.id)) == 1


def test_revoking_with_a_reason_costs_nothing(credo: App, org: Org) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    _, cred_id = issue_ada(org)
    shown = confirm(issuer, cred_id, "revoke")
    assert of(shown, "cost-text").startswith("This costs no credit, and gives none back.")
    r = do(issuer, cred_id, "revoke", shown, reason="Issued by mistake")
    assert r.status_code == 303, r.text[:500]
    api = org.get(f"/v1/credentials/{cred_id}").json()["credential"]
    assert api["revoked_at"] is not None and api["revocation_reason"] == "Issued by mistake"
    page = issuer.get(r.headers["location"]).text
    assert of(page, "state") == "revoked"
    assert of(page, "revocation-reason") == "Issued by mistake"
    assert "Credential revoked." in text(page)
    assert org.used() == 1
    again = confirm(issuer, cred_id, "revoke")
    assert "already revoked" in of(again, "why-not")
    late = do(issuer, cred_id, "revoke", again)
    assert late.status_code == 409 and "Nothing was done: already revoked." in text(late.text)
    long = issuer.post(f"/app/credentials/{cred_id}/revoke", {"reason": "x" * 501})
    assert long.status_code == 422


def test_resending_queues_the_email_again(credo: App, org: Org) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    _, cred_id = issue_ada(org)
    shown = confirm(issuer, cred_id, "resend")
    assert "an e-mail for it is still waiting to be sent" in of(shown, "why-not")
    mark_mails(credo, cred_id, sent_at=credo.clock.now())
    shown = confirm(issuer, cred_id, "resend")
    assert of(shown, "cost-text") == "This costs no credit."
    r = do(issuer, cred_id, "resend", shown)
    assert r.status_code == 303, r.text[:500]
    rows = mails(credo, cred_id)
    assert len(rows) == 2
    [new] = [m for m in rows if m.sent_at is None]
    assert new.kind == "credential.published" and new.to_address == "ada@example.org"
    assert new.organization_id == org.id and new.failed_at is None
    assert "The e-mail is queued again" in text(issuer.get(r.headers["location"]).text)
    twice = do(issuer, cred_id, "resend", shown)  # the first is still waiting
    assert twice.status_code == 409 and len(mails(credo, cred_id)) == 2
    assert org.used() == 1


def test_deleting_costs_nothing_returns_nothing_and_the_page_is_gone(credo: App, org: Org) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    _, cred_id = issue_ada(org)
    shown = confirm(issuer, cred_id, "delete")
    assert of(shown, "cost-text") == (
        "This costs no credit, and gives none back. If it is Ada Lovelace's last credential "
        f"of the billing year {YEAR_0}, issuing to them again this year costs another credit."
    )
    r = do(issuer, cred_id, "delete", shown)
    assert r.status_code == 303
    assert r.headers["location"] == "/app/credentials?done=delete&n=1&charged=0"
    assert "1 credential deleted; 0 credits used." in text(issuer.get(r.headers["location"]).text)
    assert org.used() == 1  # no refund
    gone = issuer.get(f"/app/credentials/{cred_id}")
    assert gone.status_code == 404 and gone.headers["content-type"].startswith("text/html")
    assert "Ada Lovelace" not in gone.text
    assert issuer.get(f"/app/credentials/{cred_id}/renew").status_code == 404
    assert org.get(f"/v1/credentials/{cred_id}").status_code == 404


def test_viewers_see_the_page_without_actions(credo: App, org: Org) -> None:
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    _, cred_id = issue_ada(org)
    page = viewer.get(f"/app/credentials/{cred_id}")
    assert page.status_code == 200 and "Ada Lovelace" in page.text
    for action in ("renew", "revoke", "resend", "delete"):
        assert f"/app/credentials/{cred_id}/{action}" not in page.text
        assert viewer.get(f"/app/credentials/{cred_id}/{action}").status_code == 403
        assert viewer.post(f"/app/credentials/{cred_id}/{action}").status_code == 403
    assert 'id="actions"' not in page.text
    assert org.get(f"/v1/credentials/{cred_id}").json()["credential"]["revoked_at"] is None


def test_another_organization_gets_not_found(credo: App, org: Org, client: Any) -> None:
    other = create_org(client, name="Elsewhere", sandbox=True)
    stranger = sign_in(credo, email("stranger"), other.id, Role.OWNER)
    _, cred_id = issue_ada(org)
    for path in ("", "/renew", "/revoke", "/resend", "/delete"):
        r = stranger.get(f"/app/credentials/{cred_id}{path}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "Ada Lovelace" not in r.text and "ada@example.org" not in r.text
    r = stranger.post(f"/app/credentials/{cred_id}/delete", {"expected_credits": "0"})
    assert r.status_code == 404
    assert org.get(f"/v1/credentials/{cred_id}").status_code == 200
    for odd in ("cred_" + "0" * 32, "not-an-id", "x" * 300):
        assert stranger.get(f"/app/credentials/{odd}").status_code == 404
    with credo.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(t.outbox).where(
            _o.credential_id == cred_id)) == 1  # fmt: skip
