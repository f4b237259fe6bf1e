"""The request sequences of the integrations that matter most, replayed against the
compatible API exactly as shared/reference/accredible documents them (paths, headers,
bodies, the fields each reads back). Each runs on Credo's rules: the credits used are
Credo's own."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Org

# What each integration takes as its base URL, with Credo at <server>.
MOODLE = "/compat/accredible/v1/"  # ACCREDIBLE_DEV_API_ENDPOINT, ending in /v1/
LEARNDASH = "/compat/accredible"  # ACCREDIBLE_LEARNDASH_API_ENDPOINT, no trailing slash
OPEN_EDX = "/compat/accredible"  # ACCREDIBLE_API_BASE_URL
PIPEDREAM = "/compat/accredible"  # hard-coded https://api.accredible.com upstream


def call(
    client: TestClient, method: str, url: str, headers: dict[str, str], body: Any = None
) -> Any:
    r = client.request(method, url, json=body, headers=headers)
    assert r.status_code < 400, (method, url, r.status_code, r.text)
    return r.json()


def make_group(client: TestClient, base: str, headers: dict[str, str], name: str) -> int:
    body = {"group": {"name": name, "course_name": name, "course_description": "A course"}}
    gid: int = call(client, "POST", f"{base}/v1/issuer/groups", headers, body)["group"]["id"]
    return gid


def test_moodle_plugin(org: Org) -> None:
    """classes/client/client.php: `Token KEY`, `Accredible-Integration: Moodle`, paths
    appended to the base ending in /v1/; apirest.php's calls in the order a course uses
    them."""
    c = org.client
    h = {"Authorization": f"Token {org.key}", "Accredible-Integration": "Moodle",
         "Content-Type": "application/json"}  # fmt: skip
    gid = make_group(c, MOODLE.removesuffix("/v1/"), h, "Moodle 101")
    # get_groups: all_groups, page by page until next_page is null.
    groups, page = [], 1
    while True:
        answer = call(c, "GET", f"{MOODLE}issuer/all_groups?page_size=50&page={page}", h)
        groups += answer["groups"]
        if answer["meta"]["next_page"] is None:
            break
        page = answer["meta"]["next_page"]
    assert [(g["id"], g["name"]) for g in groups] == [(gid, "Moodle 101")]
    assert (
        call(c, "POST", f"{MOODLE}issuer/groups/search", h, {"page": 1, "page_size": 50})["groups"][
            0
        ]["id"]
        == gid
    )
    # create_credential, with the nulls Moodle sends.
    made = call(c, "POST", f"{MOODLE}credentials", h, {"credential": {
        "group_id": gid, "recipient": {"name": "Jo Bloggs", "email": "jo@example.org"},
        "issued_on": "2026-02-01", "expired_on": None, "custom_attributes": None}})["credential"]  # fmt: skip
    assert isinstance(made["id"], int) and made["url"].startswith("http")
    # get_credentials: by group and the lower-cased e-mail.
    found = call(
        c,
        "GET",
        f"{MOODLE}all_credentials?group_id={gid}&email=jo@example.org&page_size=50&page=1",
        h,
    )
    assert [x["id"] for x in found["credentials"]] == [made["id"]]
    assert found["meta"]["next_page"] is None
    assert found["credentials"][0]["recipient"]["email"] == "jo@example.org"
    # create_evidence_item_grade and create_evidence_item_duration.
    path = f"{MOODLE}credentials/{made['id']}/evidence_items"
    call(c, "POST", path, h, {"evidence_item": {"string_object": "85", "description": "Overall Grade",
                                                "category": "grade", "hidden": True}})  # fmt: skip
    call(c, "POST", path, h, {"evidence_item": {
        "string_object": '{"start_date":"2026-01-05","end_date":"2026-02-01","duration_in_days":27}',
        "description": "Completed in 27 days", "category": "course_duration", "hidden": True}})  # fmt: skip
    # get_credential: reads evidence_items[].{type, id, string_object.grade}.
    shown = call(c, "GET", f"{MOODLE}credentials/{made['id']}", h)["credential"]
    grade = next(e for e in shown["evidence_items"] if e["type"] == "grade")
    assert grade["string_object"]["grade"] == 85
    # update_evidence_item_grade: string_object as a number.
    call(c, "PUT", f"{path}/{grade['id']}", h, {"evidence_item": {"string_object": 92}})
    again = call(c, "GET", f"{MOODLE}credentials/{made['id']}", h)["credential"]
    assert next(e for e in again["evidence_items"] if e["type"] == "grade")["string_object"] == {
        "grade": 92
    }
    # attribute_keys search and the recipient's SSO link.
    keys = call(c, "POST", f"{MOODLE}attribute_keys/search", h,
                {"page": 1, "page_size": 50, "kind": "text"})  # fmt: skip
    assert keys["meta"]["next_page"] is None
    link = call(c, "POST", f"{MOODLE}sso/generate_link", h,
                {"recipient_email": "jo@example.org", "group_id": gid})["link"]  # fmt: skip
    assert f"/c/{made['encoded_id']}/manage?token=" in link
    # create_credential_legacy: by group name, which makes the group on first use.
    legacy = call(c, "POST", f"{MOODLE}credentials", h, {"credential": {
        "group_name": "moodle-legacy-7", "name": "Legacy Course", "description": "Old style",
        "course_link": "https://moodle.example/course/7",
        "recipient": {"name": "Jo Bloggs", "email": "jo@example.org"}}})["credential"]  # fmt: skip
    assert legacy["group_name"] == "moodle-legacy-7" and legacy["name"] == "Legacy Course"
    second = call(c, "POST", f"{MOODLE}credentials", h, {"credential": {
        "group_name": "moodle-legacy-7", "name": "Legacy Course",
        "recipient": {"name": "Sam", "email": "sam@example.org"}}})["credential"]  # fmt: skip
    assert second["group_id"] == legacy["group_id"]
    # Credo's rules held: two recipients, two credits.
    assert org.used() == 2


def test_learndash_add_on(org: Org) -> None:
    """class-accredible-learndash-api-v1-request.php: `Token KEY`, `Accredible-Integration:
    Learndash`; the settings page checks the key, then a course's credential is issued."""
    c = org.client
    h = {"Authorization": f"Token {org.key}", "Accredible-Integration": "Learndash"}
    issuer = call(c, "GET", f"{LEARNDASH}/v1/issuer/details", h)["issuer"]
    assert issuer["name"] == "Test Org" and issuer["certificate_left"] == 250
    assert {"email", "url"} <= issuer.keys()
    gid = make_group(c, LEARNDASH, h, "LearnDash Course")
    found = call(c, "POST", f"{LEARNDASH}/v1/issuer/groups/search", h,
                 {"page": 1, "page_size": 50, "name": "learndash"})  # fmt: skip
    assert [g["id"] for g in found["groups"]] == [gid]
    assert call(c, "GET", f"{LEARNDASH}/v1/issuer/groups/{gid}", h)["group"]["name"] == (
        "LearnDash Course"
    )
    made = call(c, "POST", f"{LEARNDASH}/v1/credentials", h, {"credential": {
        "group_id": gid, "recipient": {"name": "Lee", "email": "lee@example.org"},
        "issued_on": "2026-02-01", "meta_data": {"learndash_post_id": 12}}})["credential"]  # fmt: skip
    assert made["group_name"] == "LearnDash Course" and made["url"]
    assert made["meta_data"] == {"learndash_post_id": 12}
    # The event handler reads `errors` as a string or {"credential": [message]}.
    bad = c.post(f"{LEARNDASH}/v1/credentials", headers=h, json={"credential": {
        "group_id": 999999, "recipient": {"name": "Lee", "email": "lee@example.org"}}})  # fmt: skip
    assert bad.status_code == 422 and isinstance(bad.json()["errors"], str)
    assert call(c, "GET", f"{LEARNDASH}/v1/issuer/details", h)["issuer"]["certificate_left"] == 249


