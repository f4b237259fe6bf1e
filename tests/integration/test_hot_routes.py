"""The single-publish routes served without FastAPI's routing (entrypoints/api/hot.py)
answer exactly as the same routes through FastAPI do: every request of a battery is sent
to both, on the same database, and the answers compared (ids and times aside)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.entrypoints.api.app import create_app
from credo.entrypoints.api.hot import HotRoutes
from credo.services.credentials.group_settings import set_archived
from tests.conftest import ADMIN, create_org

# What differs between two answers to the same request: new ids, times, request ids.
_VOLATILE = re.compile(
    r"(cred|grp|key|seat|org)_[0-9a-f]{32}|\d{4}-\d\d-\d\dT[0-9:.]+Z|"
    r"z[1-9A-HJ-NP-Za-km-z]{40,}|urn:uuid:[0-9a-f-]{36}|\"(statusListIndex|id)\":\"[^\"]*\""
)


@pytest.fixture
def plain(credo: App) -> Iterator[TestClient]:
    """The same app with every request routed by FastAPI."""
    api = create_app(credo)
    api.user_middleware = [m for m in api.user_middleware if cast(object, m.cls) is not HotRoutes]
    with TestClient(api, raise_server_exceptions=False) as c:
        yield c


def vc(email: str, **extra: Any) -> dict[str, Any]:
    return {
        "credential": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"id": f"mailto:{email}", "name": "Ann Lee"},
            **extra,
        }
    }


Case = tuple[str, str, Callable[[str], dict[str, Any]], dict[str, str]]


def cases(group: str, archived: str) -> list[Case]:
    """(name, path, body for a recipient e-mail, headers) of each request of the battery."""

    def publish(**extra: Any) -> Callable[[str], dict[str, Any]]:
        return lambda email: {
            "group_id": group,
            "recipient": {"name": "Ann Lee", "email": email},
            **extra,
        }

    return [
        ("published", "/v1/credentials", publish(), {}),
        ("draft", "/v1/credentials", publish(publish=False), {}),
        ("dry run", "/v1/credentials", publish(dry_run=True), {}),
        ("dates", "/v1/credentials", publish(issued_on="2026-01-20", expires_on=None), {}),
        ("bad dates", "/v1/credentials", publish(issued_on="2026-03-01", expires_on="2026-02-01"), {}),
        ("unknown group", "/v1/credentials", lambda e: {**publish()(e), "group_id": "grp_" + "0" * 32}, {}),
        ("malformed group id", "/v1/credentials", lambda e: {**publish()(e), "group_id": "../x"}, {}),
        ("archived group", "/v1/credentials", lambda e: {**publish()(e), "group_id": archived}, {}),
        ("bad e-mail", "/v1/credentials", lambda e: publish()("not an address"), {}),
        ("unknown field", "/v1/credentials", publish(colour="red"), {}),
        ("long key", "/v1/credentials", publish(), {"Idempotency-Key": "k" * 256}),
        ("no key", "/v1/credentials", publish(), {"Authorization": ""}),
        ("wrong key", "/v1/credentials", publish(), {"Authorization": "Bearer credo_nope"}),
        ("basic auth", "/v1/credentials", publish(), {"Authorization": "Basic eDp5"}),
        ("vc", "/credentials/issue", vc, {}),
        ("vc without status", "/credentials/issue", lambda e: {**vc(e), "options": {"credentialStatus": False}}, {}),
        ("vc with proof", "/credentials/issue", lambda e: vc(e, proof={}), {}),
        ("vc of another issuer", "/credentials/issue", lambda e: vc(e, issuer="did:example:x"), {}),
        ("vc not an object", "/credentials/issue", lambda e: {"credential": [1]}, {}),
    ]  # fmt: skip


def normalized(r: Any) -> tuple[int, str | None, str | None, str]:
    return (
        r.status_code,
        r.headers.get("content-type"),
        r.headers.get("www-authenticate"),
        _VOLATILE.sub("~", r.text),
    )


def test_each_request_is_answered_as_fastapi_answers_it(
    credo: App, client: TestClient, plain: TestClient
) -> None:
    # One organization each (the same plan), so that both see the same balances.
    orgs = [create_org(c, plan="connect", credits=3) for c in (client, plain)]
    groups = [o.group("Welding") for o in orgs]
    archived = [o.group("Old course") for o in orgs]
    for o, g in zip(orgs, archived, strict=True):
        with credo.uow() as uow:
            set_archived(uow, o.id, g, True, credo.clock.now())
            uow.commit()
    answers: list[list[tuple[int, str | None, str | None, str]]] = [[], []]
    for side, (o, g, a) in enumerate(zip(orgs, groups, archived, strict=True)):
        for n, (name, path, body, headers) in enumerate(cases(g, a)):
            sent = {**o.auth, **headers}
            if not sent["Authorization"]:
                del sent["Authorization"]
            r = o.client.post(path, json=body(f"r{n}@x.org"), headers=sent)
            assert r.status_code < 500, (name, r.text)
            answers[side].append(normalized(r))
        # Credits run out (402), and a retried Idempotency-Key is answered from the store.
        for n in range(3):
            r = o.client.post(
                "/v1/credentials",
                json={"group_id": g, "recipient": {"name": "Ann", "email": f"late{n}@x.org"}},
                headers={**o.auth, "Idempotency-Key": f"late-{n % 2}"},
            )
            answers[side].append(normalized(r))
    names = [c[0] for c in cases("g", "a")] + ["late 0", "late 1", "late 0 again"]
    for name, hot, through_fastapi in zip(names, *answers, strict=True):
        assert hot == through_fastapi, name
    assert {a[0] for a in answers[0]} >= {200, 201, 401, 402, 404, 409, 422}
    assert orgs[0].credits() | {"organization_id": "-"} == orgs[1].credits() | {
        "organization_id": "-"
    }


def test_hot_requests_are_logged_under_their_route(
    org: Any, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    g = org.group("Welding")
    with caplog.at_level(logging.INFO, logger="credo.http"):
        caplog.clear()
        r = org.issue(g, "ann@x.org")
    assert r.status_code == 201, r.text
    [line] = [rec for rec in caplog.records if rec.name == "credo.http"]
    assert line.route == "/v1/credentials"  # type: ignore[attr-defined]
    assert line.organization_id == org.id  # type: ignore[attr-defined]


def test_an_operator_token_is_no_organization_key(client: TestClient) -> None:
    org = create_org(client)
    g = org.group("Welding")
    body = {"group_id": g, "recipient": {"name": "Ann", "email": "ann@x.org"}}
    r = client.post("/v1/credentials", json=body, headers=ADMIN)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text
