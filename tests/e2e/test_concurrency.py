"""R13 against a real multi-process server: concurrent requests never charge one seat twice
and never spend beyond the allowance (credits.md R1, R7, R11, R13, R14).

Each test fires dozens of requests at once (threads released together) at `credo serve
--workers 4`, on SQLite and on PostgreSQL, then checks the books: credits used, the ledger,
the credentials that exist, and `credo audit`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import httpx
import pytest

from tests.e2e.server import LiveServer

pytestmark = pytest.mark.slow

THREADS = 32
REQUEST_TIMEOUT = 60.0
T = TypeVar("T")


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    limits = httpx.Limits(max_connections=THREADS, max_keepalive_connections=THREADS)
    with httpx.Client(
        base_url=live_server.base_url, timeout=REQUEST_TIMEOUT, limits=limits
    ) as client:
        yield client


def storm(calls: Sequence[Callable[[], T]], threads: int = THREADS) -> list[T]:
    """Run every call on a pool of threads, all released at the same moment; answers in order."""
    go = threading.Event()

    def run(call: Callable[[], T]) -> T:
        go.wait()
        return call()

    with ThreadPoolExecutor(max_workers=min(threads, len(calls))) as pool:
        futures = [pool.submit(run, call) for call in calls]
        go.set()
        return [f.result(timeout=4 * REQUEST_TIMEOUT) for f in futures]


def describe(responses: Sequence[httpx.Response]) -> str:
    return "\n".join(
        f"{r.request.method} {r.request.url.path} -> {r.status_code} {r.text[:300]}"
        for r in responses
    )


def assert_no_server_errors(responses: Sequence[httpx.Response]) -> None:
    bad = [r for r in responses if r.status_code >= 500]
    assert not bad, f"{len(bad)} server error(s):\n{describe(bad)}"


@dataclass
class ApiOrg:
    """An organization made through the operator API, speaking with its own API key."""

    id: str
    key: str
    http: httpx.Client

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", **(extra or {})}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers())

    def post(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers(headers))

    def patch(self, path: str, body: Any) -> httpx.Response:
        return self.http.patch(path, json=body, headers=self.headers())

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path, headers=self.headers())

    def group(self, name: str) -> str:
        r = self.post("/v1/groups", {"name": name})
        assert r.status_code == 201, r.text
        gid: str = r.json()["group"]["id"]
        return gid

    def publish(
        self,
        group_id: str,
        email: str,
        headers: dict[str, str] | None = None,
        *,
        draft: bool = False,
    ) -> httpx.Response:
        body = {
            "group_id": group_id,
            "recipient": {"name": "Recipient", "email": email},
            "publish": not draft,
        }
        return self.post("/v1/credentials", body, headers)

    def bulk(self, group_id: str, emails: Sequence[str]) -> httpx.Response:
        body = {
            "group_id": group_id,
            "credentials": [{"recipient": {"name": "Recipient", "email": e}} for e in emails],
        }
        return self.post("/v1/credentials/bulk", body)

    def credits(self) -> dict[str, Any]:
        r = self.get("/v1/credits")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def _all(self, path: str, things: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list route, following next_cursor (small pages on purpose)."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
            r = self.get(path, **query)
            assert r.status_code == 200, r.text
            body = r.json()
            items.extend(body[things])
            cursor = body["next_cursor"]
            if cursor is None:
                return items
            assert len(items) < 100_000, "the cursor never ends"

    def ledger(self, **params: int) -> list[dict[str, Any]]:
        return self._all("/v1/credits/ledger", "entries", **params)

    def credentials(self, **filters: str) -> list[dict[str, Any]]:
        return self._all("/v1/credentials", "credentials", **filters)


def new_org(server: LiveServer, http: httpx.Client, **body: Any) -> ApiOrg:
    data = server.create_org(http, **body)
    return ApiOrg(data["organization"]["id"], data["api_key"], http)


def assert_books_balance(org: ApiOrg, charged: int) -> dict[str, Any]:
    """R14: credits used == ledger charge entries == credits charged in all answers."""
    credits = org.credits()
    ledger = org.ledger()
    assert credits["used"] == len(ledger) == charged, (credits, len(ledger), charged)
    assert all(e["delta"] == -1 for e in ledger), ledger
    assert credits["remaining"] == max(0, credits["allowance"] - credits["used"])
    assert credits["used"] <= credits["allowance"], credits
    return credits


def test_one_new_recipient_is_charged_once(live_server: LiveServer, http: httpx.Client) -> None:
    """40 concurrent publishes to one new recipient, over 4 groups and spellings: 1 credit."""
    org = new_org(live_server, http, name="E2E one seat")
    groups = [org.group(f"Course {i}") for i in range(4)]
    spellings = ["ann@example.org", "Ann@Example.org", "ANN@EXAMPLE.ORG", "ann@EXAMPLE.org"]

    answers = storm(
        [partial(org.publish, groups[i % 4], spellings[(i // 4) % 4]) for i in range(40)]
    )

    assert_no_server_errors(answers)
    assert [r.status_code for r in answers] == [201] * 40, describe(answers)
    charged = [r.json()["credits_charged"] for r in answers]
    assert sum(charged) == 1 and sorted(charged) == [0] * 39 + [1], charged
    credits = assert_books_balance(org, charged=1)
    assert credits["seats_held"] == 1
    (entry,) = org.ledger()
    assert (entry["reason"], entry["recipient"]) == ("publish", "ann@example.org"), entry
    ids = {r.json()["credential"]["id"] for r in answers}
    assert entry["credential_id"] in ids
    live = org.credentials(recipient_email="ann@example.org")
    assert {c["id"] for c in live} == ids and len(live) == 40


def test_allowance_is_never_overspent(live_server: LiveServer, http: httpx.Client) -> None:
    """50 concurrent publishes to 50 new recipients against 10 credits: 10 win, 40 get 402."""
    org = new_org(live_server, http, name="E2E allowance", plan="connect", credits=10)
    group = org.group("Course")
    emails = [f"person{i:02d}@example.org" for i in range(50)]

    answers = storm([partial(org.publish, group, e) for e in emails])

    assert_no_server_errors(answers)
    won = [(e, r) for e, r in zip(emails, answers, strict=True) if r.status_code == 201]
    refused = [r for r in answers if r.status_code == 402]
    assert len(won) == 10 and len(refused) == 40, describe(answers)
    assert all(r.json()["credits_charged"] == 1 for _, r in won), describe([r for _, r in won])
    for r in refused:
        assert r.headers["content-type"].startswith("application/problem+json"), r.headers
        problem = r.json()
        assert problem["status"] == 402, problem
        assert (problem["credits_required"], problem["credits_remaining"]) == (1, 0), problem

    credits = assert_books_balance(org, charged=10)
    assert (credits["allowance"], credits["used"], credits["remaining"]) == (10, 10, 0)
    assert credits["seats_held"] == 10
    winners = {e for e, _ in won}
    assert {e["recipient"] for e in org.ledger()} == winners
    live = org.credentials(group_id=group)
    assert {c["recipient"]["email"] for c in live} == winners and len(live) == 10


def test_concurrent_bulks_are_all_or_nothing(live_server: LiveServer, http: httpx.Client) -> None:
    """8 overlapping bulks of 20 (90 distinct recipients) against 45 credits: every bulk is
    wholly created or wholly refused, and the credits used are exactly the seats taken."""
    allowance = 45
    org = new_org(live_server, http, name="E2E bulks", plan="connect", credits=allowance)
    groups = [org.group(f"Cohort {i}") for i in range(8)]
    pool = [f"learner{i:03d}@example.org" for i in range(90)]
    bulks = [pool[10 * i : 10 * i + 20] for i in range(8)]

    answers = storm([partial(org.bulk, g, b) for g, b in zip(groups, bulks, strict=True)])

    assert_no_server_errors(answers)
    assert {r.status_code for r in answers} <= {201, 402}, describe(answers)
    seated: set[str] = set()
    charged = 0
    for group, emails, r in zip(groups, bulks, answers, strict=True):
        created = org.credentials(group_id=group)
        if r.status_code == 201:
            body = r.json()
            assert [c["recipient"]["email"] for c in body["credentials"]] == emails
            assert all(c["status"] == "published" for c in body["credentials"])
            assert {c["id"] for c in created} == {c["id"] for c in body["credentials"]}
            charged += body["credits_charged"]
            seated.update(emails)
        else:
            problem = r.json()
            assert problem["credits_required"] > problem["credits_remaining"], problem
            assert created == [], f"a refused bulk left {len(created)} credential(s)"
    successes = sum(r.status_code == 201 for r in answers)
    # The first bulk to run fits (20 <= 45); all 90 recipients cannot (90 > 45).
    assert 1 <= successes < len(bulks), describe(answers)

    credits = assert_books_balance(org, charged=charged)
    assert credits["used"] == len(seated) <= allowance
    assert credits["seats_held"] == len(seated)
    assert {e["recipient"] for e in org.ledger()} == seated


def test_idempotent_retries_charge_once(live_server: LiveServer, http: httpx.Client) -> None:
    """20 identical POSTs with one Idempotency-Key at once: one credential, one credit, one
    answer repeated to all (R13)."""
    org = new_org(live_server, http, name="E2E idempotency")
    group = org.group("Course")
    key = {"Idempotency-Key": "e2e-retry-0001"}

    answers = storm([partial(org.publish, group, "zoe@example.org", key) for _ in range(20)])

    assert_no_server_errors(answers)
    assert [r.status_code for r in answers] == [201] * 20, describe(answers)
    assert len({r.text for r in answers}) == 1, describe(answers)
    first = answers[0].json()
    assert first["credits_charged"] == 1
    live = org.credentials(group_id=group)
    assert [c["id"] for c in live] == [first["credential"]["id"]]
    assert_books_balance(org, charged=1)

    again = org.publish(group, "zoe@example.org", key)
    assert (again.status_code, again.text) == (201, answers[0].text)
    assert org.credits()["used"] == 1


def test_deletes_and_reissues_keep_the_ledger_true(
    live_server: LiveServer, http: httpx.Client
) -> None:
    """Deleting and re-issuing to the same recipients at once (R6, R7): every charge is
    answered to exactly one request, the ledger matches the counter and `credo audit` is
    clean."""
    org = new_org(live_server, http, name="E2E churn")
    groups = [org.group(f"Track {i}") for i in range(4)]
    mia, leo = "mia@example.org", "leo@example.org"

    setup = [org.publish(groups[i % 4], mia) for i in range(12)]
    assert [r.status_code for r in setup] == [201] * 12, describe(setup)
    charged = sum(r.json()["credits_charged"] for r in setup)
    assert charged == 1
    doomed = [r.json()["credential"]["id"] for r in setup]
    log: list[httpx.Response] = []
    lock = threading.Lock()

    def record(r: httpx.Response) -> httpx.Response:
        with lock:
            log.append(r)
        return r

    def delete(cred_id: str) -> None:
        record(org.delete(f"/v1/credentials/{cred_id}"))

    def churn(group: str, email: str, rounds: int = 2) -> None:
        for _ in range(rounds):
            r = record(org.publish(group, email))
            if r.status_code == 201:
                delete(r.json()["credential"]["id"])

    def keep(group: str, email: str) -> str | None:
        r = record(org.publish(group, email))
        return r.json()["credential"]["id"] if r.status_code == 201 else None

    calls: list[Callable[[], str | None]] = []
    calls += [partial(delete, c) for c in doomed]
    calls += [partial(churn, groups[i % 4], mia) for i in range(14)]
    calls += [partial(churn, groups[i % 4], leo) for i in range(4)]
    calls += [partial(keep, groups[i % 4], mia) for i in range(6)]
    calls += [partial(keep, groups[i % 4], leo) for i in range(4)]
    kept = {cid for cid in storm(calls) if cid is not None}

    assert_no_server_errors(log)
    posts = [r for r in log if r.request.method == "POST"]
    deletes = [r for r in log if r.request.method == "DELETE"]
    assert [r.status_code for r in posts] == [201] * len(posts), describe(posts)
    assert [r.status_code for r in deletes] == [204] * len(deletes), describe(deletes)
    assert len(posts) == 14 * 2 + 4 * 2 + 6 + 4 and len(deletes) == 12 + len(posts) - 10
    assert len(kept) == 10
    charged += sum(r.json()["credits_charged"] for r in posts)

    credits = assert_books_balance(org, charged=charged)
    assert credits["used"] >= 2  # mia's first seat and leo's
    assert {c["id"] for c in org.credentials()} == kept
    assert credits["seats_held"] == 2  # both keep live credentials (R5)
    assert {e["reason"] for e in org.ledger()} == {"publish"}

    done = live_server.cli("audit")
    assert done.returncode == 0, f"credo audit failed:\n{done.stdout}\n{done.stderr}"
    assert f"{org.id}: ok" in done.stdout, done.stdout
    one = live_server.cli("audit", "--org", org.id)
    assert one.returncode == 0, f"credo audit --org failed:\n{one.stdout}\n{one.stderr}"


def test_publish_and_edit_paths_charge_once(live_server: LiveServer, http: httpx.Client) -> None:
    """The other seat events of R3 at once: publishing drafts (R3.1), re-addressing (R3.3)
    and renewing (R3.2) many credentials of one recipient costs one seat each time."""
    org = new_org(live_server, http, name="E2E edits", sandbox=True, anchor="2026-01-15")
    groups = [org.group(f"Module {i}") for i in range(3)]

    drafts = storm(
        [partial(org.publish, groups[i % 3], "kim@example.org", draft=True) for i in range(12)]
    )
    assert [r.status_code for r in drafts] == [201] * 12, describe(drafts)
    assert sum(r.json()["credits_charged"] for r in drafts) == 0
    kim = [r.json()["credential"]["id"] for r in drafts]
    published = storm([partial(org.post, f"/v1/credentials/{c}/publish") for c in kim])
    assert_no_server_errors(published)
    assert [r.status_code for r in published] == [200] * 12, describe(published)
    assert sum(r.json()["credits_charged"] for r in published) == 1

    singles = [org.publish(groups[0], f"r{i}@example.org") for i in range(10)]
    assert [r.json()["credits_charged"] for r in singles] == [1] * 10, describe(singles)
    moved = storm(
        [
            partial(
                org.patch,
                f"/v1/credentials/{r.json()['credential']['id']}",
                {"recipient": {"name": "New", "email": "New@Example.org"}},
            )
            for r in singles
        ]
    )
    assert_no_server_errors(moved)
    assert [r.status_code for r in moved] == [200] * 10, describe(moved)
    assert sum(r.json()["credits_charged"] for r in moved) == 1
    credits = assert_books_balance(org, charged=1 + 10 + 1)
    assert credits["seats_held"] == 2  # kim and new; r0..r9 released their seats (R7)

    # Year 1: renewing kim's year-0 credentials, each twice at once, takes one year-1 seat.
    r = org.post("/v1/test-clock", {"now": "2027-02-01T09:00:00Z"})
    assert r.status_code == 200, r.text
    renewals = storm(
        [
            partial(org.patch, f"/v1/credentials/{c}", {"expires_on": d})
            for c in kim
            for d in ("2029-01-31", "2029-02-28")
        ]
    )
    assert_no_server_errors(renewals)
    assert [r.status_code for r in renewals] == [200] * 24, describe(renewals)
    assert sum(r.json()["credits_charged"] for r in renewals) == 1
    credits = assert_books_balance(org, charged=1)
    assert credits["billing_year"]["index"] == 1 and credits["seats_held"] == 1
    assert [(e["reason"], e["recipient"]) for e in org.ledger()] == [("renewal", "kim@example.org")]
    year0 = org.ledger(billing_year=0)
    assert sorted(e["reason"] for e in year0) == ["publish"] * 11 + ["recipient_change"]

    done = live_server.cli("audit", "--org", org.id)
    assert done.returncode == 0, f"credo audit failed:\n{done.stdout}\n{done.stderr}"


def _department(org: ApiOrg, name: str, cap: int | None) -> str:
    r = org.post("/v1/departments", {"name": name, "credit_cap": cap})
    assert r.status_code == 201, r.text
    dept: str = r.json()["department"]["id"]
    return dept


def _department_group(org: ApiOrg, name: str, dept: str) -> str:
    r = org.post("/v1/groups", {"name": name, "department_id": dept})
    assert r.status_code == 201, r.text
    gid: str = r.json()["group"]["id"]
    return gid


def _department_used(org: ApiOrg) -> dict[str, int]:
    return {d["id"]: d["used"] for d in org.credits()["departments"]}


def test_a_department_cap_admits_exactly_the_cap(
    live_server: LiveServer, http: httpx.Client
) -> None:
    """48 concurrent publishes to new recipients from a department capped at 7 (the
    organization has 250): exactly 7 win and 41 get 402 department_cap_reached, while an
    uncapped department's publishes racing beside them all go through (R16, R17)."""
    org = new_org(live_server, http, name="E2E department cap")
    capped, open_ = _department(org, "Capped", 7), _department(org, "Open", None)
    law = [_department_group(org, f"Law {i}", capped) for i in range(2)]
    arts = _department_group(org, "Arts", open_)
    emails = [f"student{i:02d}@example.org" for i in range(48)]
    others = [f"artist{i:02d}@example.org" for i in range(16)]

    answers = storm(
        [partial(org.publish, law[i % 2], e) for i, e in enumerate(emails)]
        + [partial(org.publish, arts, e) for e in others]
    )

    assert_no_server_errors(answers)
    mine, theirs = answers[:48], answers[48:]
    won = [e for e, r in zip(emails, mine, strict=True) if r.status_code == 201]
    refused = [r for r in mine if r.status_code == 402]
    assert len(won) == 7 and len(refused) == 41, describe(mine)
    for r in refused:
        problem = r.json()
        assert problem["code"] == "department_cap_reached", problem
        assert problem["department"]["id"] == capped, problem
        assert (problem["credits_required"], problem["credits_remaining"]) == (1, 0), problem
    assert [r.status_code for r in theirs] == [201] * 16, describe(theirs)

    assert_books_balance(org, charged=7 + 16)
    assert _department_used(org) == {capped: 7, open_: 16}
    ledger = org.ledger()
    assert {e["recipient"] for e in ledger if e["department_id"] == capped} == set(won)
    assert len(org.credentials(group_id=law[0])) + len(org.credentials(group_id=law[1])) == 7
    done = live_server.cli("audit", "--org", org.id)
    assert done.returncode == 0, f"credo audit failed:\n{done.stdout}\n{done.stderr}"