def test_open_edx_badges_service(org: Org) -> None:
    """credentials/apps/badges/accredible/api_client.py: `Bearer KEY`; fetch_all_groups
    reads the first page, issue_badge posts, revoke_badge PATCHes a past expiry."""
    c = org.client
    h = {"Authorization": f"Bearer {org.key}"}
    gid = make_group(c, OPEN_EDX, h, "edX Badge")
    groups = call(c, "GET", f"{OPEN_EDX}/v1/issuer/all_groups", h)["groups"]
    g = next(x for x in groups if x["id"] == gid)
    assert {"id", "name", "course_name", "course_description", "primary_design_id",
            "created_at"} <= g.keys()  # fmt: skip
    made = call(c, "POST", f"{OPEN_EDX}/v1/credentials", h, {"credential": {
        "group_id": gid, "recipient": {"name": "Edx Learner", "email": "edx@example.org"},
        "issued_on": "2026-02-01 00:00:00 +0000", "complete": True}})["credential"]  # fmt: skip
    assert made["approve"] is True and made["complete"] is True
    revoked = call(c, "PATCH", f"{OPEN_EDX}/v1/credentials/{made['id']}", h,
                   {"credential": {"expired_on": "2021-01-01 00:00:00 +0000"}})  # fmt: skip
    assert revoked["credential"]["expired_on"] == "2026-02-01"


