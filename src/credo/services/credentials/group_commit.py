"""Group commit: the publishes a process receives at the same time share one transaction.

A publish that signs ahead of its organization's lock (issuing.prepare, vcapi.prepare) is
handed to its process's `PublishQueue` as a `Ticket`. One thread takes whatever tickets
are waiting, prepares each (validates, numbers, signs: no lock held), then commits all of
them in one transaction: one confirmation of their API keys, one look at their
Idempotency-Keys, the organizations' locks in one order, their charges priced one request
after another, and the writes of all of them together. A publish that arrives while a
batch commits waits for the next one.

Each request keeps its own outcome, exactly as if it had run alone in arrival order: one
that cannot be paid for is refused (402) and takes nothing, while the others commit; a
revoked key is refused (401); a retried Idempotency-Key gets its stored answer. What the
batch does not decide itself (the organization, group, signing key or billing year changed
since signing; a group that refuses duplicates or is archived; an Idempotency-Key twice in
the batch; anything the database refuses) goes back to its request as `Alone`: the request
then runs the one-request path (issuing.issue, vcapi.issue_credential), which decides as it
always did.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from credo.domain.audit_log import SYSTEM, Actor
from credo.domain.credentials import SeatReason
from credo.domain.entities import Credential, StoredReply
from credo.domain.errors import DomainError, IdempotencyKeyReused, Unauthorized
from credo.domain.seats import SeatEvent
from credo.services import audit_log
from credo.services.billing import charging
from credo.services.context import ServiceContext
from credo.services.credentials import audited, group_settings
from credo.services.credentials.issuing import PUBLISHED_EVENT, Seen
from credo.services.mail import notifications
from credo.services.ports import UnitOfWork, UnitOfWorkFactory
from credo.services.runner import Runner, replay
from credo.services.webhooks import events as webhook_events

log = logging.getLogger(__name__)

MAX_BATCH = 64
# What a request's answer is made of: an HTTP status and its JSON text.
Reply = tuple[int, str]


class Prepared(Seen, Protocol):
    """A publish validated, numbered and signed before the lock (issuing.Ahead,
    vcapi.AheadVc): what it read (issuing.Seen), and its credentials."""

    @property
    def creds(self) -> Sequence[Credential]: ...


@dataclass(frozen=True, slots=True)
class Ticket:
    """One request's publish, waiting for a batch."""

    org_id: str
    group_id: str
    # Validate, number and sign, holding no lock (it may read and take positions in units
    # of work of its own). None, or a DomainError: the request runs alone.
    prepare: Callable[[Runner], Prepared | None]
    # The request's answer once it is charged `credits` (called in the transaction).
    answer: Callable[[Prepared, int], Reply]
    # The answer to a refusal, as stored for an Idempotency-Key.
    refusal: Callable[[DomainError], Reply]
    notify: bool  # the recipients are e-mailed (publishes), or not (the VC API)
    key_hash: str | None  # the API key, confirmed in the transaction
    idempotency_key: str | None
    fingerprint: str
    actor: Actor = SYSTEM  # who publishes, for the audit log: the batch runs apart from them


