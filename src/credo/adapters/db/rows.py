"""Bulk writes shared by the repositories: many rows in one driver call."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table

# From this many rows on, PostgreSQL gets them by COPY; fewer go by plain INSERT.
_COPY_FROM_ROWS = 50


# SQLite looks many keys up in IN (...) lists of this many (PostgreSQL: one array).
_IN_LIST_MAX = 200


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _memo(proc: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A bind processor remembering its answers: the rows of one bulk share their dates and
    times, so each distinct value is converted once."""
    if proc is None:
        return None
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = out = proc(value)
            return out
        except TypeError:  # unhashable
            return proc(value)

    return convert


@functools.cache
def _insert_of(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, list[Callable[[Any], Any] | None]]:
    """The INSERT statement and the bind processors of these columns (looked up once)."""
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    return sql, [table.c[name].type.bind_processor(dialect) for name in columns]


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows with one driver-level executemany.

    SQLAlchemy's executemany spends most of a bulk publish's time building and converting
    parameters row by row; here each column's bind processor is looked up once and the
    driver gets plain tuples: COPY on PostgreSQL, executemany on SQLite. Same stored
    values either way, inside the caller's transaction."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = conn.dialect
    sql, plain = _insert_of(table, tuple(columns), dialect)
    procs = [_memo(p) for p in plain]
    if all(p is None for p in procs):
        params = [tuple(row[name] for name in columns) for row in rows]
    else:
        pairs = list(zip(columns, procs, strict=True))
        params = [
            tuple(row[name] if proc is None else proc(row[name]) for name, proc in pairs)
            for row in rows
        ]
    if dialect.name != "postgresql":
        conn.exec_driver_sql(sql, params)
    elif len(params) >= _COPY_FROM_ROWS:
        raw: Any = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in params:
                copy.write_row(row)
    else:
        # One statement of many rows: as executemany, PostgreSQL ran each row as a
        # statement of its own (pg_stat_statements, group-committed publishes: 160 µs a
        # credential row).
        conn.exec_driver_sql(_values_of(sql, len(params)), _flat(params))


@functools.lru_cache(maxsize=512)
def _values_of(sql: str, rows: int) -> str:
    """`sql` (an INSERT of one row of %s markers) for `rows` rows."""
    row = sql[sql.index("VALUES (") + len("VALUES ") :]
    return sql[: sql.index("VALUES (") + len("VALUES ")] + ", ".join([row] * rows)


def _flat(params: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return tuple(value for row in params for value in row)
