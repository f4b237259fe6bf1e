"""Recording engagement without slowing the pages it counts.

A page adds its event to an in-memory buffer (a dictionary update under a lock: no I/O on
the request's path); a thread of the process writes the buffer every second, as one
transaction of additions, whatever the number of events. A process that dies loses at most
its last second of counts: these are analytics, not money.

Viewers' addresses stay in memory until the write, where they become the day's keyed hash
(domain.engagement.visitor); the address itself is never written anywhere."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from credo.clock import Clock
from credo.domain import engagement as e
from credo.services.engagement.ports import Counted
from credo.services.ports import UnitOfWork, UnitOfWorkFactory
from credo.services.webhooks import events as webhook_events

log = logging.getLogger("credo.engagement")
LIMIT = 100_000  # distinct entries kept between writes; beyond that, events are dropped


@dataclass(frozen=True, slots=True)
class Subject:
    """The credential an event is about."""

    organization_id: str
    credential_id: str
    group_id: str


@dataclass(slots=True)
class _Tally:
    organization_id: str
    group_id: str
    n: int = 0


@dataclass
class _Buffer:
    counts: dict[tuple[str, date, e.Kind], _Tally] = field(default_factory=dict)
    viewers: set[tuple[str, date, str, str, str, str]] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.counts) + len(self.viewers)


class Recorder:
    """Counts engagement for one process; `flush()` writes what it holds."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        base_url: str,
        *,
        enabled: bool = True,
        interval: float = 1.0,
        background: bool = True,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._base_url = base_url
        self.enabled = enabled
        self._interval = interval
        self._background = background
        self._lock = threading.Lock()  # the buffer
        self._writing = threading.Lock()  # one write at a time: a flush sees earlier ones done
        self._buffer = _Buffer()
        self._keys: dict[date, bytes] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.dropped = 0
        self.on_flush: Callable[[int], None] | None = None  # tests: told after each write

    # --- the request's side -------------------------------------------------------------

    def record(
        self,
        subject: Subject,
        kind: e.Kind,
        user_agent: str | None,
        address: str | None = None,
        *,
        people_only: bool = True,
    ) -> bool:
        """Count one event by a person; bots and disabled recording count nothing. Answers
        whether it was counted. `address` (page views): the viewer's network address.
        `people_only=False`: count whatever the user agent (mail programs' image fetches)."""
        if not self.enabled or (people_only and not e.is_person(user_agent)):
            return False
        day = self._clock.now().date()
        key = (subject.credential_id, day, kind)
        with self._lock:
            buf = self._buffer
            if len(buf) >= LIMIT:
                self.dropped += 1
                return False
            tally = buf.counts.get(key)
            if tally is None:
                tally = buf.counts[key] = _Tally(subject.organization_id, subject.group_id)
            tally.n += 1
            if kind is e.Kind.VIEW and address is not None:
                buf.viewers.add(
                    (
                        subject.credential_id,
                        day,
                        address,
                        user_agent or "",
                        subject.organization_id,
                        subject.group_id,
                    )
                )
            if self._background and self._thread is None:
                self._start()
        return True

    # --- the writer's side --------------------------------------------------------------

    def flush(self) -> int:
        """Write everything buffered in one transaction; answers how many events."""
        with self._writing:
            with self._lock:
                buf, self._buffer = self._buffer, _Buffer()
            if not buf.counts:
                return 0
            try:
                written = self._write(buf)
            except Exception:
                log.exception("engagement counts could not be written; kept for the next try")
                self._put_back(buf)
                return 0
        if self.on_flush is not None:
            self.on_flush(written)
        return written

    def _write(self, buf: _Buffer) -> int:
        now = self._clock.now()
        rows = [
            Counted(cred, day, kind, tally.organization_id, tally.group_id, tally.n)
            for (cred, day, kind), tally in buf.counts.items()
        ]
        with self._uow() as uow:
            viewers = []
            for cred, day, address, agent, org, group in buf.viewers:
                key = self._key(uow, day)
                viewers.append((cred, day, e.visitor(key, address, agent), org, group))
            uow.engagement.add_counts(rows)
            uow.engagement.add_visitors(viewers)
            self._tell_firsts(uow, rows, now)
            uow.commit()
        return sum(r.n for r in rows)

    def _key(self, uow: UnitOfWork, day: date) -> bytes:
        key = self._keys.get(day)
        if key is None:
            key = uow.engagement.day_key(day)
            self._keys = {day: key}  # yesterday's is forgotten here too
        return key

    def _tell_firsts(self, uow: UnitOfWork, rows: list[Counted], now: datetime) -> None:
        pairs = [(r.credential_id, r.kind, r.organization_id) for r in rows if r.kind in e.FIRSTS]
        if not pairs:
            return
        new = uow.engagement.firsts(pairs, now)
        if not new:
            return
        orgs = {cred: org for cred, _, org in pairs}
        events = []
        for cred_id, kind in sorted(new):
            cred = uow.credentials.get(orgs[cred_id], cred_id)
            if cred is not None:
                events += webhook_events.credential_events(e.FIRSTS[kind], [cred], self._base_url)
        webhook_events.emit(uow, events, now)

    def _put_back(self, buf: _Buffer) -> None:
        with self._lock:
            for key, old in buf.counts.items():
                if len(self._buffer) >= LIMIT:
                    self.dropped += old.n
                    continue
                tally = self._buffer.counts.setdefault(
                    key, _Tally(old.organization_id, old.group_id)
                )
                tally.n += old.n
            room = max(0, LIMIT - len(self._buffer))
            self._buffer.viewers.update(list(buf.viewers)[:room])

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="engagement", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        """Write what is left and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
