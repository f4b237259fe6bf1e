"""Status list positions handed out ahead of a publish, so that it can sign before it takes
its organization's lock.

Each process takes positions in blocks, in short transactions of their own (one statement
on the organization's counter row, never on the organization row that the lock holds). A
block a process does not use up, or a publish refused after it signed, leaves positions no
credential holds: gaps in the status list, which verify as "not revoked" and name no one.
"""

from __future__ import annotations

import threading

from credo.services.ports import UnitOfWorkFactory

BLOCK = 64


class StatusPositions:
    def __init__(self, uow_factory: UnitOfWorkFactory, block: int = BLOCK) -> None:
        self._uow = uow_factory
        self._block = block
        self._free: dict[str, tuple[int, int]] = {}  # org id -> [next, end)
        self._lock = threading.Lock()

    def take(self, org_id: str, n: int) -> int:
        """n consecutive positions of the organization; returns the first. Call it outside
        any writing unit of work (on SQLite that would wait for itself)."""
        if n >= self._block // 2:  # a bulk takes exactly what it needs
            return self._reserve(org_id, n)
        with self._lock:
            start, end = self._free.get(org_id, (0, 0))
            if end - start < n:
                start = self._reserve(org_id, self._block)
                end = start + self._block
            self._free[org_id] = (start + n, end)
            return start

    def _reserve(self, org_id: str, n: int) -> int:
        with self._uow() as uow:
            start = uow.organizations.take_status_indexes(org_id, n)
            uow.commit()
            return start
