"""Group commit (services/credentials/group_commit.py): publishes of one process share a
transaction, and each keeps the outcome it would have had alone, in arrival order."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.domain.errors import (
    DomainError,
    IdempotencyKeyReused,
    InsufficientCredits,
    Unauthorized,
)
from credo.services.billing.audit import audit_organization
from credo.services.credentials import group_commit, issuing, vcapi
from credo.services.credentials.group_commit import (
    Alone,
    Answered,
    Outcome,
    Prepared,
    PublishQueue,
    Refused,
    Ticket,
)
from credo.services.credentials.group_settings import (
    DuplicatePolicy,
    set_archived,
    set_duplicate_policy,
)
from credo.services.credentials.groups import vc_api_group_id
from credo.services.credentials.issuing import NewCredential
from credo.services.runner import Runner
from credo.services.tenancy.organizations import hash_api_key, issue_api_key
from tests.conftest import ADMIN, Org, create_org


def answer(ready: Prepared, charged: int) -> tuple[int, str]:
    ids = [c.id for c in ready.creds]
    return 201, orjson.dumps({"ids": ids, "credits_charged": charged}).decode()


def refusal(exc: DomainError) -> tuple[int, str]:
    return exc.status, orjson.dumps({"code": exc.code}).decode()


def ticket(
    credo: App,
    org: Org,
    group_id: str,
    email: str,
    *,
    key: str | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "fp",
) -> Ticket:
    items = [NewCredential(email.split("@")[0].title(), email)]
    return Ticket(
        org.id,
        group_id,
        lambda run: issuing.prepare(run, credo.ctx, org.id, group_id, items),
        answer,
        refusal,
        True,
        hash_api_key(key or org.key),
        idempotency_key,
        fingerprint,
    )


def committed(credo: App, tickets: Sequence[Ticket]) -> list[Outcome]:
    """Prepare each, then commit them all in one transaction."""
    batch: list[tuple[Ticket, Prepared]] = []
    for tk in tickets:
        ready = tk.prepare(credo.runner)
        assert ready is not None
        batch.append((tk, ready))
    return credo.runner.write(lambda uow: group_commit.commit(uow, credo.ctx, batch))


def stored_ids(credo: App, org: Org) -> set[str]:
    with credo.engine.connect() as c:
        return set(
            c.scalars(select(t.credentials.c.id).where(t.credentials.c.organization_id == org.id))
        )


def outbox_rows(credo: App, org: Org) -> int:
    with credo.engine.connect() as c:
        return len(
            c.execute(select(t.outbox.c.id).where(t.outbox.c.organization_id == org.id)).all()
        )


def audited_clean(credo: App, org: Org) -> None:
    report = credo.runner.read(lambda uow: audit_organization(uow, credo.clock, org.id))
    assert report.ok, report.problems


def body(outcome: Outcome) -> dict[str, Any]:
    assert isinstance(outcome, Answered), outcome
    parsed: dict[str, Any] = orjson.loads(outcome.body)
    return parsed


def test_each_request_is_charged_as_if_alone_in_arrival_order(
    credo: App, client: TestClient
) -> None:
    org = create_org(client, plan="connect", credits=3)
    g = org.group("Welding")
    emails = ["ann@x.org", "bob@x.org", "ann@x.org", "cy@x.org", "dee@x.org", "bob@x.org"]
    outcomes = committed(credo, [ticket(credo, org, g, e) for e in emails])
    # Ann, Bob and Cy take the three credits; Ann's and Bob's second credentials are free
    # (R2), even after Dee, who finds none left (R11), was refused.
    charged = [body(o)["credits_charged"] if isinstance(o, Answered) else None for o in outcomes]
    assert charged == [1, 1, 0, 1, None, 0]
    refused = outcomes[4]
    assert isinstance(refused, Refused) and isinstance(refused.error, InsufficientCredits)
    assert refused.error.fields["credits_remaining"] == 0
    admitted = {i for o in outcomes if isinstance(o, Answered) for i in body(o)["ids"]}
    assert stored_ids(credo, org) == admitted and len(admitted) == 5
    assert outbox_rows(credo, org) == 5  # the refused request e-mails no one
    credits = org.credits()
    assert credits["used"] == 3 and credits["remaining"] == 0
    ledger = org.get("/v1/credits/ledger").json()["entries"]
    assert [e["recipient"] for e in ledger] == ["ann@x.org", "bob@x.org", "cy@x.org"]
    audited_clean(credo, org)


def test_a_revoked_key_refuses_its_request_alone(credo: App, org: Org) -> None:
    g = org.group("Welding")
    with credo.uow() as uow:
        second = issue_api_key(uow, org.id, credo.clock.now(), "Second")
        key = next(k for k in uow.api_keys.all(org.id) if second.startswith(k.prefix))
        assert uow.api_keys.revoke(org.id, key.id, credo.clock.now())
        uow.commit()
    outcomes = committed(
        credo, [ticket(credo, org, g, "ann@x.org", key=second), ticket(credo, org, g, "bob@x.org")]
    )
    assert isinstance(outcomes[0], Refused) and isinstance(outcomes[0].error, Unauthorized)
    assert body(outcomes[1])["credits_charged"] == 1
    assert org.used() == 1
    audited_clean(credo, org)


def test_idempotency_keys_replay_refuse_or_wait_for_the_next_batch(
    credo: App, client: TestClient
) -> None:
    org = create_org(client, plan="connect", credits=1)
    g = org.group("Welding")
    [first] = committed(credo, [ticket(credo, org, g, "ann@x.org", idempotency_key="k1")])
    first_body = body(first)
    outcomes = committed(
        credo,
        [
            ticket(credo, org, g, "ann@x.org", idempotency_key="k1"),  # a retry
            ticket(credo, org, g, "ann@x.org", idempotency_key="k3", fingerprint="other"),
            ticket(credo, org, g, "bob@x.org", idempotency_key="k2"),  # no credit left
            ticket(credo, org, g, "bob@x.org", idempotency_key="k2"),  # its twin
        ],
    )
    assert body(outcomes[0]) == first_body  # the stored answer, nothing done again
    assert body(outcomes[1])["credits_charged"] == 0  # Ann holds her seat
    refused = outcomes[2]
    assert isinstance(refused, Answered) and refused.status == 402  # stored, as a refusal
    assert isinstance(outcomes[3], Alone)  # runs after the batch: a retry of k2
    [again] = committed(credo, [ticket(credo, org, g, "bob@x.org", idempotency_key="k2")])
    assert again == refused
    [reused] = committed(
        credo, [ticket(credo, org, g, "ann@x.org", idempotency_key="k1", fingerprint="other")]
    )
    assert isinstance(reused, Refused) and isinstance(reused.error, IdempotencyKeyReused)
    assert org.used() == 1 and len(stored_ids(credo, org)) == 2
    audited_clean(credo, org)


def test_what_changed_since_signing_goes_back_to_run_alone(
    credo: App, org: Org, client: TestClient
) -> None:
    g = org.group("Welding")
    archived = org.group("Old course")
    refusing = org.group("Once only")
    with credo.uow() as uow:
        set_duplicate_policy(uow, org.id, refusing, DuplicatePolicy.REFUSE, credo.clock.now())
        uow.commit()
    tickets = [ticket(credo, org, gid, "ann@x.org") for gid in (g, archived, refusing)]
    batch = [(tk, tk.prepare(credo.runner)) for tk in tickets]
    r = client.post(f"/v1/admin/organizations/{org.id}/keys/rotate", headers=ADMIN)
    assert r.status_code == 200, r.text
    with credo.uow() as uow:
        set_archived(uow, org.id, archived, True, credo.clock.now())
        uow.commit()
    outcomes = credo.runner.write(
        lambda uow: group_commit.commit(uow, credo.ctx, [(tk, p) for tk, p in batch if p])
    )
    assert all(
        isinstance(o, Alone) and o.prepared is p for o, (_, p) in zip(outcomes, batch, strict=True)
    )
    assert stored_ids(credo, org) == set() and org.used() == 0
    # Alone, the first signs again with the new key; the archived group refuses.
    ahead = outcomes[0].prepared if isinstance(outcomes[0], Alone) else None
    done = credo.runner.write(
        lambda uow: issuing.issue(
            uow,
            credo.ctx,
            org.id,
            g,
            [NewCredential("Ann", "ann@x.org")],
            publish=True,
            dry_run=False,
            ahead=ahead if isinstance(ahead, issuing.Ahead) else None,
        )
    )
    assert isinstance(done, issuing.Issued) and done.credentials[0].id not in {
        p.creds[0].id for _, p in batch if p
    }
    audited_clean(credo, org)


def test_a_batch_spans_organizations(credo: App, client: TestClient) -> None:
    orgs = [create_org(client, plan="connect", credits=2) for _ in range(3)]
    groups = [o.group("Welding") for o in orgs]
    tickets = [
        ticket(credo, o, g, f"r{n}@x.org")
        for n in range(3)
        for o, g in zip(orgs, groups, strict=True)
    ]
    outcomes = committed(credo, tickets)
    answered = [isinstance(o, Answered) for o in outcomes]
    assert answered == [True] * 6 + [False] * 3  # each organization's third is refused
    for o in orgs:
        assert o.used() == 2 and len(stored_ids(credo, o)) == 2
        audited_clean(credo, o)


def test_the_vc_api_shares_the_batch(credo: App, org: Org) -> None:
    first = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "mailto:first@x.org"},
    }
    credo.runner.write(lambda uow: vcapi.issue_credential(uow, credo.ctx, org.id, first))
    g = org.group("Welding")
    doc = {**first, "credentialSubject": {"id": "mailto:ann@x.org"}}
    vc_ticket = Ticket(
        org.id,
        vc_api_group_id(org.id),
        lambda run: vcapi.prepare(run, credo.ctx, org.id, doc),
        answer,
        refusal,
        False,
        hash_api_key(org.key),
        None,
        "fp",
    )
    before = outbox_rows(credo, org)
    outcomes = committed(credo, [vc_ticket, ticket(credo, org, g, "ann@x.org")])
    assert [body(o)["credits_charged"] for o in outcomes] == [1, 0]  # one seat: Ann's
    assert outbox_rows(credo, org) == before + 1  # the VC API e-mails no one
    assert org.used() == 2
    audited_clean(credo, org)


class Gate:
    """A ticket whose preparation waits until the test lets it go."""

    def __init__(self, inner: Ticket) -> None:
        self.started = threading.Event()
        self.go = threading.Event()
        self.inner = inner

    def ticket(self) -> Ticket:
        def prepare(run: Runner) -> Prepared | None:
            self.started.set()
            assert self.go.wait(30)
            return self.inner.prepare(run)

        tk = self.inner
        return Ticket(
            tk.org_id, tk.group_id, prepare, tk.answer, tk.refusal, tk.notify,
            tk.key_hash, tk.idempotency_key, tk.fingerprint,
        )  # fmt: skip


def test_tickets_that_arrive_during_a_batch_share_the_next(credo: App, org: Org) -> None:
    g = org.group("Welding")
    q = PublishQueue(credo.uow, credo.runner, credo.ctx)
    gate = Gate(ticket(credo, org, g, "first@x.org"))
    first = q.submit(gate.ticket())
    assert gate.started.wait(30)
    later = [q.submit(ticket(credo, org, g, f"r{n}@x.org")) for n in range(20)]
    gate.go.set()
    outcomes = [f.result(timeout=60) for f in [first, *later]]
    assert all(isinstance(o, Answered) for o in outcomes)
    assert (q.batches, q.tickets) == (2, 21)
    q.close()
    assert org.used() == 21
    audited_clean(credo, org)


def test_a_ticket_that_cannot_be_prepared_runs_alone(credo: App, org: Org) -> None:
    q = PublishQueue(credo.uow, credo.runner, credo.ctx)
    missing = ticket(credo, org, "grp_missing", "ann@x.org")
    [outcome] = [q.submit(missing).result(timeout=60)]
    assert outcome == Alone(None)
    q.close()


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_batch_the_database_refuses_runs_one_by_one(credo: App, org: Org) -> None:
    """A twin request in another process stores the same Idempotency-Key while the batch
    waits for it: the batch's transaction fails, writes nothing, and each ticket goes back
    to run alone (where Runner.once replays the twin's answer)."""
    g = org.group("Welding")
    q = PublishQueue(credo.uow, credo.runner, credo.ctx)
    with credo.engine.connect() as twin:
        twin.execute(
            t.idempotency_keys.insert().values(
                organization_id=org.id, key="k", fingerprint="fp", status_code=201,
                body="{}", created_at=credo.clock.now(),
            )
        )  # fmt: skip
        gate = Gate(ticket(credo, org, g, "first@x.org"))
        first = q.submit(gate.ticket())
        assert gate.started.wait(30)  # the next two wait for the next batch, together
        futures = [
            q.submit(ticket(credo, org, g, "ann@x.org")),
            q.submit(ticket(credo, org, g, "bob@x.org", idempotency_key="k")),
        ]
        gate.go.set()
        assert isinstance(first.result(timeout=60), Answered)
        deadline = time.monotonic() + 60
        with credo.engine.connect() as watch:
            while not watch.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE 'INSERT INTO idempotency_keys%'"
                )
            ):  # the batch waits for the twin's row
                watch.rollback()  # a transaction sees one snapshot of pg_stat_activity
                assert not any(f.done() for f in futures)
                assert time.monotonic() < deadline, "the batch never reached the key"
        twin.commit()
        outcomes = [f.result(timeout=60) for f in futures]
    assert all(isinstance(o, Alone) and o.prepared is not None for o in outcomes)
    assert len(stored_ids(credo, org)) == 1 and org.used() == 1  # the first batch's
    q.close()
