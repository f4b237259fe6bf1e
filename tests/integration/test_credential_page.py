"""The recipient's credential page `/c/{id}` and its private management link."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.services.recipients import recipient_links
from tests.conftest import Org

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.label_for: set[str] = set()
        self.h1 = 0
        self.lang: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "label" and "for" in a:
            self.label_for.add(a["for"])

    def meta(self) -> dict[str, str]:
        return {
            a.get("property") or a.get("name", ""): a.get("content", "")
            for t, a in self.tags
            if t == "meta"
        }

    def links(self) -> list[str]:
        return [a["href"] for t, a in self.tags if t == "a" and "href" in a]


def _checks(html: str) -> dict[str, str]:
    """Each check of the verification panel and its outcome, as words on the page."""
    found = re.findall(r'<strong>(\w+)</strong> <span class="check-outcome">([\w ]+)</span>', html)
    return dict(found)


def _published(org: Org, name: str = "Ada Lovelace", **fields: Any) -> dict[str, Any]:
    g = org.group("Certificate in Data Science", description="Twelve weeks of statistics.")
    r = org.issue(g, "ada@example.org", name, **fields)
    assert r.status_code == 201, r.text
    cred: dict[str, Any] = r.json()["credential"]
    return cred


def _manage(credo: App, cred_id: str) -> str:
    return recipient_links.manage_url(credo.ctx, cred_id).removeprefix(credo.ctx.base_url)


def test_the_page_shows_the_credential(org: Org, client: TestClient, credo: App) -> None:
    cred = _published(org, issued_on="2026-01-10", expires_on="2027-11-25")
    r = client.get(f"/c/{cred['id']}", headers=BROWSER)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    for text in ("Ada Lovelace", "Certificate in Data Science", "Test Org", "10 January 2026"):
        assert text in html
    assert "25 November 2027" in html
    assert "Twelve weeks of statistics." in html
    base = f"/c/{cred['id']}"
    # The SVG link says it is a download: the page's own <img> of it is not counted as one.
    files = {f"{base}.pdf", f"{base}.png", f"{base}.svg?download=1", f"{base}.json"}
    assert files <= set(Page(html).links())


def test_a_hostile_name_is_escaped(org: Org, client: TestClient) -> None:
    cred = _published(org, name='<script>alert(1)</script> "Eve" & co')
    html = client.get(f"/c/{cred['id']}").text
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Inside attributes too (the Open Graph title): the quote cannot end the attribute.
    title = Page(html).meta()["og:title"]
    assert title.endswith('<script>alert(1)</script> "Eve" & co')


def test_a_fresh_credential_passes_all_four_checks_as_the_api_does(
    org: Org, client: TestClient
) -> None:
    cred = _published(org)
    html = client.get(f"/c/{cred['id']}").text
    assert _checks(html) == {
        "Signature": "Passed",
        "Issuer": "Passed",
        "Status": "Passed",
        "Validity": "Passed",
    }
    assert "Verified: this credential is genuine and valid." in html
    doc = client.get(f"/c/{cred['id']}.json").json()
    api = client.post("/credentials/verify", json={"verifiableCredential": doc}).json()
    assert {c["check"]: c["ok"] for c in api["checks"]}["signature"] is True


def test_revoked_says_so_plainly(org: Org, client: TestClient) -> None:
    cred = _published(org)
    r = org.post(f"/v1/credentials/{cred['id']}/revoke", {"reason": "Awarded in error"})
    assert r.status_code == 200, r.text
    html = client.get(f"/c/{cred['id']}").text
    assert "This credential has been revoked." in html
    assert "Awarded in error" in html
    assert _checks(html)["Status"] == "Failed"
    assert "Revoked by the issuer." in html
    assert "Verified: this credential" not in html
    # Nobody is invited to add a revoked credential to a profile, nor let through to it.
    assert not any("/share/" in link for link in Page(html).links())
    for target in ("linkedin-profile", "linkedin", "x"):
        gone = client.get(f"/c/{cred['id']}/share/{target}", follow_redirects=False)
        assert (
            gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
        )


def test_suspended_says_so_plainly_until_lifted(org: Org, client: TestClient) -> None:
    cred = _published(org)
    assert org.post(f"/v1/credentials/{cred['id']}/suspend").status_code == 200
    html = client.get(f"/c/{cred['id']}").text
    assert "This credential is suspended." in html
    assert _checks(html)["Status"] == "Failed"
    assert org.post(f"/v1/credentials/{cred['id']}/unsuspend").status_code == 200
    html = client.get(f"/c/{cred['id']}").text
    assert "This credential is suspended." not in html
    assert _checks(html)["Status"] == "Passed"


def test_expired_says_so_on_the_organizations_clock(org: Org, client: TestClient) -> None:
    cred = _published(org, expires_on="2026-03-01")
    assert "This credential has expired." not in client.get(f"/c/{cred['id']}").text
    org.move_clock("2026-04-01T00:00:00Z")
    html = client.get(f"/c/{cred['id']}").text
    assert "This credential has expired." in html
    assert "It was valid until 1 March 2026." in html
    checks = _checks(html)
    assert checks["Validity"] == "Failed"
    assert checks["Signature"] == checks["Issuer"] == checks["Status"] == "Passed"


def test_open_graph_previews_with_the_badge_image(org: Org, client: TestClient, credo: App) -> None:
    cred = _published(org)
    meta = Page(client.get(f"/c/{cred['id']}").text).meta()
    url = f"{credo.ctx.base_url}/c/{cred['id']}"
    assert url.startswith(("http://", "https://"))
    assert meta["og:url"] == url
    assert meta["og:image"] == f"{url}.png"
    assert "Certificate in Data Science" in meta["og:title"]
    assert "Ada Lovelace" in meta["og:description"]
    assert meta["og:image:alt"]


def test_linkedin_link_carries_the_certification(org: Org, client: TestClient, credo: App) -> None:
    cred = _published(org, issued_on="2026-01-10", expires_on="2028-06-30")
    links = Page(client.get(f"/c/{cred['id']}").text).links()
    # The button goes through Credo, which counts the click, then on to LinkedIn.
    assert f"/c/{cred['id']}/share/linkedin-profile" in links
    r = client.get(f"/c/{cred['id']}/share/linkedin-profile", follow_redirects=False)
    assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
    link = r.headers["location"]
    assert link.startswith("https://www.linkedin.com/profile/add?")
    assert dict(parse_qsl(urlsplit(link).query)) == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Certificate in Data Science",
        "organizationName": "Test Org",
        "issueYear": "2026",
        "issueMonth": "1",
        "expirationYear": "2028",
        "expirationMonth": "6",
        "certUrl": f"{credo.ctx.base_url}/c/{cred['id']}",
        "certId": cred["id"],
    }


def test_hide_and_show_through_the_private_link(org: Org, client: TestClient, credo: App) -> None:
    cred = _published(org)
    cid = cred["id"]
    document = client.get(f"/c/{cid}.json").json()
    manage = _manage(credo, cid)
    token = dict(parse_qsl(urlsplit(manage).query))["token"]
    page = client.get(manage, headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Hide it from public view" in page.text

    r = client.post(
        f"/c/{cid}/manage", data={"token": token, "hidden": "true"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"] == manage

    shown = client.get(f"/c/{cid}", headers=BROWSER)
    assert shown.status_code == 404
    assert shown.headers["content-type"].startswith("text/html")
    assert client.get(f"/c/{cid}").headers["content-type"] == "application/problem+json"
    # The signed file leaves public view with the page, yet the copy its recipient holds
    # still verifies: status lists and the issuer's DID stay public.
    assert client.get(f"/c/{cid}.json").status_code == 404
    verified = client.post("/credentials/verify", json={"verifiableCredential": document})
    assert verified.status_code == 200 and verified.json()["verified"] is True
    # Its recipient still sees it, and can show it again.
    again = client.get(manage, headers=BROWSER)
    assert again.status_code == 200 and "Show it publicly again" in again.text
    r = client.post(f"/c/{cid}/manage", data={"token": token, "hidden": "false"})
    assert r.status_code == 200  # followed the 303 to the manage page
    assert client.get(f"/c/{cid}").status_code == 200
    assert client.get(f"/c/{cid}.json").status_code == 200


def test_a_wrong_token_changes_nothing(org: Org, client: TestClient, credo: App) -> None:
    cid = _published(org)["id"]
    other = _published(org)["id"]
    others_token = dict(parse_qsl(urlsplit(_manage(credo, other)).query))["token"]
    for token in ("", "nope", others_token, "é" * 10, "x" * 2000):
        got = client.get(f"/c/{cid}/manage", params={"token": token}, headers=BROWSER)
        assert got.status_code == 404, token
        posted = client.post(f"/c/{cid}/manage", data={"token": token, "hidden": "true"})
        assert posted.status_code == 404, token
        assert posted.headers["content-type"] == "application/problem+json"
    assert client.get(f"/c/{cid}/manage").status_code == 404
    # The token in the query alone does not do: a cross-site form cannot know it.
    good = _manage(credo, cid)
    assert client.post(good, data={"hidden": "true"}).status_code == 404
    assert client.get(f"/c/{cid}").status_code == 200


def test_bad_form_values_are_refused_without_a_500(
    org: Org, client: TestClient, credo: App
) -> None:
    cid = _published(org)["id"]
    token = dict(parse_qsl(urlsplit(_manage(credo, cid)).query))["token"]
    for hidden in ("yes", "", "TRUE"):
        r = client.post(f"/c/{cid}/manage", data={"token": token, "hidden": hidden})
        assert r.status_code == 422, hidden
        assert r.headers["content-type"] == "application/problem+json"
    r = client.post(f"/c/{cid}/manage", content=b"\xff\x00", headers={"Content-Type": "x/y"})
    assert r.status_code == 415
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for junk in (b"\xff\x00=\xfe&&=", b"token=%ZZ&hidden=%E9", b"hidden=true&hidden=false"):
        r = client.post(f"/c/{cid}/manage", content=junk, headers=form)
        assert r.status_code in (404, 422), junk
    assert client.post(f"/c/{cid}/manage", json={"token": token}).status_code == 422
    r = client.post(f"/c/{cid}/manage", data={"token": "t" * 5000, "hidden": "true"})
    assert r.status_code == 404
    assert client.get(f"/c/{cid}").status_code == 200


def test_deleted_and_unknown_credentials_are_not_found(
    org: Org, client: TestClient, credo: App
) -> None:
    cid = _published(org)["id"]
    manage = _manage(credo, cid)
    assert org.delete(f"/v1/credentials/{cid}").status_code == 204
    for path in (f"/c/{cid}", manage, "/c/cred_00000000000000000000000000000000", "/c/<x>"):
        r = client.get(path, headers=BROWSER)
        assert r.status_code == 404, path
        assert "Credential not found" in r.text
        assert client.get(path).json()["code"] == "not_found"


def test_pages_meet_html_accessibility_basics(org: Org, client: TestClient, credo: App) -> None:
    cid = _published(org)["id"]
    pages = [
        client.get(f"/c/{cid}").text,
        client.get(_manage(credo, cid)).text,
        client.get("/c/cred_00000000000000000000000000000000", headers=BROWSER).text,
    ]
    for html in pages:
        page = Page(html)
        assert page.lang == "en"
        assert page.h1 == 1
        assert "width=device-width, initial-scale=1" in page.meta()["viewport"]
        for tag, a in page.tags:
            if tag == "img":
                assert a.get("alt"), a
            if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
                assert a.get("id") in page.label_for or a.get("aria-label"), a
            if tag == "button":
                assert a.get("type") in ("button", "submit"), a


def test_the_stylesheet_is_served_for_good(client: TestClient) -> None:
    html = client.get("/c/cred_00000000000000000000000000000000", headers=BROWSER).text
    href = next(a["href"] for t, a in Page(html).tags if t == "link" and a["rel"] == "stylesheet")
    r = client.get(href)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert "immutable" in r.headers["cache-control"]
    assert client.get("/static/../pyproject.toml").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404
