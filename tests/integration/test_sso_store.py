"""Single sign-on's storage on both databases: a sign-in under way is taken once, codes and
assertion IDs are seen once, whatever process asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from credo.adapters.db.sso import SqlSso
from credo.domain.sso import Protocol
from credo.services.people.sso_ports import PendingSignIn
from tests.conftest import Org


def _pending(org_id: str, state_hash: str, now: datetime) -> PendingSignIn:
    return PendingSignIn(
        state_hash=state_hash, organization_id=org_id, protocol=Protocol.OIDC, nonce="n",
        code_verifier="v", request_id=None, next_path="/app", created_at=now,
        expires_at=now + timedelta(minutes=10),
    )  # fmt: skip


def test_a_sign_in_under_way_is_taken_once_across_connections(engine: Engine, org: Org) -> None:
    now = datetime.now(UTC)
    state = "s" * 40 + org.id[-24:]
    with engine.begin() as conn:
        SqlSso(conn).add_request(_pending(org.id, state, now))
    with engine.begin() as first:
        taken = SqlSso(first).take_request(state, now)
        assert taken is not None and taken.code_verifier == "v"
    with engine.begin() as second:  # another connection (another process, as it were)
        assert SqlSso(second).take_request(state, now) is None
    expired = "e" * 40 + org.id[-24:]
    with engine.begin() as conn:
        SqlSso(conn).add_request(_pending(org.id, expired, now - timedelta(hours=1)))
    with engine.begin() as conn:
        assert SqlSso(conn).take_request(expired, now) is None


def test_codes_and_assertions_are_seen_once(engine: Engine, org: Org) -> None:
    until = datetime.now(UTC) + timedelta(minutes=5)
    with engine.begin() as conn:
        assert SqlSso(conn).first_sight(org.id, "assertion", "idp|_abc", until)
    with engine.begin() as conn:
        assert not SqlSso(conn).first_sight(org.id, "assertion", "idp|_abc", until)
        assert SqlSso(conn).first_sight(org.id, "code", "idp|_abc", until)
