"""Writing and reading the audit log of staff actions (domain/audit_log.py).

Who acts is known where a request is authenticated, far from the use case that records
the change; it travels in a context variable holding one mutable slot per request (set by
the API's ActorMiddleware, filled by the API key or dashboard session that authenticates
it), so every use case records its actor without a parameter threaded through them all.
Work that runs apart from its request (the group commit's batches) passes the actor it
captured explicitly. Outside any request, the actor is SYSTEM: the worker, jobs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from credo.domain.audit_log import ACTIONS, SYSTEM, Actor, AuditEntry, scrub
from credo.ids import new_ids
from credo.services.audit_ports import LogQuery
from credo.services.ports import UnitOfWork


@dataclass(slots=True)
class ActorSlot:
    actor: Actor = SYSTEM


_SLOT: ContextVar[ActorSlot | None] = ContextVar("credo_actor", default=None)


def open_slot(source: str | None) -> ActorSlot:
    """A request's slot, its actor unknown until authentication fills it in."""
    slot = ActorSlot(SYSTEM.with_source(source))
    _SLOT.set(slot)
    return slot


def act_as(actor: Actor) -> None:
    """The current request (or command) acts as `actor`; keeps the request's source."""
    slot = _SLOT.get()
    if slot is None:
        _SLOT.set(ActorSlot(actor))
    else:
        slot.actor = actor if actor.source else actor.with_source(slot.actor.source)


@contextlib.contextmanager
def acting(actor: Actor) -> Iterator[None]:
    token = _SLOT.set(ActorSlot(actor))
    try:
        yield
    finally:
        _SLOT.reset(token)


def current_actor() -> Actor:
    slot = _SLOT.get()
    return SYSTEM if slot is None else slot.actor


@dataclass(frozen=True, slots=True)
class Change:
    """One entry to write, its actor and time filled in by `record`."""

    organization_id: str
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record(
    uow: UnitOfWork,
    now: datetime,
    changes: Sequence[Change],
    *,
    actor: Actor | None = None,
) -> None:
    """Write `changes` in the caller's transaction: they commit or roll back with it."""
    who = actor or current_actor()
    record_as(uow, now, [(who, c) for c in changes])


def record_as(uow: UnitOfWork, now: datetime, changes: Sequence[tuple[Actor, Change]]) -> None:
    """`record`, each change with its own actor (a group commit's batch): one write."""
    if not changes:
        return
    ids = new_ids("log", len(changes), now)
    entries = []
    for entry_id, (who, c) in zip(ids, changes, strict=True):
        if c.action not in ACTIONS:  # pragma: no cover - a programming error
            raise ValueError(f"unknown audit action {c.action!r}")
        entries.append(
            AuditEntry(
                entry_id,
                c.organization_id,
                now,
                who,
                c.action,
                c.target_type,
                c.target_id,
                None if c.before is None else scrub(c.before),
                None if c.after is None else scrub(c.after),
            )
        )
    uow.audit_log.add_many(entries)


def one(
    uow: UnitOfWork,
    now: datetime,
    org_id: str,
    action: str,
    target_type: str,
    target_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    record(uow, now, [Change(org_id, action, target_type, target_id, before, after)])


def page(
    uow: UnitOfWork, org_id: str, q: LogQuery, *, limit: int, cursor: str | None = None
) -> tuple[list[AuditEntry], str | None]:
    """A page of entries, newest first, and the cursor of the next (None: the last)."""
    rows = uow.audit_log.page(org_id, q, limit=limit + 1, before_id=cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def entry_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat().replace("+00:00", "Z"),
        "actor": {
            "type": e.actor.kind.value,
            "id": e.actor.id,
            "label": e.actor.label,
            "ip_address": e.actor.source,
        },
        "action": e.action,
        "description": ACTIONS.get(e.action, e.action),
        "target": {"type": e.target_type, "id": e.target_id},
        "before": e.before,
        "after": e.after,
    }
