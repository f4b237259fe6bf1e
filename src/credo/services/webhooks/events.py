"""Events, written in the transaction of the change they tell of: one delivery row per
subscribed endpoint, holding the body exactly as it will be sent. Nothing is sent for a
change that rolls back, and nothing is lost once it commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from credo.domain.entities import Credential
from credo.domain.errors import InsufficientCredits
from credo.domain.webhooks import Delivery, DeliveryState
from credo.ids import new_ids
from credo.services.credentials.representation import credential as credential_json
from credo.services.ports import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Event:
    organization_id: str
    type: str
    data: dict[str, Any]


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def body(event_type: str, at: datetime, data: dict[str, Any]) -> str:
    return orjson.dumps({"type": event_type, "timestamp": rfc3339(at), "data": data}).decode()


def emit(
    uow: UnitOfWork, events: Sequence[Event], now: datetime, *, due: datetime | None = None
) -> int:
    """Write a delivery for every endpoint subscribed to each event, in the caller's
    transaction; answers how many. One read for all the events' organizations. `due`: when
    the first attempt may go (default `now`; a sandbox's test clock may stand ahead of the
    workers' real time)."""
    if not events:
        return 0
    endpoints = uow.webhooks.subscribers([e.organization_id for e in events])
    if not endpoints:
        return 0
    by_org: dict[str, list[Any]] = {}
    for hook in endpoints:
        by_org.setdefault(hook.organization_id, []).append(hook)
    pairs = [
        (event, hook)
        for event in events
        for hook in by_org.get(event.organization_id, ())
        if hook.wants(event.type)
    ]
    if not pairs:
        return 0
    ids = new_ids("msg", len(pairs), now)
    uow.webhooks.add_deliveries(
        [
            Delivery(
                id=msg_id,
                webhook_id=hook.id,
                organization_id=event.organization_id,
                event_type=event.type,
                payload=body(event.type, now, event.data),
                created_at=now,
                state=DeliveryState.PENDING,
                next_attempt_at=due or now,
            )
            for msg_id, (event, hook) in zip(ids, pairs, strict=True)
        ]
    )
    return len(pairs)


def credential_events(event_type: str, creds: Iterable[Credential], base_url: str) -> list[Event]:
    """`data` holds what `GET /v1/credentials/{id}` answers."""
    return [
        Event(c.organization_id, event_type, {"credential": credential_json(c, base_url)})
        for c in creds
    ]


def credentials(
    uow: UnitOfWork,
    event_type: str,
    creds: Sequence[Credential],
    now: datetime,
    base_url: str,
) -> None:
    emit(uow, credential_events(event_type, creds, base_url), now)


def refusal(exc: Exception) -> Event | None:
    """The `credits.publish_refused` event of a 402, if `exc` is one whose organization is
    known. It is written in a transaction of its own: the refused one rolls back."""
    if not isinstance(exc, InsufficientCredits) or exc.organization_id is None:
        return None
    return Event(
        exc.organization_id,
        "credits.publish_refused",
        {
            "problem": {
                "code": exc.code,
                "status": exc.status,
                "title": exc.title,
                "detail": exc.detail,
                "credits_required": exc.credits_required,
                "credits_remaining": exc.credits_remaining,
                # A department's cap (R17): which department refused it.
                **({"department": exc.fields["department"]} if "department" in exc.fields else {}),
            }
        },
    )


def expired_sweep(uow_factory: UnitOfWorkFactory, now: datetime, base_url: str) -> int:
    """`credential.expired` for every credential whose expiry date has passed since each
    subscribed endpoint's mark (an endpoint hears of expiries from the day it was made
    on), one endpoint per transaction; answers how many events were written. The sweep is
    one job at a time (a singleton), so no mark is moved by two workers at once."""
    today = now.date()
    with uow_factory(write=False) as uow:
        marks = uow.webhooks.expiry_marks()
    written = 0
    for webhook_id, org_id, through in marks:
        since = through or today
        if since >= today:
            continue
        with uow_factory() as uow:
            creds = uow.webhooks.expired(org_id, since, today)
            ids = new_ids("msg", len(creds), now)
            uow.webhooks.add_deliveries(
                [
                    Delivery(
                        id=msg_id,
                        webhook_id=webhook_id,
                        organization_id=org_id,
                        event_type="credential.expired",
                        payload=body(
                            "credential.expired", now, {"credential": credential_json(c, base_url)}
                        ),
                        created_at=now,
                        next_attempt_at=now,
                    )
                    for msg_id, c in zip(ids, creds, strict=True)
                ]
            )
            uow.webhooks.mark_expired_through(webhook_id, today)
            uow.commit()
        written += len(creds)
    return written
