"""Dashboard test helpers: people with roles in organizations, signed in through /login."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.domain.accounts import Role
from credo.services.people import accounts

PASSWORD = "correct horse battery staple"


@dataclass
class Person:
    email: str
    user_id: str
    client: TestClient
    session_csrf: str = ""  # filled by tests that post many forms with one token

    def csrf(self, path: str = "/app") -> str:
        """The CSRF token as the dashboard's pages carry it."""
        html = self.client.get(path, headers={"Accept": "text/html"}).text
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found, f"no CSRF field on {path}"
        return found.group(1)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers={"Accept": "text/html"}, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        form = {"csrf": self.csrf(), **(data or {})}
        return self.client.post(
            path, data=form, headers={"Accept": "text/html"}, follow_redirects=False, **kw
        )


def make_person(credo: App, email: str, org_id: str | None, role: Role = Role.OWNER) -> str:
    def action(uow: Any) -> str:
        user = accounts.create_user(
            uow,
            credo.passwords,
            credo.clock,
            email=email,
            name=email.split("@")[0],
            password=PASSWORD,
        )
        if org_id:
            accounts.add_member(uow, credo.clock, org_id, user.id, role)
        return user.id

    return credo.runner.write(action)


def sign_in(credo: App, email: str, org_id: str | None, role: Role = Role.OWNER) -> Person:
    """A new person (a new TestClient, so cookies are theirs alone), signed in."""
    from tests.conftest import app_for

    user_id = make_person(credo, email, org_id, role)
    client = TestClient(app_for(credo), raise_server_exceptions=False)
    r = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "next": "/app"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return Person(email, user_id, client)
