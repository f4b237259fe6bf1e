"""What publishes from a group sign with (the organization, its subscription, the group and
the active key), remembered by a process for a minute, so that signing ahead of the lock
needs no transaction of its own.

A stale entry costs speed, never correctness: under the lock the publish compares all of it
with the database and, when anything changed, signs again there and forgets the entry
(issuing._issue_ahead).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from credo.services.credentials.ports import Signing


class SigningCache:
    def __init__(
        self,
        ttl: float = 60.0,
        size: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._size = size
        self._monotonic = monotonic
        self._entries: dict[tuple[str, str], tuple[float, Signing]] = {}

    def get(self, org_id: str, group_id: str) -> Signing | None:
        entry = self._entries.get((org_id, group_id))
        if entry is None or self._monotonic() - entry[0] > self._ttl:
            return None
        return entry[1]

    def put(self, org_id: str, group_id: str, signing: Signing) -> None:
        if len(self._entries) >= self._size:
            self._entries.clear()  # rare, and only costs a read each
        self._entries[(org_id, group_id)] = (self._monotonic(), signing)

    def forget(self, org_id: str, group_id: str) -> None:
        self._entries.pop((org_id, group_id), None)
