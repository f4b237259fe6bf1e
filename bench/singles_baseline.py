"""Baseline for single publishes: one-row INSERT transactions from many threads, driver only."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
from sqlalchemy.engine import make_url


def single_inserts(database_url: str, count: int, clients: int) -> float:
    """Transactions per second for `count` single-row insert transactions."""
    url = make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    table = f"bench_single_{uuid.uuid4().hex[:8]}"

    def connect() -> object:
        if sqlite:
            c = sqlite3.connect(
                url.database or "", isolation_level=None, timeout=60, check_same_thread=False
            )
            c.execute("PRAGMA synchronous=NORMAL")
            return c
        return psycopg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            dbname=url.database,
            autocommit=True,
        )

    admin = connect()
    admin.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, email TEXT NOT NULL)")  # type: ignore[attr-defined]
    conns: list[object] = []
    local = threading.local()
    mark = "?" if sqlite else "%s"

    def one(i: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = connect()
            conns.append(local.conn)
        c = local.conn
        if sqlite:
            c.execute("BEGIN IMMEDIATE")  # type: ignore[attr-defined]
            c.execute(f"INSERT INTO {table} VALUES ({mark}, {mark})", (str(i), f"s{i}@example.org"))  # type: ignore[attr-defined]
            c.execute("COMMIT")  # type: ignore[attr-defined]
        else:
            with c.transaction():  # type: ignore[attr-defined]
                c.execute(
                    f"INSERT INTO {table} VALUES ({mark}, {mark})", (str(i), f"s{i}@example.org")
                )  # type: ignore[attr-defined]

    try:
        with ThreadPoolExecutor(max_workers=clients) as ex:
            start = time.perf_counter()
            list(ex.map(one, range(count)))
            elapsed = time.perf_counter() - start
    finally:
        for c in conns:
            c.close()  # type: ignore[attr-defined]
        admin.execute(f"DROP TABLE {table}")  # type: ignore[attr-defined]
        admin.close()  # type: ignore[attr-defined]
    return count / elapsed
