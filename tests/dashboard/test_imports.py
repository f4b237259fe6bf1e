"""Spreadsheet uploads in the dashboard: map, validate every row, price like the API's dry
run (R12), publish in the background, 50,000 rows without blocking the server."""

from __future__ import annotations

import io
import re
import threading
import time
import uuid
import zipfile
from datetime import date
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select

from credo.adapters.db import tables as t
from credo.bootstrap import App
from credo.domain import entities
from credo.domain.accounts import Role
from credo.services.importing import imports
from tests.conftest import Org, create_org
from tests.dashboard.helpers import Person, sign_in
from tests.jobs import finish_import

GOOD = (
    "Name,Email,Issue date,Expiry date\n"
    "Ann Lee,ann@x.org,2026-01-10,25/01/2027\n"
    "Bob Roy,BOB@x.org,,\n"
    "Ann Lee,ANN@X.ORG,10 Jan 2026,\n"
)
BAD = (
    "Name,Email,Issue date,Expiry date\n"
    "Ann Lee,ann@x.org,2026-01-10,\n"
    "Bob Roy,not-an-email,,\n"
    ",cy@x.org,,\n"
    "Dee Poe,dee@x.org,31/02/2026,\n"
    "Eve Fox,eve@x.org,2026-05-01,2026-04-01\n"
)


def unique(who: str) -> str:
    """Accounts are global (not per organization): each test signs in new people."""
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


def count_credentials(credo: App, org_id: str, status: str | None = None) -> int:
    c = t.credentials.c
    q = select(func.count()).select_from(t.credentials).where(c.organization_id == org_id)
    if status:
        q = q.where(c.status == status)
    with credo.engine.connect() as conn:
        return int(conn.scalar(q) or 0)


def upload(person: Person, group_id: str, content: bytes, name: str = "people.csv") -> Any:
    return person.post(
        "/app/imports",
        {"group_id": group_id},
        files={"file": (name, content, "application/octet-stream")},
    )


def job_id_of(response: Any) -> str:
    assert response.status_code == 303, response.text
    found = re.search(r"/app/imports/([a-z]+_[0-9a-f]+)", response.headers["location"])
    assert found
    return found.group(1)


def map_guessed(person: Person, job_id: str, **extra: str) -> Any:
    form = {"name": "0", "email": "1", "issued_on": "2", "expires_on": "3", **extra}
    return person.post(f"/app/imports/{job_id}/map", form)