def test_pipedream_actions_and_polling_sources(org: Org) -> None:
    """components/accredible: `Token token=KEY`; create, update and delete actions; the
    "Issued Credential" source polls v2 search with non-padded dates, the "Updated
    Credential" source re-reads one credential; groups/search pages in the query string."""
    c = org.client
    h = {"Authorization": f"Token token={org.key}", "Content-Type": "application/json"}
    gid = make_group(c, PIPEDREAM, h, "Pipedream Course")
    paged = c.post(f"{PIPEDREAM}/v1/issuer/groups/search?page=1", headers=h)
    assert paged.status_code == 200 and paged.json()["groups"][0]["id"] == gid
    made = call(c, "POST", f"{PIPEDREAM}/v1/credentials", h, {"credential": {
        "group_id": gid, "recipient": {"name": "Pat", "email": "pat@example.org"},
        "issued_on": "2026-2-1"}})["credential"]  # fmt: skip
    polled = call(c, "POST", f"{PIPEDREAM}/v2/credentials/search", h,
                  {"query": {"issued_on[gte]": "2026-2-1"}, "page": {"from": 0, "size": 50}})  # fmt: skip
    assert [x["id"] for x in polled["credentials"]] == [made["id"]]
    assert {"recipient_name", "recipient_email", "issued_on", "updated_at",
            "custom_attributes"} <= polled["credentials"][0].keys()  # fmt: skip
    before = call(c, "GET", f"{PIPEDREAM}/v1/credentials/{made['id']}", h)["credential"]
    updated = call(c, "PUT", f"{PIPEDREAM}/v1/credentials/{made['id']}", h,
                   {"credential": {"recipient": {"name": "Pat Smith"}}})["credential"]  # fmt: skip
    assert updated["id"] == made["id"]
    after = call(c, "GET", f"{PIPEDREAM}/v1/credentials/{made['id']}", h)["credential"]
    assert after != before and after["recipient"]["name"] == "Pat Smith"
    call(c, "DELETE", f"{PIPEDREAM}/v1/credentials/{made['id']}", h)
    assert c.get(f"{PIPEDREAM}/v1/credentials/{made['id']}", headers=h).status_code == 404
    assert org.used() == 1  # deletion never refunds


def test_a_trailing_slash_and_a_body_on_a_get_are_tolerated(org: Org) -> None:
    """pantheonsteve's Drupal module posts to /v1/credentials/ and sends `[]` on GETs."""
    c = org.client
    h = {"Authorization": f'Token token="{org.key}"', "Content-Type": "application/json"}
    gid = make_group(c, PIPEDREAM, h, "Drupal Course")
    r = c.post(f"{PIPEDREAM}/v1/credentials/", headers=h, json={"credential": {
        "group_id": gid, "recipient": {"name": "Dru", "email": "dru@example.org"}}})  # fmt: skip
    assert r.status_code == 200, r.text
    got = c.request("GET", f"{PIPEDREAM}/v1/credentials/{r.json()['credential']['id']}",
                    headers=h, content=b"[]")  # fmt: skip
    assert got.status_code == 200
