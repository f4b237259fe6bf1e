"""Groups in the dashboard: create, edit, archive; designs with live previews; roles."""

from __future__ import annotations

import base64
import re
import uuid

import pytest

from credo.adapters.pdf import thumbnails
from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import Org, create_org
from tests.dashboard.helpers import Person, sign_in


def email(who: str) -> str:
    """People are global (not per organization): each test makes its own."""
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
FORM = {
    "name": "Data Literacy",
    "description": "Reads charts",
    "criteria": "Passed the exam",
    "expires_after_months": "24",
    "duplicate_policy": "warn",
    "certificate": "modern",
    "badge": "shield",
    "primary_color": "#112233",
    "accent_color": "#445566",
    "paper": "a4",
    "orientation": "landscape",
    "signatory_name": "Dana Dean",
    "signatory_title": "",
    "action": "save",
}


def create(person: Person, **changes: str) -> str:
    r = person.post("/app/groups/new", {**FORM, **changes})
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/app/groups/(grp_\w+)\?saved=1", r.headers["location"])
    assert found
    return found.group(1)


def test_create_edit_and_read_back_through_the_api(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    assert owner.get("/app/groups/new").status_code == 200
    gid = create(owner)
    api = org.get(f"/v1/groups/{gid}").json()["group"]
    assert api["name"] == "Data Literacy" and api["expires_after_months"] == 24
    assert api["criteria"] == "Passed the exam"
    assert api["design"]["certificate"] == "modern" and api["design"]["badge"] == "shield"
    assert api["design"]["primary_color"] == "#112233"
    assert api["design"]["signatory_name"] == "Dana Dean"
    page = owner.get(f"/app/groups/{gid}?saved=1")
    assert page.status_code == 200 and "Saved." in page.text
    assert 'value="warn" checked' in page.text

    r = owner.post(
        f"/app/groups/{gid}",
        {**FORM, "name": "Data Literacy II", "expires_after_months": "", "certificate": "minimal"},
    )
    assert r.status_code == 303
    api = org.get(f"/v1/groups/{gid}").json()["group"]
    assert api["name"] == "Data Literacy II" and api["expires_after_months"] is None
    assert api["design"]["certificate"] == "minimal"
    listing = owner.get("/app/groups")
    assert listing.status_code == 200 and "Data Literacy II" in listing.text


def test_bad_design_fields_come_back_inline_never_500(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    for changes, field in [
        ({"primary_color": "red"}, "primary_color"),
        ({"certificate": "baroque"}, "certificate"),
        ({"name": ""}, "name"),
        ({"expires_after_months": "-3"}, "expires_after_months"),
        ({"expires_after_months": "99999999999999999999"}, "expires_after_months"),
        ({"duplicate_policy": "sometimes"}, "duplicate_policy"),
        ({"signatory_name": "x" * 300}, "signatory_name"),
        ({"name": "a\x00b"}, "name"),
    ]:
        r = owner.post("/app/groups/new", {**FORM, **changes})
        assert r.status_code == 422, (changes, r.status_code)
        assert f'id="{field}-error"' in r.text, changes
        assert "Nothing was saved" in r.text
    assert org.get("/v1/groups").json()["groups"] == []


def test_uploads_become_data_uris_and_are_checked(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    csrf = owner.csrf()
    files = {"logo": ("logo.png", PNG_1PX, "image/png")}
    r = owner.client.post(
        "/app/groups/new",
        data={**FORM, "csrf": csrf},
        files=files,
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    gid = r.headers["location"].split("/")[3].split("?")[0]
    design = org.get(f"/v1/groups/{gid}").json()["group"]["design"]
    assert design["logo"].startswith("data:image/png;base64,")
    # Not an image, and too big: inline errors, nothing stored.
    for name, content in [
        ("logo", b"GIF89a..."),
        ("signature_image", b"\x89PNG\r\n\x1a\n" + b"0" * 600_000),
    ]:
        bad = owner.client.post(
            f"/app/groups/{gid}",
            data={**FORM, "csrf": csrf},
            files={name: ("x.bin", content, "application/octet-stream")},
            headers={"Accept": "text/html"},
            follow_redirects=False,
        )
        assert bad.status_code == 422 and f'id="{name}-error"' in bad.text
    # A preview with an upload shows it inline and carries it to the save.
    preview = owner.client.post(
        f"/app/groups/{gid}",
        data={**FORM, "csrf": csrf, "action": "preview", "remove_logo": "1"},
        files={"signature_image": ("s.png", PNG_1PX, "image/png")},
        headers={"Accept": "text/html"},
    )
    assert preview.status_code == 200
    assert 'name="pending_signature_image"' in preview.text
    assert 'src="data:image/svg+xml;base64,' in preview.text
    saved = owner.post(
        f"/app/groups/{gid}",
        {**FORM, "remove_logo": "1", "pending_signature_image": design["logo"]},
    )
    assert saved.status_code == 303
    design = org.get(f"/v1/groups/{gid}").json()["group"]["design"]
    assert design["logo"] is None and design["signature_image"].startswith("data:image/png")


def test_previews_answer_images_to_members_only(credo: App, org: Org) -> None:
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    gid = org.group("Preview me")
    r = viewer.client.get(
        f"/app/groups/{gid}/preview/badge.svg?primary_color=%23aa0000&badge=ribbon"
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in r.content and b"#aa0000" in r.content.lower()
    new = viewer.client.get("/app/groups/preview/badge.svg?name=Brand+new")
    assert new.status_code == 200 and b"Brand new" in new.content
    pdf = viewer.client.get(f"/app/groups/{gid}/preview/certificate.pdf?certificate=modern")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    if thumbnails.available():
        png = viewer.client.get(f"/app/groups/{gid}/preview/certificate.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    bad = viewer.client.get(f"/app/groups/{gid}/preview/badge.svg?primary_color=red")
    assert bad.status_code == 422
    # Strangers: a browser is sent to sign in, anything else gets 401.
    stranger = org.client
    stranger.cookies.clear()
    page = stranger.get(
        f"/app/groups/{gid}/preview/badge.svg",
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    img = stranger.get(f"/app/groups/{gid}/preview/certificate.pdf", follow_redirects=False)
    assert img.status_code == 401


def test_archived_groups_are_hidden_and_cannot_issue(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    gid = create(owner, name="Old course")
    assert org.issue(gid, "ann@x.org").status_code == 201
    assert owner.post(f"/app/groups/{gid}/archive").status_code == 303
    assert "Old course" not in owner.get("/app/groups").text
    assert "Old course" in owner.get("/app/groups?archived=1").text
    refused = org.issue(gid, "bob@x.org")
    assert refused.status_code == 409 and refused.json()["code"] == "group_archived"
    draft = org.issue(gid, "bob@x.org", publish=False)
    assert draft.status_code == 409
    # Its credentials stay.
    assert len(org.get(f"/v1/credentials?group_id={gid}").json()["credentials"]) == 1
    assert org.get(f"/v1/groups/{gid}").json()["group"]["archived_at"] is not None
    assert owner.post(f"/app/groups/{gid}/unarchive").status_code == 303
    assert org.get(f"/v1/groups/{gid}").json()["group"]["archived_at"] is None
    assert org.issue(gid, "bob@x.org").status_code == 201


def test_duplicate_policy_refuse_stops_a_second_live_credential(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    gid = create(owner, duplicate_policy="refuse")
    assert org.issue(gid, "ann@x.org").status_code == 201
    again = org.issue(gid, "ANN@x.org")
    assert again.status_code == 409 and again.json()["code"] == "duplicate_credential"
    assert org.issue(gid, "ann@x.org", publish=False).status_code == 201  # drafts are not live
    twice = org.post(
        "/v1/credentials/bulk",
        {
            "group_id": gid,
            "credentials": [
                {"recipient": {"name": "C", "email": "cy@x.org"}},
                {"recipient": {"name": "C", "email": "cy@x.org"}},
            ],
        },
    )
    assert twice.status_code == 409
    other = create(owner, duplicate_policy="allow")
    assert org.issue(other, "ann@x.org").status_code == 201
    assert org.issue(other, "ann@x.org").status_code == 201


@pytest.mark.parametrize(
    "path",
    [
        "/app/groups/new",
        "/app/groups/{gid}",
        "/app/groups/{gid}/archive",
        "/app/groups/{gid}/unarchive",
    ],
)
def test_viewers_cannot_change_groups(credo: App, org: Org, path: str) -> None:
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    gid = org.group("Read only")
    page = viewer.get(f"/app/groups/{gid}")
    assert (
        page.status_code == 200 and "disabled" in page.text and "Archive the group" not in page.text
    )
    assert viewer.post(path.format(gid=gid), FORM).status_code == 403
    assert org.get(f"/v1/groups/{gid}").json()["group"]["name"] == "Read only"


def test_another_organizations_group_is_not_found(credo: App, org: Org) -> None:
    other = create_org(org.client, name="Other Org", sandbox=True, anchor="2026-01-15")
    theirs = other.group("Theirs")
    owner = sign_in(credo, email("owner"), org.id)
    assert owner.get(f"/app/groups/{theirs}").status_code == 404
    assert owner.post(f"/app/groups/{theirs}", FORM).status_code == 404
    assert owner.post(f"/app/groups/{theirs}/archive").status_code == 404
    assert owner.client.get(f"/app/groups/{theirs}/preview/badge.svg").status_code == 404
    assert owner.get("/app/groups/not-an-id").status_code == 404
    assert other.get(f"/v1/groups/{theirs}").json()["group"]["name"] == "Theirs"


def test_colour_fields_show_their_colour_beside_the_code(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    gid = create(owner, primary_color="#A1B2C3", accent_color="#445566")
    r = owner.get(f"/app/groups/{gid}")
    nonce = re.search(r"style-src 'self' 'nonce-([^']+)'", r.headers["content-security-policy"])
    assert nonce and "unsafe-inline" not in r.headers["content-security-policy"]
    # The swatches are coloured by a <style> block carrying the page's nonce, never by
    # style attributes (which the policy refuses).
    style = re.search(rf'<style nonce="{re.escape(nonce.group(1))}">(.*?)</style>', r.text, re.S)
    assert style, r.text[:1500]
    assert "#primary_color-swatch { background: #a1b2c3; }" in style.group(1)
    assert "#accent_color-swatch { background: #445566; }" in style.group(1)
    assert " style=" not in r.text.split("<body>", 1)[1]
    for name, code in (("primary_color", "#A1B2C3"), ("accent_color", "#445566")):
        # The code is the field posted (so no JavaScript is needed), with its label.
        field = re.search(rf'<input id="{name}" name="{name}" value="([^"]*)"', r.text)
        assert field and field.group(1) == code
        assert f'<label for="{name}">' in r.text
        assert f'id="{name}-swatch" aria-hidden="true"' in r.text
        # A palette for browsers with JavaScript, unnamed so that it never posts.
        picker = re.search(rf'<input type="color"[^>]*id="{name}-picker"[^>]*>', r.text)
        assert picker and " name=" not in picker.group(0) and "hidden" in picker.group(0)
        assert f'value="{code.lower()}"' in picker.group(0)
    # A mistyped code comes back as typed, with no swatch pretending it is a colour.
    bad = owner.post(f"/app/groups/{gid}", {**FORM, "primary_color": "blue-ish"})
    assert bad.status_code == 422
    assert '<input id="primary_color" name="primary_color" value="blue-ish"' in bad.text
    assert "#primary_color-swatch {" not in bad.text
    assert 'class="swatch js-hide is-empty" id="primary_color-swatch"' in bad.text
    assert org.get(f"/v1/groups/{gid}").json()["group"]["design"]["primary_color"] == "#A1B2C3"


def test_each_certificate_look_and_orientation_is_told_in_words(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    gid = create(owner, certificate="minimal", orientation="portrait")
    text = owner.get(f"/app/groups/{gid}").text
    preview = text[text.index('id="preview-heading"') :]
    notes = re.search(r'<div class="look-notes" id="look-notes">(.*?)</div>', preview, re.S)
    assert notes, preview[:2000]
    terms = re.findall(r"<dt>(\w+)", notes.group(1))
    assert terms == ["Classic", "Modern", "Minimal", "Landscape", "Portrait"]
    said = re.findall(r"<dd>([^<]+)</dd>", notes.group(1))
    assert len(said) == 5 and all(len(s.split()) >= 8 for s in said)
    assert len(set(said)) == 5
    chosen = re.findall(r"<dt>(\w+) <span class=\"badge\">chosen</span>", notes.group(1))
    assert chosen == ["Minimal", "Portrait"]