@dataclass(frozen=True, slots=True)
class Answered:
    """Committed (or a stored answer replayed): answer this."""

    status: int
    body: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Refused, nothing stored: raise it."""

    error: DomainError


@dataclass(frozen=True, slots=True)
class Alone:
    """Not decided here: run the one-request path, with what was prepared (if anything)."""

    prepared: Prepared | None


Outcome = Answered | Refused | Alone


def commit(
    uow: UnitOfWork, ctx: ServiceContext, batch: Sequence[tuple[Ticket, Prepared]]
) -> list[Outcome]:
    """Decide and write every ticket of `batch` in the caller's unit of work; the caller
    commits. One outcome per ticket, in order. As for one publish (issuing._issue_ahead),
    the credentials and their e-mails are written before the organizations' locks are
    taken (they change no balance); under them come one read of what the charges need, the
    charges, and the writes that count."""
    out: list[Outcome | None] = [None] * len(batch)
    replies: list[tuple[str, str, StoredReply]] = []  # to store, for Idempotency-Keys
    _confirm_keys(uow, batch, out)
    _replay(uow, batch, out)
    live = [i for i, o in enumerate(out) if o is None]
    if not live:
        return _outcomes(batch, out)
    uow.credentials.add_many([c for i in live for c in batch[i][1].creds], counted=False)
    real_now = ctx.clock.now()
    uow.outbox.add_many(
        [
            message
            for i in live
            if batch[i][0].notify
            for message in notifications.announce(
                batch[i][1].org,
                batch[i][1].group,
                batch[i][1].creds,
                notifications.PUBLISHED,
                real_now,
            )
        ]
    )
    tabs, admitted, hooked = _charged(uow, ctx, batch, live, out, replies)
    taken = {i for i, _ in admitted}
    _discard(uow, [batch[i][1] for i in live if i not in taken])
    uow.credentials.count_added([c for i, _ in admitted for c in batch[i][1].creds])
    charging.record(uow, tabs)
    told = [c for i, _ in admitted if batch[i][0].org_id in hooked for c in batch[i][1].creds]
    webhook_events.credentials(uow, PUBLISHED_EVENT, told, real_now, ctx.base_url)
    audit_log.record_as(
        uow,
        real_now,
        [(batch[i][0].actor, c) for i, _ in admitted for c in audited.published(batch[i][1].creds)],
    )
    for i, charged in admitted:
        ticket, ready = batch[i]
        status, body = ticket.answer(ready, charged)
        out[i] = Answered(status, body)
        if ticket.idempotency_key is not None:
            reply = StoredReply(ticket.fingerprint, status, body)
            replies.append((ticket.org_id, ticket.idempotency_key, reply))
    uow.idempotency.add_many(replies, real_now)
    return _outcomes(batch, out)


def _outcomes(batch: Sequence[tuple[Ticket, Prepared]], out: list[Outcome | None]) -> list[Outcome]:
    return [o if o is not None else Alone(batch[i][1]) for i, o in enumerate(out)]


def _discard(uow: UnitOfWork, refused: Sequence[Prepared]) -> None:
    """Undo the early writes of the requests the batch did not admit."""
    ids = [c.id for ready in refused for c in ready.creds]
    if not ids:
        return
    uow.outbox.discard_for(ids)
    by_org: dict[str, list[str]] = {}
    for ready in refused:
        by_org.setdefault(ready.org.id, []).extend(c.id for c in ready.creds)
    for org_id, cred_ids in by_org.items():
        uow.credentials.discard(org_id, cred_ids)


def _confirm_keys(
    uow: UnitOfWork, batch: Sequence[tuple[Ticket, Prepared]], out: list[Outcome | None]
) -> None:
    """As Mutation's check: a key revoked before this transaction began is refused."""
    hashes = [t.key_hash for t, _ in batch if t.key_hash is not None]
    opened = uow.api_keys.organizations_for(hashes) if hashes else {}
    for i, (t, _) in enumerate(batch):
        if t.key_hash is not None and opened.get(t.key_hash) != t.org_id:
            out[i] = Refused(Unauthorized("the API key is missing, malformed or revoked"))


def _replay(
    uow: UnitOfWork, batch: Sequence[tuple[Ticket, Prepared]], out: list[Outcome | None]
) -> None:
    """R13: a key answered before gets its answer back. A key met twice in the batch: the
    later request runs alone, after this batch, and so is answered as a retry."""
    first: dict[tuple[str, str], int] = {}
    for i, (t, _) in enumerate(batch):
        if out[i] is None and t.idempotency_key is not None:
            if (t.org_id, t.idempotency_key) in first:
                out[i] = Alone(batch[i][1])
            else:
                first[(t.org_id, t.idempotency_key)] = i
    stored = uow.idempotency.get_many(list(first)) if first else {}
    for pair, reply in stored.items():
        i = first[pair]
        try:
            status, body = replay(reply, batch[i][0].fingerprint)
        except IdempotencyKeyReused as exc:
            out[i] = Refused(exc)
        else:
            out[i] = Answered(status, body)


def _charged(
    uow: UnitOfWork,
    ctx: ServiceContext,
    batch: Sequence[tuple[Ticket, Prepared]],
    live: Sequence[int],
    out: list[Outcome | None],
    replies: list[tuple[str, str, StoredReply]],
) -> tuple[list[charging.Tab], list[tuple[int, int]], set[str]]:
    """Lock, read and price the `live` tickets: the tabs to record, the (ticket, credits)
    admitted, and the organizations with webhook endpoints."""
    wants = [(batch[i][0].org_id, batch[i][0].group_id, batch[i][1].year) for i in live]
    locked = uow.publishing.lock_many(wants)
    seated = uow.seats.open_keys_of(
        (batch[i][0].org_id, batch[i][1].year, c.recipient_key)
        for i in live
        for c in batch[i][1].creds
    )
    tabs: dict[tuple[str, int], charging.Tab] = {}
    admitted: list[tuple[int, int]] = []
    for i, want in zip(live, wants, strict=True):
        ticket, ready = batch[i]
        now_locked = locked.get(want)
        if (
            now_locked is None
            or now_locked.group is None
            or (ready.org, ready.group, ready.key_id)
            != (now_locked.org, now_locked.group, now_locked.key_id)
        ):
            _forget(ctx, ticket)
            out[i] = Alone(ready)
            continue
        group = now_locked.group
        if group.archived_at is not None or (
            group_settings.policy_of(group) is group_settings.DuplicatePolicy.REFUSE
        ):
            out[i] = Alone(ready)  # refused, or checked against the group, as it was
            continue
        sub = now_locked.subscription
        if sub.year_at(ready.now).index != ready.year:
            _forget(ctx, ticket)  # the subscription changed since it was read
            out[i] = Alone(ready)
            continue
        tab = tabs.get((ticket.org_id, ready.year))
        if tab is None:
            # now_locked.used is of ready.year, the one period_of asks for
            p = charging.period_of(sub, ready.now, _constant(now_locked.used))
            keys = {k for o, y, k in seated if (o, y) == (ticket.org_id, ready.year)}
            tab = tabs[(ticket.org_id, ready.year)] = charging.Tab(ticket.org_id, p, keys)
        elif sub.is_active(ready.now) != tab.period.account.active:
            out[i] = Alone(ready)  # the subscription ends between the two moments
            continue
        dept = group.department_id
        if dept is not None and dept not in tab.departments:
            # Read under the lock lock_many took, as the organization's counter was (R17).
            tab.know(uow.departments.accounts(ticket.org_id, ready.year, {dept}))
        events = [SeatEvent(c.id, c.recipient_key, SeatReason.PUBLISH, dept) for c in ready.creds]
        try:
            charged = tab.take(events, ready.now)
        except DomainError as exc:
            out[i] = _refused(ticket, exc, replies)
            refusal = webhook_events.refusal(exc)
            if refusal is not None:
                webhook_events.emit(uow, [refusal], ctx.clock.now())
        else:
            admitted.append((i, charged))
    hooked = {org_id for (org_id, _, _), got in locked.items() if got.hooked}
    return list(tabs.values()), admitted, hooked