def test_bad_rows_are_reported_by_row_and_nothing_is_written(credo: App, org: Org) -> None:
    gid = org.group("Course")
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, BAD.encode()))
    form = owner.get(f"/app/imports/{job}/map")
    assert form.status_code == 200
    assert 'value="1" selected' in form.text  # the e-mail column was guessed
    r = map_guessed(owner, job)
    assert r.status_code == 303 and r.headers["location"].endswith("/map")
    page = owner.get(f"/app/imports/{job}/map").text
    assert "4 rows have problems" in page and "(s)" not in page
    for row, field in [(3, "Recipient e-mail"), (4, "Recipient name"), (5, "Issue date")]:
        assert re.search(rf'<td class="num">{row}</td><td>{field}</td>', page), (row, field)
    assert "is before the issue date" in page  # row 6
    report = owner.get(f"/app/imports/{job}/errors.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    lines = report.text.strip().splitlines()
    assert lines[0] == "row,field,column,problem" and len(lines) == 5
    assert lines[1].startswith("3,Recipient e-mail,Email,")
    assert count_credentials(credo, org.id) == 0 and org.used() == 0
    # Publishing cannot be reached while rows are bad.
    start = owner.post(f"/app/imports/{job}/start", {"mode": "publish"})
    assert start.status_code == 409
    assert count_credentials(credo, org.id) == 0


def test_fixed_file_prices_like_the_api_dry_run_and_publishes(credo: App, org: Org) -> None:
    gid = org.group("Course")
    org.issue(gid, "bob@x.org")  # bob already holds a seat: free (R1)
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, GOOD.encode()))
    assert map_guessed(owner, job).headers["location"] == f"/app/imports/{job}"
    preview = owner.get(f"/app/imports/{job}")
    assert preview.status_code == 200
    api = org.post(
        "/v1/credentials/bulk",
        {
            "group_id": gid,
            "dry_run": True,
            "credentials": [
                {"recipient": {"name": "Ann Lee", "email": "ann@x.org"}, "issued_on": "2026-01-10"},
                {"recipient": {"name": "Bob Roy", "email": "BOB@x.org"}},
                {"recipient": {"name": "Ann Lee", "email": "ANN@X.ORG"}},
            ],
        },
    ).json()
    assert api["credits_required"] == 1
    assert f'id="credits-required">{api["credits_required"]}<' in preview.text
    assert f'id="credits-left">{api["credits_remaining"]}<' in preview.text
    used = org.used()
    r = owner.post(f"/app/imports/{job}/start", {"mode": "publish"})
    assert r.status_code == 303
    assert "data-poll" in owner.get(f"/app/imports/{job}").text  # waiting for a worker
    assert finish_import(credo, org.id, job).state == entities.DONE
    done = owner.get(f"/app/imports/{job}")
    assert "Done: 3 credentials published" in done.text
    assert "data-done" in owner.get(f"/app/imports/{job}/progress").text
    assert org.used() - used == api["credits_required"]
    assert count_credentials(credo, org.id, "published") == 4
    listed = org.get("/v1/credentials", params={"recipient_email": "ann@x.org"}).json()
    ann = [c for c in listed["credentials"] if c["expires_on"]]
    assert ann and ann[0]["expires_on"] == "2027-01-25" and ann[0]["issued_on"] == "2026-01-10"
    # The audit log: the start by the owner, and the worker's publish in their name.
    log = org.get("/v1/audit-log", params={"limit": 2}).json()["entries"]
    assert [(e["action"], e["actor"]["label"]) for e in log] == [
        ("credentials.bulk_published", owner.email),
        ("import.started", owner.email),
    ]
    assert log[0]["after"]["count"] == 3 and log[1]["target"]["id"] == job
    # Started once only.
    again = owner.post(f"/app/imports/{job}/start", {"mode": "publish"})
    assert again.status_code == 409


def test_bad_rows_may_be_left_out_and_drafts_cost_nothing(credo: App, org: Org) -> None:
    gid = org.group("Course")
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, BAD.encode()))
    map_guessed(owner, job)
    r = map_guessed(owner, job, skip_invalid="1")
    assert r.headers["location"] == f"/app/imports/{job}"
    preview = owner.get(f"/app/imports/{job}")
    assert "Ready to issue 1 credential<" in preview.text and "4 rows with problems" in preview.text
    owner.post(f"/app/imports/{job}/start", {"mode": "draft"})
    assert finish_import(credo, org.id, job).state == entities.DONE
    assert count_credentials(credo, org.id, "draft") == 1 and org.used() == 0


def test_xlsx_with_date_cells_and_month_first_text(credo: App, org: Org) -> None:
    gid = org.group("Course")
    book = openpyxl.Workbook()
    ws = book.active
    assert isinstance(ws, Worksheet)
    ws.append(["Recipient", "E-mail address", "Date", "Expires"])
    ws.append(["Ann Lee", "ann@x.org", date(2026, 1, 10), "11/25/2026"])
    ws.append(["Bob Roy", "bob@x.org", "01/02/2026", None])
    buf = io.BytesIO()
    book.save(buf)
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, buf.getvalue(), "people.xlsx"))
    r = map_guessed(owner, job, dates="month")
    assert r.headers["location"] == f"/app/imports/{job}", owner.get(r.headers["location"]).text
    preview = owner.get(f"/app/imports/{job}").text
    assert "25 November 2026" in preview and "2 January 2026" in preview


