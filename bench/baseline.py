"""The baseline: the same rows a bulk publish stores, put in by the database driver alone
(SQLite executemany, PostgreSQL COPY) in one transaction. No HTTP, no validation, no rules."""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from credo.ids import new_ids


def rows(org_id: str, group_id: str, n: int, distinct: int) -> dict[str, list[tuple[Any, ...]]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    tag = uuid.uuid4().hex[:6]
    today = now.date()
    cred_ids = new_ids("cred", n)
    seat_ids = new_ids("seat", distinct)
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
    "status, issued_on, expires_on, seat_year, created_at, updated_at",
    "seats": "id, organization_id, billing_year, recipient_key, opened_at",
    "ledger_entries": "organization_id, at, billing_year, delta, reason, recipient_key, credential_id, seat_id",
}


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
