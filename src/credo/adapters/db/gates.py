"""A process's own queue per organization in front of the organization's row lock.

Without it, every request of a process that publishes to one organization waits on the
row lock in PostgreSQL; each commit wakes all of them at once, they race for the lock, and
the losers go back to sleep. Measured with 16 connections to one organization: on average
12 backends waited on the lock and the lock manager was contended at each hand-over, which
made the tail (p99 above 5x p50). Queued here instead, a process sends one publish at a
time to the row lock (publishes that signed ahead: SqlPublishing.lock), and its others
take their turn in arrival order. Other writers (edits, revocations, imports) go to the
row lock directly.

PostgreSQL's deadlock detector does not see this queue, so the gate must be the first
lock on the organization its transaction takes, and a thread holds one gate at a time:
`SqlUnitOfWork` releases it when the transaction ends, whatever the outcome."""

from __future__ import annotations

import threading
from collections import deque


class OrgGates:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        # An organization is present while one request holds its gate; the deque holds the
        # waiters' own locks, each released by the holder handing the gate over.
        self._queues: dict[str, deque[threading.Lock]] = {}

    def acquire(self, org_id: str) -> None:
        with self._mutex:
            waiters = self._queues.get(org_id)
            if waiters is None:
                self._queues[org_id] = deque()
                return
            turn = threading.Lock()
            turn.acquire()
            waiters.append(turn)
        turn.acquire()  # released by the holder before us, who hands the gate over

    def release(self, org_id: str) -> None:
        with self._mutex:
            waiters = self._queues[org_id]
            if waiters:
                waiters.popleft().release()
            else:
                del self._queues[org_id]

    def held(self) -> int:
        """Organizations whose gate is held now."""
        with self._mutex:
            return len(self._queues)

    def waiting(self, org_id: str) -> int:
        """Requests waiting for `org_id`'s gate."""
        with self._mutex:
            return len(self._queues.get(org_id, ()))
