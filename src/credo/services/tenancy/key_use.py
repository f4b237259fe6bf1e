"""When each API key was last used, written at most once a minute per key and process.

Every API request authenticates its key; a write on each would add a transaction to the
hot publish path (and, on SQLite, a turn of the one writer). People read the time to tell a
key in use from a forgotten one, for which a minute's precision is plenty.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from credo.services.runner import Runner

log = logging.getLogger("credo.api_keys")


class KeyUse:
    """Which keys this process recorded a use of, and when (key hash -> time)."""

    def __init__(self, every: timedelta = timedelta(minutes=1), size: int = 10_000) -> None:
        self._every = every
        self._size = size
        self._recorded: dict[str, datetime] = {}
        # Requests of one key authenticate on several threads at once: one of them records.
        self._lock = threading.Lock()

    def due(self, key_hash: str, now: datetime) -> bool:
        """Whether a use at `now` is to be recorded; when it is, the slot is taken, so a
        failed write is not tried again on every request of that minute."""
        with self._lock:
            last = self._recorded.get(key_hash)
            # A clock set back (tests move theirs) records again rather than never.
            if last is not None and last <= now < last + self._every:
                return False
            if len(self._recorded) >= self._size:
                self._recorded.clear()  # rare, and costs one extra write per key
            self._recorded[key_hash] = now
            return True


def record_use(runner: Runner, key_hash: str, at: datetime) -> None:
    """One small UPDATE in a transaction of its own. Never raises: a request is not refused
    because the time of its key's use could not be written."""
    try:
        runner.write(lambda uow: uow.api_keys.mark_used(key_hash, at))
    except Exception:  # the database's trouble, which the request itself meets or not
        log.warning("could not record an API key's use", exc_info=True)


def note_use(runner: Runner, uses: KeyUse, key_hash: str, at: datetime) -> None:
    """Record the use if this process has not done so for the key within the minute."""
    if uses.due(key_hash, at):
        record_use(runner, key_hash, at)
