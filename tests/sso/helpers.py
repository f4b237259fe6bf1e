"""What the single sign-on tests share: a fake DNS (the one port faked: no DNS runs here),
an organization with a verified domain, and the refusal log records."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import create_org
from tests.dashboard.helpers import Person, sign_in

HTML = {"Accept": "text/html"}


@dataclass
class FakeDns:
    """TXT records by name: what the domain's owner published."""

    records: dict[str, list[str]] = field(default_factory=dict)

    def txt(self, name: str) -> list[str]:
        return list(self.records.get(name, []))


@dataclass
class SsoOrg:
    id: str
    domain: str
    owner: Person
    dns: FakeDns


def sso_org(credo: App, client: TestClient) -> SsoOrg:
    """A new organization whose owner verified a fresh domain through the settings page."""
    tag = uuid.uuid4().hex[:10]
    domain = f"staff-{tag}.example"
    org = create_org(client, name=f"SSO {tag}", sandbox=True)
    owner = sign_in(credo, f"owner@{domain}", org.id, Role.OWNER)
    dns = FakeDns()
    credo.dns = dns
    r = owner.post("/app/settings/sso/domains", {"domain": domain.upper() + "."})
    assert r.status_code == 303, r.text
    page = owner.get("/app/settings/sso").text
    record = re.search(r"<code>(credo-verification=[^<]+)</code>", page)
    assert record, page
    dns.records[domain] = ["v=spf1 -all", record.group(1)]
    r = owner.post("/app/settings/sso/domains/verify", {"domain": domain})
    assert r.status_code == 303 and r.headers["location"].endswith("notice=verified"), r.text
    return SsoOrg(org.id, domain, owner, dns)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The reasons of the refusals logged (credo.sso, WARNING) so far."""
    return [
        getattr(r, "reason", "")
        for r in caplog.records
        if r.name == "credo.sso" and r.levelno == logging.WARNING
    ]


def last_refusal(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    """The last refusal logged (credo.sso, WARNING), its fields: libraries may log after
    it, so it is not always the last record."""
    found = [r for r in caplog.records if r.name == "credo.sso" and r.levelno == logging.WARNING]
    assert found, "no refusal was logged"
    return found[-1].__dict__


def refused_page(r: object) -> None:
    """An HTML refusal page, and no session cookie set."""
    status = getattr(r, "status_code", 0)
    text = getattr(r, "text", "")
    headers = getattr(r, "headers", {})
    assert status == 403, (status, text[:300])
    assert "Single sign-on refused" in text
    assert "credo_session" not in headers.get("set-cookie", "")
