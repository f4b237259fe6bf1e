"""Webhook endpoints and their deliveries: owners only.

As on the API keys page, a new or rotated secret is shown in the answer to the post itself
(201 or 200), never after a redirect: it is kept only sealed, and shown this once. Other
posts check the CSRF token first and send the browser back with a notice of a fixed key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request, Response

from credo.domain import webhooks as rules
from credo.domain.accounts import Permission
from credo.domain.errors import InvalidInput
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.api.pages import Cursor
from credo.entrypoints.dashboard.members_routes import Csrf, _problem_text
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.services.people.accounts import Member
from credo.services.ports import UnitOfWork
from credo.services.webhooks import endpoints
from credo.services.webhooks.endpoints import Webhooking

router = APIRouter(include_in_schema=False)
T = TypeVar("T")
PAGE = 50

NOTICES = {
    "tested": "A test event is on its way; it shows below once a worker has sent it.",
    "enabled": "Enabled: events are sent to it again, those that waited first.",
    "disabled": "Disabled: events are kept for it and sent once it is enabled again.",
    "deleted": "Endpoint deleted, with its deliveries.",
    "resent": "The delivery is on its way again, under the same id.",
}


def _hooks(app: AppDep) -> Webhooking:
    if app.webhooking is None:  # pragma: no cover - bootstrap always builds it
        raise RuntimeError("webhooks are not set up in this process")
    return app.webhooking


def _as_owner(member: Member, action: Callable[[UnitOfWork, str], T]) -> Callable[[UnitOfWork], T]:
    def run(uow: UnitOfWork) -> T:
        member.require(Permission.WEBHOOKS)
        return action(uow, member.organization.id)

    return run


def _list_page(
    request: Request,
    app: AppDep,
    member: Member,
    status: int = 200,
    **values: Any,
) -> Response:
    hooks = app.runner.read(_as_owner(member, endpoints.list_all))
    defaults: dict[str, Any] = {
        "notice": None,
        "error": None,
        "created": None,
        "form": {"url": "", "description": "", "events": ["credential.published"]},
    }
    return page(
        request,
        app,
        member,
        "app/webhooks.html",
        status,
        hooks=hooks,
        event_types=rules.EVENT_TYPES,
        **(defaults | values),
    )


@router.get("/app/webhooks")
def webhooks_list(
    request: Request, member: MemberDep, app: AppDep, notice: str | None = None
) -> Response:
    return _list_page(request, app, member, notice=NOTICES.get(notice or ""))


@router.post("/app/webhooks")
def webhooks_create(
    request: Request,
    member: MemberDep,
    app: AppDep,
    csrf: Csrf = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
    events: Annotated[list[str] | None, Form(max_length=60)] = None,
) -> Response:
    check_csrf(member, csrf)
    chosen = list(events or [])[: len(rules.EVENT_TYPES) + 1]
    w = _hooks(app)
    try:
        made = app.runner.write(
            _as_owner(
                member,
                lambda uow, org_id: endpoints.create(
                    uow, w, org_id, url.strip(), chosen, description.strip() or None
                ),
            )
        )
    except InvalidInput as exc:
        form = {"url": url, "description": description, "events": chosen}
        return _list_page(request, app, member, 422, error=_problem_text(exc), form=form)
    return _list_page(request, app, member, 201, created=made)


def _detail_page(
    request: Request,
    app: AppDep,
    member: Member,
    webhook_id: str,
    status: int = 200,
    *,
    cursor: str | None = None,
    **values: Any,
) -> Response:
    object_id(webhook_id)

    def read(uow: UnitOfWork, org_id: str) -> tuple[rules.Webhook, list[rules.Delivery]]:
        hook = endpoints.get(uow, org_id, webhook_id)
        found = endpoints.deliveries(uow, org_id, webhook_id, after=cursor, limit=PAGE + 1)
        return hook, found

    hook, found = app.runner.read(_as_owner(member, read))
    defaults: dict[str, Any] = {"notice": None, "error": None, "secret": None}
    return page(
        request,
        app,
        member,
        "app/webhook.html",
        status,
        hook=hook,
        deliveries=found[:PAGE],
        next_cursor=found[PAGE - 1].id if len(found) > PAGE else None,
        **(defaults | values),
    )


@router.get("/app/webhooks/{webhook_id}")
def webhook_detail(
    request: Request,
    member: MemberDep,
    app: AppDep,
    webhook_id: str,
    notice: str | None = None,
    cursor: Cursor = None,
) -> Response:
    return _detail_page(
        request, app, member, webhook_id, cursor=cursor, notice=NOTICES.get(notice or "")
    )


def _post(
    member: Member,
    app: AppDep,
    csrf: str,
    webhook_id: str,
    action: Callable[[UnitOfWork, str], object],
) -> None:
    check_csrf(member, csrf)
    object_id(webhook_id)
    app.runner.write(_as_owner(member, action))


@router.post("/app/webhooks/{webhook_id}/test")
def webhook_test(member: MemberDep, app: AppDep, webhook_id: str, csrf: Csrf = "") -> Response:
    w = _hooks(app)
    _post(member, app, csrf, webhook_id, lambda uow, o: endpoints.send_test(uow, w, o, webhook_id))
    return see_other(f"/app/webhooks/{webhook_id}?notice=tested")


@router.post("/app/webhooks/{webhook_id}/enabled")
def webhook_enabled(
    member: MemberDep,
    app: AppDep,
    webhook_id: str,
    csrf: Csrf = "",
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    on = enabled == "true"
    changes = endpoints.Changes(enabled=on)
    w = _hooks(app)
    _post(
        member,
        app,
        csrf,
        webhook_id,
        lambda uow, o: endpoints.change(uow, w, o, webhook_id, changes),
    )
    return see_other(f"/app/webhooks/{webhook_id}?notice=" + ("enabled" if on else "disabled"))


@router.post("/app/webhooks/{webhook_id}/rotate")
def webhook_rotate(
    request: Request, member: MemberDep, app: AppDep, webhook_id: str, csrf: Csrf = ""
) -> Response:
    check_csrf(member, csrf)
    object_id(webhook_id)
    w = _hooks(app)
    _, secret = app.runner.write(
        _as_owner(member, lambda uow, o: endpoints.rotate(uow, w, o, webhook_id))
    )
    return _detail_page(request, app, member, webhook_id, secret=secret)


@router.post("/app/webhooks/{webhook_id}/delete")
def webhook_delete(member: MemberDep, app: AppDep, webhook_id: str, csrf: Csrf = "") -> Response:
    _post(
        member,
        app,
        csrf,
        webhook_id,
        lambda uow, o: endpoints.delete(uow, o, webhook_id, app.clock.now()),
    )
    return see_other("/app/webhooks?notice=deleted")


@router.get("/app/webhooks/{webhook_id}/deliveries/{delivery_id}")
def delivery_detail(
    request: Request, member: MemberDep, app: AppDep, webhook_id: str, delivery_id: str
) -> Response:
    object_id(webhook_id)
    object_id(delivery_id)
    found, attempts = app.runner.read(
        _as_owner(member, lambda uow, o: endpoints.delivery(uow, o, webhook_id, delivery_id))
    )
    return page(
        request,
        app,
        member,
        "app/webhook_delivery.html",
        delivery=found,
        attempts=attempts,
        payload=_pretty(found.payload),
    )


@router.post("/app/webhooks/{webhook_id}/deliveries/{delivery_id}/resend")
def delivery_resend(
    member: MemberDep, app: AppDep, webhook_id: str, delivery_id: str, csrf: Csrf = ""
) -> Response:
    object_id(delivery_id)
    w = _hooks(app)
    _post(
        member,
        app,
        csrf,
        webhook_id,
        lambda uow, o: endpoints.resend(uow, w, o, webhook_id, delivery_id),
    )
    return see_other(f"/app/webhooks/{webhook_id}?notice=resent")


def _pretty(payload: str) -> str:
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload
