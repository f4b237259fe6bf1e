"""No input makes a dashboard route answer 500: every route of the dashboard, as its owner
(with a valid CSRF token), gets random form fields and query parameters (odd characters,
NUL, long text, numbers where text goes) and must answer below 500."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import create_org
from tests.dashboard.helpers import sign_in
from tests.dashboard.test_authorization import ROUTES, Route
from tests.hypothesis_profiles import examples
from tests.webhook_receiver import settled_webhooks as settled_webhooks_fixture

settled_webhooks = settled_webhooks_fixture


@pytest.fixture(autouse=True)
def _settle(settled_webhooks: None) -> None:
    """This module makes webhook endpoints: they are settled after each test."""


FIELDS = [
    "csrf", "name", "description", "criteria", "expires_after_months", "duplicate_policy",
    "certificate", "badge", "primary_color", "accent_color", "paper", "orientation",
    "signatory_name", "group_id", "recipient_name", "recipient_email", "issued_on",
    "expires_on", "action", "ids", "reason", "email", "role", "organization_id", "mode",
    "dates", "skip_invalid", "year", "recipient", "since", "to", "before", "q", "status",
    "page", "archived", "expiring", "fmt", "cost", "url", "events", "enabled", "cursor",
    "expected_credits", "done", "charged", "cap", "department", "department_id", "actor",
    "target", "from", "issuer", "client_id", "client_secret", "metadata_xml", "domain",
    "default_role", "required", "allow_unsolicited",
]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", "\x00", "-1", "0", "99999999999999999999", "2026-02-30", "%", "../"]),
    st.integers().map(str),
)


def test_no_input_makes_a_dashboard_route_fail(credo: App, client: TestClient) -> None:
    org = create_org(client, name="Fuzzed", sandbox=True)
    gid = org.group("Fuzz course")
    cred = org.issue(gid, "fuzz@example.org").json()["credential"]["id"]
    owner = sign_in(credo, f"fuzz-{uuid.uuid4().hex[:8]}@example.org", org.id, Role.OWNER)
    csrf = owner.csrf()
    hook = org.post(
        "/v1/webhooks", {"url": "https://hooks.example.org/in", "events": ["credential.published"]}
    )
    test = org.post(f"/v1/webhooks/{hook.json()['webhook']['id']}/test").json()["delivery"]
    dept = org.post("/v1/departments", {"name": "Fuzz faculty", "credit_cap": 3}).json()
    ids = {"group_id": gid, "cred_id": cred, "job_id": "imp_" + "0" * 32,
           "user_id": owner.user_id, "key_id": "key_" + "0" * 32,
           "webhook_id": test["webhook_id"], "delivery_id": test["id"],
           "dept_id": dept["department"]["id"]}  # fmt: skip

    @settings(
        max_examples=examples(150),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        route=st.sampled_from(ROUTES),
        form=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6),
    )
    def probe(route: Route, form: dict[str, str]) -> None:
        path = route.path.format(**ids)
        headers = {"Accept": "text/html"}
        if route.method == "GET":
            r = owner.client.get(path, params=form, headers=headers, follow_redirects=False)
        else:
            data = {"csrf": csrf, **form}  # a random csrf, when drawn, must be refused
            r = owner.client.post(path, data=data, headers=headers, follow_redirects=False)
        assert r.status_code < 500, (route, form, r.status_code, r.text[:500])

    probe()