def test_department_bulks_are_all_or_nothing(live_server: LiveServer, http: httpx.Client) -> None:
    """8 overlapping bulks of 10 from a department capped at 25 (the organization has
    plenty): each is wholly created or wholly refused, and the department took exactly the
    seats of the bulks that were created, no more than its cap."""
    org = new_org(live_server, http, name="E2E department bulks")
    dept = _department(org, "Cohorts", 25)
    groups = [_department_group(org, f"Cohort {i}", dept) for i in range(8)]
    pool = [f"member{i:03d}@example.org" for i in range(45)]
    bulks = [pool[5 * i : 5 * i + 10] for i in range(8)]

    answers = storm([partial(org.bulk, g, b) for g, b in zip(groups, bulks, strict=True)])

    assert_no_server_errors(answers)
    assert {r.status_code for r in answers} <= {201, 402}, describe(answers)
    seated: set[str] = set()
    charged = 0
    for group, emails, r in zip(groups, bulks, answers, strict=True):
        created = org.credentials(group_id=group)
        if r.status_code == 201:
            assert len(created) == 10
            charged += r.json()["credits_charged"]
            seated.update(emails)
        else:
            assert r.json()["code"] == "department_cap_reached", r.text
            assert created == [], f"a refused bulk left {len(created)} credential(s)"
    assert 1 <= sum(r.status_code == 201 for r in answers) < len(bulks), describe(answers)
    assert_books_balance(org, charged=charged)
    assert _department_used(org) == {dept: len(seated)} and len(seated) <= 25
    done = live_server.cli("audit", "--org", org.id)
    assert done.returncode == 0, f"credo audit failed:\n{done.stdout}\n{done.stderr}"


def test_cap_changes_and_group_moves_racing_publishes(
    live_server: LiveServer, http: httpx.Client
) -> None:
    """Publishes race cap changes and a group moving between departments: every seat is
    charged to the department the group was in when the charge took the lock, and each
    department's counter equals its ledger charges (R18, R20, R21: credo audit)."""
    org = new_org(live_server, http, name="E2E department moves")
    a, b = _department(org, "A", 30), _department(org, "B", 30)
    group = _department_group(org, "Travelling", a)
    calls: list[Callable[[], httpx.Response]] = [
        partial(org.publish, group, f"mover{i:02d}@example.org") for i in range(30)
    ]
    for i in range(4):
        calls.insert(
            i * 7, partial(org.patch, f"/v1/groups/{group}", {"department_id": [a, b][i % 2]})
        )
        calls.insert(
            i * 7 + 3,
            partial(org.patch, f"/v1/departments/{[a, b][i % 2]}", {"credit_cap": 30 + i}),
        )

    answers = storm(calls)

    assert_no_server_errors(answers)
    publishes = [r for r in answers if r.request.method == "POST"]
    assert [r.status_code for r in publishes] == [201] * 30, describe(publishes)
    assert all(r.status_code == 200 for r in answers if r.request.method == "PATCH")
    assert_books_balance(org, charged=30)
    used = _department_used(org)
    ledger = org.ledger()
    assert used[a] + used[b] == 30
    assert used == {d: sum(e["department_id"] == d for e in ledger) for d in (a, b)}
    done = live_server.cli("audit", "--org", org.id)
    assert done.returncode == 0, f"credo audit failed:\n{done.stdout}\n{done.stderr}"