def test_viewers_cannot_import_and_other_organizations_jobs_are_not_found(
    credo: App, org: Org
) -> None:
    gid = org.group("Course")
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, GOOD.encode()))
    viewer = sign_in(credo, unique("viewer"), org.id, Role.VIEWER)
    assert viewer.get("/app/imports/new").status_code == 403
    assert upload(viewer, gid, GOOD.encode()).status_code == 403
    assert viewer.get(f"/app/imports/{job}/map").status_code == 403
    assert map_guessed(viewer, job).status_code == 403
    other = create_org(org.client, name="Other", sandbox=True, anchor="2026-01-15")
    stranger = sign_in(credo, unique("stranger"), other.id)
    for path in (
        f"/app/imports/{job}",
        f"/app/imports/{job}/map",
        f"/app/imports/{job}/errors.csv",
    ):
        assert stranger.get(path).status_code == 404, path
    assert map_guessed(stranger, job).status_code == 404
    assert stranger.post(f"/app/imports/{job}/start", {"mode": "draft"}).status_code == 404
    assert stranger.get("/app/imports/junk").status_code == 404
    # Nor can a group of another organization be used.
    assert upload(stranger, gid, GOOD.encode()).status_code == 404


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("junk.csv", bytes(range(256)) * 64, "does not look like a CSV"),
        ("empty.csv", b"", "empty"),
        ("header.csv", b"name,email\n", "no rows"),
        ("fake.xlsx", b"PK\x03\x04" + b"\x00" * 200, "damaged"),
        ("text.xlsx", b"name,email\nAnn,ann@x.org\n", "damaged"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, ".xls"),
        ("noworkbook.xlsx", _zip({"hello.txt": b"hi"}), "damaged"),
        (
            "bomb.xlsx",
            _zip({"xl/worksheets/sheet1.xml": b"\x00" * (120 * 1024 * 1024)}),
            "too much",
        ),
        ("huge.csv", b'name,email\n"' + b"x" * 300_000 + b'",a@x.org\n', "cannot be read"),
    ],
)
def test_unusable_files_are_refused_politely(
    credo: App, org: Org, name: str, content: bytes, says: str
) -> None:
    gid = org.group("Course")
    owner = sign_in(credo, unique("owner"), org.id)
    r = upload(owner, gid, content, name)
    assert r.status_code == 422, r.text[:300]
    assert says in r.text


def test_odd_forms_never_fail_with_500(credo: App, org: Org) -> None:
    gid = org.group("Course")
    owner = sign_in(credo, unique("owner"), org.id)
    assert owner.post("/app/imports", {"group_id": gid}).status_code == 422  # no file
    assert upload(owner, "", GOOD.encode()).status_code == 422
    assert upload(owner, "grp_" + "0" * 32, GOOD.encode()).status_code == 404
    job = job_id_of(upload(owner, gid, GOOD.encode()))
    for form in (
        {"name": "0", "email": "0"},
        {"name": "", "email": "1"},
        {"name": "99", "email": "1"},
        {"name": "x", "email": "-1"},
    ):
        r = owner.post(f"/app/imports/{job}/map", form)
        assert r.status_code == 422, form
    assert owner.post(f"/app/imports/{job}/start", {"mode": "sideways"}).status_code == 422
    forged = owner.client.post(
        f"/app/imports/{job}/start",
        data={"mode": "draft", "csrf": "no"},
        headers={"Accept": "text/html"},
    )
    assert forged.status_code == 403


def test_a_publish_short_of_credits_midway_stops_and_says_how_far(
    credo: App, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK", 2)
    gid = org.group("Course")
    rows = "".join(f"P{i},p{i}@x.org\n" for i in range(6))
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, f"Name,Email\n{rows}".encode()))
    owner.post(f"/app/imports/{job}/map", {"name": "0", "email": "1"})
    credo.runner.write(lambda uow: imports.start(uow, credo.ctx, org.id, job, publish=True))
    # Someone else spends 247 of the 250 credits after the preview: 3 remain.
    bulk = [{"recipient": {"name": "X", "email": f"x{i}@y.org"}} for i in range(247)]
    assert (
        org.post("/v1/credentials/bulk", {"group_id": gid, "credentials": bulk}).status_code == 201
    )
    final = imports.run(credo.uow, credo.ctx, org.id, job)
    assert final.state == "failed" and final.done == 2 and final.credits_charged == 2
    assert final.error and "stopped after 2 of 6 rows" in final.error
    page = owner.get(f"/app/imports/{job}").text
    assert "The import stopped" in page
    assert org.used() == 249  # 247 + the first chunk; the second needed 2 of the 1 left


