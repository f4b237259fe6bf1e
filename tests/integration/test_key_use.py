"""Recording an API key's use: one small write, never backwards, never on a revoked key, and
never the reason a request fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from credo.adapters.db.tenancy import SqlApiKeys
from credo.bootstrap import App
from credo.clock import FixedClock
from credo.services.tenancy.key_use import KeyUse, note_use
from credo.services.tenancy.organizations import hash_api_key
from tests.conftest import Org

T0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def last_used(credo: App, org: Org) -> datetime | None:
    [key] = [
        k
        for k in credo.runner.read(lambda uow: uow.api_keys.all(org.id))
        if k.prefix == org.key[:13]
    ]
    return key.last_used_at


def test_a_use_is_written_once_a_minute_and_never_backwards(credo: App, org: Org) -> None:
    key_hash = hash_api_key(org.key)
    uses = KeyUse()
    note_use(credo.runner, uses, key_hash, T0)
    assert last_used(credo, org) == T0
    note_use(credo.runner, uses, key_hash, T0 + timedelta(seconds=59))
    assert last_used(credo, org) == T0
    note_use(credo.runner, uses, key_hash, T0 + timedelta(minutes=2))
    assert last_used(credo, org) == T0 + timedelta(minutes=2)
    # Another process, whose clock or turn lags, does not move the time back.
    note_use(credo.runner, KeyUse(), key_hash, T0 + timedelta(minutes=1))
    assert last_used(credo, org) == T0 + timedelta(minutes=2)


def test_a_revoked_key_gets_no_use_written(credo: App, org: Org, clock: FixedClock) -> None:
    assert org.post("/v1/groups", {"name": "Remembered"}).status_code == 201
    [key] = credo.runner.read(lambda uow: uow.api_keys.all(org.id))
    assert credo.runner.write(lambda uow: uow.api_keys.revoke(org.id, key.id, T0))
    written = last_used(credo, org)
    clock.set(T0 + timedelta(hours=1))
    # The process still remembers the key for mutations: refused all the same, unrecorded.
    assert org.post("/v1/groups", {"name": "Refused"}).status_code == 401
    assert org.get("/v1/credits").status_code == 401
    assert last_used(credo, org) == written


def test_a_failed_write_never_fails_the_request(
    credo: App,
    org: Org,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(self: SqlApiKeys, key_hash: str, at: datetime) -> None:
        raise OperationalError("UPDATE api_keys", {}, Exception("database is locked"))

    monkeypatch.setattr(SqlApiKeys, "mark_used", broken)
    with caplog.at_level("WARNING", logger="credo.api_keys"):
        assert org.get("/v1/credits").status_code == 200
        clock.set(T0 + timedelta(minutes=5))
        assert org.post("/v1/groups", {"name": "Still made"}).status_code == 201
    assert last_used(credo, org) is None
    assert [r.message for r in caplog.records].count("could not record an API key's use") == 2


def test_the_accredible_compatible_api_records_a_use_too(
    credo: App, org: Org, clock: FixedClock
) -> None:
    clock.set(T0 + timedelta(minutes=3))
    r = org.client.get(
        "/compat/accredible/v1/issuer/details",
        headers={"Authorization": f"Token token={org.key}"},
    )
    assert r.status_code == 200, r.text
    assert last_used(credo, org) == T0 + timedelta(minutes=3)
