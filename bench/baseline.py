"""The baseline: the same rows a bulk publish stores, put in by the database driver alone
(SQLite executemany, PostgreSQL COPY) in one transaction. No HTTP, no validation, no rules,
no signing: each credential row carries a document of the size a signed one has."""

from __future__ import annotations

import secrets
import sqlite3
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy.engine import make_url

from credo.domain.openbadges import AchievementInfo, Award, Issuer, open_badge
from credo.ids import new_ids


def rows(org_id: str, group_id: str, n: int, distinct: int) -> dict[str, list[tuple[Any, ...]]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    tag = uuid.uuid4().hex[:6]
    today = now.date()
    now = datetime.now(UTC)
    cred_ids = new_ids("cred", n, now)
    seat_ids = new_ids("seat", distinct, now)
    creds = [
        (
            cred_ids[i],
            org_id,
            group_id,
            f"Recipient {i}",
            f"{tag}{i % distinct}@example.org",
            f"{tag}{i % distinct}@example.org",
            "published",
            today,
            None,
            0,
            now,
            now,
            secrets.token_hex(16),
            i,
            _document(cred_ids[i], i),
        )
        for i in range(n)
    ]
    seats = [(seat_ids[k], org_id, 90, f"{tag}{k}@example.org", now) for k in range(distinct)]
    ledger = [
        (org_id, now, 90, -1, "publish", f"{tag}{k}@example.org", cred_ids[k], seat_ids[k])
        for k in range(distinct)
    ]
    return {"credentials": creds, "seats": seats, "ledger_entries": ledger}


COLUMNS = {
    "credentials": "id, organization_id, group_id, recipient_name, recipient_email, recipient_key, "
    "status, issued_on, expires_on, seat_year, created_at, updated_at, salt, status_index, "
    "signed_document",
    "seats": "id, organization_id, billing_year, recipient_key, opened_at",
    "ledger_entries": "organization_id, at, billing_year, delta, reason, recipient_key, credential_id, seat_id",
}


def _document(cred_id: str, i: int) -> str:
    """A document shaped and sized like a signed credential (its proof is not a real one)."""
    doc = open_badge(
        Award(
            f"https://credo.example/c/{cred_id}",
            f"r{i}@example.org",
            f"Recipient {i}",
            secrets.token_hex(16),
            date(2026, 1, 1),
            None,
            i,
        ),
        AchievementInfo(
            "https://credo.example/achievements/g",
            "Benchmark course",
            "Benchmark course",
            "Benchmark course",
            None,
        ),
        Issuer("did:key:z6Mk" + "x" * 44, "Bench", "https://credo.example"),
        base_url="https://credo.example",
        key_id="key_" + "0" * 32,
    )
    doc["proof"] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-01-01T00:00:00Z",
        "verificationMethod": "did:key:z6Mk" + "x" * 44 + "#z6Mk" + "x" * 44,
        "proofPurpose": "assertionMethod",
        "proofValue": "z" + secrets.token_hex(44),
    }
    return orjson.dumps(doc).decode()


def plain_insert_seconds(
    database_url: str, org_id: str, group_id: str, n: int, distinct: int
) -> float:
    data = rows(org_id, group_id, n, distinct)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        sqlite_data = {
            table: [tuple(_sqlite(v) for v in row) for row in table_rows]
            for table, table_rows in data.items()
        }
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for table, table_rows in sqlite_data.items():
            marks = ", ".join("?" * len(table_rows[0]))
            conn.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})", table_rows)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed
    with psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, dbname=url.database
    ) as conn:
        start = time.perf_counter()
        with conn.cursor() as cur:
            for table, table_rows in data.items():
                with cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                    for row in table_rows:
                        copy.write_row(row)
        conn.commit()
        return time.perf_counter() - start


def _sqlite(value: Any) -> Any:
    # The text forms SQLAlchemy's SQLite dialect stores, so the baseline writes equal bytes.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
