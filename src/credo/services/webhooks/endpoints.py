"""Managing an organization's webhook endpoints: create (the secret is shown then and only
then), change, rotate the secret, delete, send a test event, and look at deliveries."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from credo.clock import Clock
from credo.domain import webhooks as rules
from credo.domain.audit_log import changes as audit_changes
from credo.domain.errors import InvalidInput, NotFound
from credo.domain.webhooks import Attempt, Delivery, Webhook
from credo.ids import new_id
from credo.services import audit_log
from credo.services.ports import UnitOfWork
from credo.services.webhooks import events
from credo.services.webhooks.ports import Sealer

SECRET_BYTES = 24


@dataclass(frozen=True, slots=True)
class Webhooking:
    """What the webhook services need beside a unit of work, built once by bootstrap."""

    clock: Clock
    sealer: Sealer
    allow_http: bool  # plain http endpoints: in development only
    allow_private: bool  # CREDO_WEBHOOK_ALLOW_PRIVATE_NETWORKS


@dataclass(frozen=True, slots=True)
class Created:
    webhook: Webhook
    secret: str  # whsec_...: shown once


@dataclass(frozen=True, slots=True)
class Changes:
    url: str | None = None
    events: Sequence[str] | None = None
    description: str | None = None
    description_given: bool = False
    enabled: bool | None = None


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def _checked(
    w: Webhooking, url: str | None, event_types: Sequence[str] | None, description: str | None
) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if url is not None:
        try:
            rules.check_url(url, allow_http=w.allow_http, allow_private=w.allow_private)
        except rules.BadUrl as exc:
            errors.append({"field": "url", "message": str(exc)})
    if event_types is not None:
        if not event_types:
            errors.append({"field": "events", "message": "name at least one event"})
        for bad in rules.unknown_events(list(event_types)):
            errors.append(
                {
                    "field": "events",
                    "message": f"unknown event {bad!r}; known: {', '.join(rules.EVENT_TYPES)}",
                }
            )
    if description is not None and len(description) > rules.MAX_DESCRIPTION:
        errors.append(
            {"field": "description", "message": f"at most {rules.MAX_DESCRIPTION} characters"}
        )
    return errors


def _refuse(errors: list[dict[str, str]]) -> InvalidInput:
    return InvalidInput(errors[0]["message"], errors)


def create(
    uow: UnitOfWork,
    w: Webhooking,
    org_id: str,
    url: str,
    event_types: Sequence[str],
    description: str | None,
) -> Created:
    errors = _checked(w, url, event_types, description)
    if errors:
        raise _refuse(errors)
    if uow.webhooks.count(org_id) >= rules.MAX_ENDPOINTS:
        raise _refuse(
            [
                {
                    "field": "url",
                    "message": f"an organization has at most {rules.MAX_ENDPOINTS} "
                    "webhook endpoints; delete one first",
                }
            ]
        )
    now = w.clock.now()
    hook = Webhook(
        id=new_id("whk", now),
        organization_id=org_id,
        url=url,
        events=tuple(dict.fromkeys(event_types)),
        description=description,
        created_at=now,
        updated_at=now,
    )
    secret = new_secret()
    uow.webhooks.add(hook, w.sealer.seal(secret.encode(), hook.id))
    _audit(uow, now, "webhook.created", None, hook)
    return Created(hook, secret)


def _shown(url: str) -> str:
    """The URL as the audit log keeps it: receivers often carry a token in its user part,
    path (chat services' incoming hooks) or query, so only the host it points at is kept,
    with a digest that tells two URLs apart without revealing either."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return urlunsplit((parts.scheme, host, "/…", "", "")) + f" (sha256 {digest}…)"


def _state(h: Webhook) -> dict[str, object]:
    return {
        "url": _shown(h.url),
        "events": list(h.events),
        "description": h.description,
        "enabled": h.enabled,
    }


def _audit(
    uow: UnitOfWork, now: datetime, action: str, before: Webhook | None, after: Webhook | None
) -> None:
    hook = after or before
    assert hook is not None
    old = None if before is None else _state(before)
    new = None if after is None else _state(after)
    if old is not None and new is not None:
        old, new = audit_changes(old, new)
    audit_log.one(uow, now, hook.organization_id, action, "webhook", hook.id, old, new)


def get(uow: UnitOfWork, org_id: str, webhook_id: str) -> Webhook:
    hook = uow.webhooks.get(org_id, webhook_id)
    if hook is None:
        raise NotFound(f"no webhook {webhook_id}")
    return hook


def list_all(uow: UnitOfWork, org_id: str) -> list[Webhook]:
    return uow.webhooks.of(org_id)


def change(
    uow: UnitOfWork, w: Webhooking, org_id: str, webhook_id: str, changes: Changes
) -> Webhook:
    hook = get(uow, org_id, webhook_id)
    errors = _checked(w, changes.url, changes.events, changes.description)
    if errors:
        raise _refuse(errors)
    now = w.clock.now()
    changed = replace(
        hook,
        url=changes.url if changes.url is not None else hook.url,
        events=tuple(dict.fromkeys(changes.events)) if changes.events is not None else hook.events,
        description=changes.description if changes.description_given else hook.description,
        updated_at=now,
    )
    if changes.enabled is True and not hook.enabled:
        # Enabled again: its failures so far no longer count toward disabling it.
        changed = replace(changed, disabled_at=None, disabled_reason=None, failing_since=None)
    elif changes.enabled is False and hook.enabled:
        changed = replace(changed, disabled_at=now, disabled_reason="disabled by a person")
    uow.webhooks.update(changed)
    _audit(uow, now, "webhook.updated", hook, changed)
    return changed


def rotate(uow: UnitOfWork, w: Webhooking, org_id: str, webhook_id: str) -> tuple[Webhook, str]:
    """A new secret; the current one keeps signing beside it for SECRET_OVERLAP."""
    hook = get(uow, org_id, webhook_id)
    current = uow.webhooks.secrets([hook.id])[hook.id]
    now = w.clock.now()
    secret = new_secret()
    uow.webhooks.set_secret(
        hook.id,
        w.sealer.seal(secret.encode(), hook.id),
        current.secret,
        now + rules.SECRET_OVERLAP,
        now,
    )
    audit_log.one(uow, now, org_id, "webhook.secret_rotated", "webhook", hook.id)
    return get(uow, org_id, webhook_id), secret


def delete(uow: UnitOfWork, org_id: str, webhook_id: str, now: datetime) -> None:
    hook = get(uow, org_id, webhook_id)
    uow.webhooks.delete(org_id, webhook_id)
    _audit(uow, now, "webhook.deleted", hook, None)


def send_test(uow: UnitOfWork, w: Webhooking, org_id: str, webhook_id: str) -> Delivery:
    """A `webhook.test` event for this endpoint alone (subscribed or not, enabled or not:
    a disabled endpoint's test waits until it is enabled again)."""
    hook = get(uow, org_id, webhook_id)
    now = w.clock.now()
    delivery = Delivery(
        id=new_id("msg", now),
        webhook_id=hook.id,
        organization_id=org_id,
        event_type=rules.TEST_EVENT,
        payload=events.body(rules.TEST_EVENT, now, {"webhook": {"id": hook.id, "url": hook.url}}),
        created_at=now,
        next_attempt_at=now,
    )
    uow.webhooks.add_deliveries([delivery])
    return delivery


def deliveries(
    uow: UnitOfWork, org_id: str, webhook_id: str, *, after: str | None, limit: int
) -> list[Delivery]:
    get(uow, org_id, webhook_id)
    return uow.webhooks.deliveries(org_id, webhook_id, after=after, limit=limit)


def delivery(
    uow: UnitOfWork, org_id: str, webhook_id: str, delivery_id: str
) -> tuple[Delivery, list[Attempt]]:
    found = uow.webhooks.delivery(org_id, delivery_id)
    if found is None or found.webhook_id != webhook_id:
        raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id}")
    return found, uow.webhooks.attempts(org_id, delivery_id)


def resend(
    uow: UnitOfWork, w: Webhooking, org_id: str, webhook_id: str, delivery_id: str
) -> Delivery:
    """Send again, with the same `webhook-id` and body: receivers that saw it skip it."""
    delivery(uow, org_id, webhook_id, delivery_id)
    uow.webhooks.resend(org_id, delivery_id, w.clock.now())
    found = uow.webhooks.delivery(org_id, delivery_id)
    assert found is not None
    return found
