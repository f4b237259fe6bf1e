"""Runs a use case in one unit of work and commits once; replays Idempotency-Key retries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from credo.clock import Clock
from credo.domain.entities import StoredReply
from credo.domain.errors import DomainError, IdempotencyKeyReused, InsufficientCredits
from credo.services.ports import ConnectionLost, DuplicateRequest, UnitOfWork, UnitOfWorkFactory
from credo.services.webhooks import events as webhook_events

T = TypeVar("T")
OPERATOR_SCOPE = "_operator"


def fingerprint(method: str, path: str, body: bytes) -> str:
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


class Runner:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    def read(self, action: Callable[[UnitOfWork], T]) -> T:
        def run() -> T:
            with self._uow(write=False) as uow:
                return action(uow)

        return _again_if_lost(run)

    def write(
        self, action: Callable[[UnitOfWork], T], check: Callable[[UnitOfWork], None] | None = None
    ) -> T:
        """`check` runs first in the transaction (the caller's key, say); what it raises is
        raised as is."""

        def run() -> T:
            with self._uow() as uow:
                if check is not None:
                    check(uow)
                try:
                    result = action(uow)
                except InsufficientCredits as exc:
                    refused = exc
                else:
                    uow.commit()
                    return result
            self._tell_refusal(refused)
            raise refused

        return _again_if_lost(run)

    def _tell_refusal(self, exc: DomainError) -> None:
        """A refused publish (402) is a webhook event, written once its own transaction
        has rolled back."""
        event = webhook_events.refusal(exc)
        if event is None:
            return
        with self._uow() as uow:
            webhook_events.emit(uow, [event], self._clock.now())
            uow.commit()

    def once(
        self,
        scope: str,
        key: str,
        fp: str,
        action: Callable[[UnitOfWork], tuple[int, str]],
        refusal: Callable[[DomainError], tuple[int, str]],
        check: Callable[[UnitOfWork], None] | None = None,
    ) -> tuple[int, str]:
        """R13: the first answer for (scope, key) is stored in the same transaction as the
        change it describes; a retry gets that answer back and changes nothing. A refusal
        (a DomainError, rendered by `refusal`) is a first answer too: it changed nothing,
        and it is stored on its own so that a retry is refused alike."""
        for _ in range(3):
            try:
                return _again_if_lost(lambda: self._once(scope, key, fp, action, refusal, check))
            except DuplicateRequest:
                # A concurrent twin committed first; our transaction rolled back. Replay it.
                continue
        with self._uow(write=False) as uow:
            stored = uow.idempotency.get(scope, key)
        if stored is None:  # pragma: no cover - the twin's row cannot vanish
            raise RuntimeError("idempotency record missing after a duplicate")
        return replay(stored, fp)

    def _once(
        self,
        scope: str,
        key: str,
        fp: str,
        action: Callable[[UnitOfWork], tuple[int, str]],
        refusal: Callable[[DomainError], tuple[int, str]],
        check: Callable[[UnitOfWork], None] | None,
    ) -> tuple[int, str]:
        with self._uow() as uow:
            if check is not None:  # before the replay too: a revoked key gets no answer
                check(uow)
            stored = uow.idempotency.get(scope, key)
            if stored is not None:
                return replay(stored, fp)
            try:
                status, body = action(uow)
            except IdempotencyKeyReused:
                raise
            except DomainError as exc:
                refused = exc
                status, body = refusal(exc)
            else:
                uow.idempotency.add(scope, key, StoredReply(fp, status, body), self._clock.now())
                uow.commit()
                return status, body
        # Refused: the action's transaction rolled back; the refusal is recorded apart.
        with self._uow() as uow:
            uow.idempotency.add(scope, key, StoredReply(fp, status, body), self._clock.now())
            event = webhook_events.refusal(refused)
            if event is not None:
                webhook_events.emit(uow, [event], self._clock.now())
            uow.commit()
        return status, body


def _again_if_lost(run: Callable[[], T]) -> T:
    """Run a unit of work; once more if its connection was found dead before the commit.
    The pool checks no connection before lending it (a round trip on every transaction),
    so the first use after a database restart finds the dead ones."""
    try:
        return run()
    except ConnectionLost:
        return run()


def replay(stored: StoredReply, fp: str) -> tuple[int, str]:
    if stored.fingerprint != fp:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request; use a new key"
        )
    return stored.status_code, stored.body