def _constant(n: int) -> Callable[[int], int]:
    return lambda _: n


def _refused(
    ticket: Ticket, exc: DomainError, replies: list[tuple[str, str, StoredReply]]
) -> Outcome:
    """As Runner.once: a refusal is a first answer too, stored for its key."""
    if ticket.idempotency_key is None:
        return Refused(exc)
    status, body = ticket.refusal(exc)
    replies.append(
        (ticket.org_id, ticket.idempotency_key, StoredReply(ticket.fingerprint, status, body))
    )
    return Answered(status, body)


def _forget(ctx: ServiceContext, ticket: Ticket) -> None:
    if ctx.signing is not None:
        ctx.signing.forget(ticket.org_id, ticket.group_id)


class PublishQueue:
    """One process's tickets, committed in batches by one thread of its own. The thread
    starts with the first ticket and ends after `idle` seconds without one (the next
    ticket starts another). `submit` answers a future of the ticket's `Outcome`."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        runner: Runner,
        ctx: ServiceContext,
        *,
        max_batch: int = MAX_BATCH,
        idle: float = 5.0,
    ) -> None:
        self._uow = uow
        self._runner = runner
        self._ctx = ctx
        self._max = max_batch
        self._idle = idle
        # None: a wake-up call (close)
        self._tickets: queue.SimpleQueue[tuple[Ticket, Future[Outcome]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()  # over _thread: whether a thread will take tickets
        self.batches = 0  # committed so far, and the tickets in them (for tests and benches)
        self.tickets = 0

    def submit(self, ticket: Ticket) -> Future[Outcome]:
        done: Future[Outcome] = Future()
        self._tickets.put((ticket, done))
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="credo-group-commit", daemon=True
                )
                self._thread.start()
        return done

    def close(self) -> None:
        """Wait until what was submitted is committed and the thread has ended."""
        while True:
            with self._guard:
                thread = self._thread
            if thread is None:
                return
            self._idle = 0.0
            self._tickets.put(None)
            thread.join()

    def _run(self) -> None:
        while True:
            try:
                first = self._tickets.get(timeout=self._idle)
            except queue.Empty:
                with self._guard:
                    # A ticket put before this check is taken; one put after it finds no
                    # thread and starts one.
                    if self._tickets.empty():
                        self._thread = None
                        return
                continue
            if first is None:
                continue
            batch = [first]
            while len(batch) < self._max:
                try:
                    more = self._tickets.get_nowait()
                except queue.Empty:
                    break
                if more is not None:
                    batch.append(more)
            try:
                self._process(batch)
            except BaseException as exc:  # pragma: no cover - _process answers every ticket
                log.exception("group commit failed")
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)

    def _process(self, batch: list[tuple[Ticket, Future[Outcome]]]) -> None:
        ready: list[tuple[Ticket, Prepared]] = []
        waiting: list[Future[Outcome]] = []
        for ticket, done in batch:
            try:
                prepared = ticket.prepare(self._runner)
            except DomainError:
                prepared = None
            except Exception as exc:
                done.set_exception(exc)
                continue
            if prepared is None:
                done.set_result(Alone(None))
                continue
            ready.append((ticket, prepared))
            waiting.append(done)
        if not ready:
            return
        outcomes = self._commit(ready)
        if isinstance(outcomes, BaseException):
            for done in waiting:
                done.set_exception(outcomes)
            return
        self.batches += 1
        self.tickets += len(ready)
        for done, outcome in zip(waiting, outcomes, strict=True):
            done.set_result(outcome)

    def _commit(self, ready: list[tuple[Ticket, Prepared]]) -> list[Outcome] | BaseException:
        """The batch's outcomes; each ticket Alone when the transaction failed before its
        commit (nothing of it was written); the error when the commit itself failed (it
        may have landed: nothing may run again)."""
        try:
            with self._uow() as uow:
                outcomes = commit(uow, self._ctx, ready)
                try:
                    uow.commit()
                except Exception as exc:
                    return exc
                return outcomes
        except Exception:
            log.warning("a batch of %d publishes runs one by one", len(ready), exc_info=True)
            return [Alone(prepared) for _, prepared in ready]