def test_a_crashed_job_resumes_without_issuing_twice(
    credo: App, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK", 2)
    gid = org.group("Course")
    rows = "".join(f"P{i},p{i}@x.org\n" for i in range(5))
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, f"Name,Email\n{rows}".encode()))
    owner.post(f"/app/imports/{job}/map", {"name": "0", "email": "1"})
    credo.runner.write(lambda uow: imports.start(uow, credo.ctx, org.id, job, publish=True))

    class Crash(Exception):
        pass

    def crash(_: entities.ImportJob) -> None:
        raise Crash

    with pytest.raises(Crash):  # the process dies after its first chunk committed
        imports.run(credo.uow, credo.ctx, org.id, job, between=crash)
    assert count_credentials(credo, org.id) == 2
    # The worker that runs its job next (here: once its lease has ended) goes on from the
    # last committed chunk.
    assert "data-poll" in owner.get(f"/app/imports/{job}").text
    assert finish_import(credo, org.id, job).state == entities.DONE
    assert count_credentials(credo, org.id) == 5 and org.used() == 5
    assert "Done: 5 credentials published" in owner.get(f"/app/imports/{job}").text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_fifty_thousand_rows_with_a_responsive_server(credo: App, org: Org) -> None:
    big = create_org(org.client, name="Big", plan="growth", credits=60_000, anchor="2026-01-15")
    gid = big.group("Course")
    n = 50_000
    lines = ["Name,Email,Issue date"]
    lines += [f"Person {i},person{i % 40_000}@example.org,25/11/2025" for i in range(n)]
    content = ("\n".join(lines) + "\n").encode()
    owner = sign_in(credo, unique("owner"), big.id)
    t0 = time.perf_counter()
    job = job_id_of(upload(owner, gid, content, "big.csv"))
    r = owner.post(f"/app/imports/{job}/map", {"name": "0", "email": "1", "issued_on": "2"})
    assert r.headers["location"] == f"/app/imports/{job}"
    preview = owner.get(f"/app/imports/{job}")
    prepared = time.perf_counter() - t0
    assert 'id="credits-required">40000<' in preview.text  # distinct recipients, whole file
    assert owner.post(f"/app/imports/{job}/start", {"mode": "draft"}).status_code == 303
    t1 = time.perf_counter()
    answered: list[float] = []
    seen_progress: set[str] = set()
    # A worker publishes it meanwhile (a thread here; its own process in production).
    worker = threading.Thread(target=finish_import, args=(credo, big.id, job, 300))
    worker.start()
    while worker.is_alive():
        worker.join(0.05)
        s = time.perf_counter()
        assert owner.client.get("/healthz").status_code == 200
        assert owner.get("/app").status_code == 200
        answered.append(time.perf_counter() - s)
        found = re.search(
            r'id="import-done">([\d,]+)<', owner.get(f"/app/imports/{job}/progress").text
        )
        if found:
            seen_progress.add(found.group(1))
        assert time.perf_counter() - t1 < 300
    published = time.perf_counter() - t1
    assert count_credentials(credo, big.id, "draft") == n
    assert "Done: 50,000 credentials saved as drafts" in owner.get(f"/app/imports/{job}").text
    assert answered, "the job ended before the server was asked anything"
    assert len(seen_progress) >= 2  # the bar moved
    print(
        f"\n50,000 rows: upload+validate+preview {prepared:.1f}s, drafts {published:.1f}s "
        f"({n / published:,.0f}/s); other requests answered in at most {max(answered):.2f}s"
    )


JARGON = re.compile(r"\bjobs?\b|\(s\)|payload|\bseats?\b|\bR(?:[1-9]|1[0-9]|2[01])\b", re.I)
STATE_CODES = re.compile(r">(?:uploaded|invalid|ready|running|done|failed)<")


