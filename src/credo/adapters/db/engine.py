"""Engines for SQLite (the embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

READ_ONLY = "credo_read_only"  # in a SQLite connection's info: the next BEGIN reads only


def make_engine(url: str, *, pool_size: int = 10, prepared_statements: bool = True) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # psycopg prepares a statement it has run five times, on the server connection it ran
    # on; behind a transaction-pooling pgbouncer (before 1.21) the next transaction may get
    # another server connection, where that statement does not exist.
    connect_args: dict[str, Any] = {} if prepared_statements else {"prepare_threshold": None}
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping before each lending (a round trip per transaction, 3 per publish): a
        # connection found dead raises ConnectionLost and the runner runs the unit of work
        # again (uow.py, runner.py).
        pool_pre_ping=False,
        connect_args=connect_args,
    )


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that `begin` below decides the mode.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writing transaction takes SQLite's write lock up front (BEGIN IMMEDIATE): this is
        # the organization lock on SQLite, and it avoids deadlocking lock upgrades.
        # A unit of work says "read" in the connection's info (one-shot: a dict write, where
        # execution_options cost 2.8% of a SQLite publish); other callers may still say it
        # with execution_options(credo_write=False).
        read = conn.info.pop(READ_ONLY, False)
        write = not read and conn.get_execution_options().get("credo_write", True)
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        # Straight to the driver: through exec_driver_sql it was 5% of a single publish's
        # CPU on SQLite (events, an execution context, a result); its errors stay
        # SQLAlchemy's, as the runner expects.
        try:
            conn.connection.dbapi_connection.execute(statement)
        except sqlite3.Error as error:
            raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
