"""The e-mail outbox (tables.outbox): rows are written with what they announce, in the same
transaction, and sent later by a worker."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Connection

from credo.adapters.db import tables as t
from credo.services.records import OutboxMessage


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, message: OutboxMessage) -> None:
        self._c.execute(t.outbox.insert().values(**asdict(message)))