def test_the_list_counts_every_row_of_the_file_bad_ones_included(credo: App, org: Org) -> None:
    gid = org.group("Course")
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, BAD.encode(), name="five.csv"))
    map_guessed(owner, job)
    map_guessed(owner, job, skip_invalid="1")  # 4 bad rows left out, 1 to issue
    owner.post(f"/app/imports/{job}/start", {"mode": "draft"})
    assert finish_import(credo, org.id, job).state == entities.DONE
    page = owner.get("/app/imports")
    row = re.search(rf'<a href="/app/imports/{job}">five.csv</a>.*?</tr>', page.text, re.S)
    assert row, page.text[:3000]
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(0), re.S)
    assert cells[0].startswith("5 ") and "(4 left out)" in cells[0], cells
    assert cells[1:] == ["1", "0"]  # one draft issued, no credit used
    assert "Saved as drafts" in row.group(0)
    assert "Rows in the file" in page.text


def test_import_pages_say_what_happens_and_what_it_costs_in_plain_words(
    credo: App, org: Org
) -> None:
    gid = org.group("Course")
    owner = sign_in(credo, unique("owner"), org.id)
    seen = [owner.get("/app/imports/new").text]
    bad = job_id_of(upload(owner, gid, BAD.encode()))
    seen.append(owner.get(f"/app/imports/{bad}/map").text)
    map_guessed(owner, bad)
    seen.append(owner.get(f"/app/imports/{bad}/map").text)
    good = job_id_of(upload(owner, gid, GOOD.encode()))
    map_guessed(owner, good)
    preview = owner.get(f"/app/imports/{good}").text
    seen.append(preview)
    # What publishing does and costs, in words: e-mails, one credit per new person, drafts free.
    assert "e-mails each person theirs" in preview
    assert re.search(r'uses <span class="cost" id="credits-required">2</span> credits', preview)
    assert "sends nothing and uses no credit" in preview
    assert "Publish 3 credentials (2 credits)" in preview
    owner.post(f"/app/imports/{good}/start", {"mode": "publish"})
    seen.append(owner.get(f"/app/imports/{good}").text)
    seen.append(owner.get("/app/imports").text)
    assert "no credit is used until" in seen[0] and "issues nothing and uses no credit" in seen[1]
    for text in seen:
        body = text.split('<main id="main"', 1)[1]
        words = re.sub(r"<[^>]+>", " ", body)
        assert not JARGON.search(words), JARGON.search(words)
        assert not STATE_CODES.search(body), STATE_CODES.search(body)
    assert "Waiting for you to confirm" not in seen[-1] and "Publishing" in seen[-1]
    # Finished here: the database is shared, and a later test's worker would run it.
    assert finish_import(credo, org.id, good).state == entities.DONE


def test_a_stopped_import_explains_the_shortfall_in_words(
    credo: App, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK", 2)
    gid = org.group("Course")
    rows = "".join(f"P{i},p{i}@x.org\n" for i in range(4))
    owner = sign_in(credo, unique("owner"), org.id)
    job = job_id_of(upload(owner, gid, f"Name,Email\n{rows}".encode()))
    owner.post(f"/app/imports/{job}/map", {"name": "0", "email": "1"})
    credo.runner.write(lambda uow: imports.start(uow, credo.ctx, org.id, job, publish=True))
    bulk = [{"recipient": {"name": "X", "email": f"x{i}@y.org"}} for i in range(247)]
    assert org.post("/v1/credentials/bulk", {"group_id": gid, "credentials": bulk}).status_code
    assert imports.run(credo.uow, credo.ctx, org.id, job).state == "failed"
    page = owner.get(f"/app/imports/{job}").text
    stopped = re.search(r'id="import-state">(.*?)</p>', page, re.S)
    assert stopped and stopped.group(1).startswith("The import stopped after 2 of 4 rows")
    assert "1 remains, so 1 is missing" in stopped.group(1)
    assert "(R11)" not in page and "credit(s)" not in page and "stopped: stopped" not in page
