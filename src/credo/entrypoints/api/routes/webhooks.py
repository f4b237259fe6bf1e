"""Webhooks: endpoints an organization registers (what Zapier-style REST hooks subscribe and
unsubscribe through), their deliveries, and sending one again."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from credo.domain.webhooks import Attempt, Delivery, Webhook
from credo.entrypoints.api.context import AppDep, Mutation, OrgId, OrgMutation, Outcome, object_id
from credo.entrypoints.api.pages import Cursor, Limit, page
from credo.entrypoints.api.render import rfc3339
from credo.entrypoints.api.schemas import WebhookIn, WebhookPatch
from credo.services.ports import UnitOfWork
from credo.services.webhooks import endpoints
from credo.services.webhooks.endpoints import Webhooking

router = APIRouter(tags=["webhooks"])


def _when(at: Any) -> str | None:
    return rfc3339(at) if at is not None else None


def webhook(w: Webhook) -> dict[str, Any]:
    return {
        "id": w.id,
        "url": w.url,
        "events": list(w.events),
        "description": w.description,
        "enabled": w.enabled,
        "disabled_at": _when(w.disabled_at),
        "disabled_reason": w.disabled_reason,
        "failing_since": _when(w.failing_since),
        "secret_rotated_at": _when(w.secret_rotated_at),
        "previous_secret_expires_at": _when(w.previous_secret_expires_at),
        "created_at": rfc3339(w.created_at),
        "updated_at": rfc3339(w.updated_at),
    }


def delivery(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "webhook_id": d.webhook_id,
        "event": d.event_type,
        "state": d.state.value,
        "attempts": d.attempts,
        "created_at": rfc3339(d.created_at),
        "next_attempt_at": _when(d.next_attempt_at) if d.state.value == "pending" else None,
        "last_attempt_at": _when(d.last_attempt_at),
        "last_status_code": d.last_status_code,
        "last_duration_ms": d.last_duration_ms,
        "last_response": d.last_response,
        "last_error": d.last_error,
    }


def attempt(a: Attempt) -> dict[str, Any]:
    return {
        "at": rfc3339(a.at),
        "status_code": a.status_code,
        "duration_ms": a.duration_ms,
        "response": a.response,
        "error": a.error,
    }


def _hooks(m: Mutation) -> Webhooking:
    if m.app.webhooking is None:  # pragma: no cover - bootstrap always builds it
        raise RuntimeError("webhooks are not set up in this process")
    return m.app.webhooking


@router.post("/v1/webhooks", status_code=201)
def create_webhook(body: WebhookIn, m: OrgMutation) -> Response:
    w = _hooks(m)

    def action(uow: UnitOfWork) -> Outcome:
        made = endpoints.create(uow, w, m.scope, body.url, body.events, body.description)
        return 201, {"webhook": {**webhook(made.webhook), "secret": made.secret}}

    return m.run_unstored(action)


@router.get("/v1/webhooks")
def list_webhooks(org_id: OrgId, app: AppDep) -> dict[str, Any]:
    hooks = app.runner.read(lambda uow: endpoints.list_all(uow, org_id))
    return {"webhooks": [webhook(h) for h in hooks]}


@router.get("/v1/webhooks/{webhook_id}")
def get_webhook(webhook_id: str, org_id: OrgId, app: AppDep) -> dict[str, Any]:
    object_id(webhook_id)
    return {"webhook": webhook(app.runner.read(lambda uow: endpoints.get(uow, org_id, webhook_id)))}


@router.patch("/v1/webhooks/{webhook_id}")
def update_webhook(webhook_id: str, body: WebhookPatch, m: OrgMutation) -> Response:
    object_id(webhook_id)
    w = _hooks(m)
    given = body.model_fields_set
    changes = endpoints.Changes(
        url=body.url,
        events=body.events,
        description=body.description,
        description_given="description" in given,
        enabled=body.enabled,
    )

    def action(uow: UnitOfWork) -> Outcome:
        return 200, {"webhook": webhook(endpoints.change(uow, w, m.scope, webhook_id, changes))}

    return m.run(action)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, m: OrgMutation) -> Response:
    object_id(webhook_id)

    def action(uow: UnitOfWork) -> Outcome:
        endpoints.delete(uow, m.scope, webhook_id, m.app.clock.now())
        return 204, None

    return m.run(action)


@router.post("/v1/webhooks/{webhook_id}/rotate-secret")
def rotate_secret(webhook_id: str, m: OrgMutation) -> Response:
    """A new secret; the previous one signs beside it for 24 hours."""
    object_id(webhook_id)
    w = _hooks(m)

    def action(uow: UnitOfWork) -> Outcome:
        hook, secret = endpoints.rotate(uow, w, m.scope, webhook_id)
        return 200, {"webhook": {**webhook(hook), "secret": secret}}

    return m.run_unstored(action)


@router.post("/v1/webhooks/{webhook_id}/test", status_code=202)
def send_test(webhook_id: str, m: OrgMutation) -> Response:
    object_id(webhook_id)
    w = _hooks(m)

    def action(uow: UnitOfWork) -> Outcome:
        return 202, {"delivery": delivery(endpoints.send_test(uow, w, m.scope, webhook_id))}

    return m.run(action)


@router.get("/v1/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: str,
    org_id: OrgId,
    app: AppDep,
    cursor: Annotated[Cursor, Query()] = None,
    limit: Annotated[Limit, Query()] = 100,
) -> dict[str, Any]:
    """Newest first; `cursor` is the last id of the previous page."""
    object_id(webhook_id)
    rows = app.runner.read(
        lambda uow: endpoints.deliveries(uow, org_id, webhook_id, after=cursor, limit=limit + 1)
    )
    return page("deliveries", [delivery(d) for d in rows], limit)


@router.get("/v1/webhooks/{webhook_id}/deliveries/{delivery_id}")
def get_delivery(webhook_id: str, delivery_id: str, org_id: OrgId, app: AppDep) -> dict[str, Any]:
    object_id(webhook_id)
    object_id(delivery_id)
    found, attempts = app.runner.read(
        lambda uow: endpoints.delivery(uow, org_id, webhook_id, delivery_id)
    )
    return {
        "delivery": {
            **delivery(found),
            "payload": found.payload,
            "attempts_log": [attempt(a) for a in attempts],
        }
    }


@router.post("/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", status_code=202)
def resend_delivery(webhook_id: str, delivery_id: str, m: OrgMutation) -> Response:
    object_id(webhook_id)
    object_id(delivery_id)
    w = _hooks(m)

    def action(uow: UnitOfWork) -> Outcome:
        d = endpoints.resend(uow, w, m.scope, webhook_id, delivery_id)
        return 202, {"delivery": delivery(d)}

    return m.run(action)
