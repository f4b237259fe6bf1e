"""Credentials: issue one or a bulk, publish drafts, edit, delete, read (credits.md R1..R12)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query, Response
from pydantic import StringConstraints

from credo.bootstrap import App
from credo.domain.credentials import Status
from credo.domain.entities import Credential
from credo.entrypoints.api import render
from credo.entrypoints.api.context import (
    AppDep,
    CallerDep,
    Mutation,
    Outcome,
    ScopedMutation,
    object_id,
)
from credo.entrypoints.api.pages import Cursor, Limit, page
from credo.entrypoints.api.schemas import (
    BulkIn,
    CredentialIn,
    CredentialPatch,
    PublishIn,
    RevokeIn,
)
from credo.ids import ID_PATTERN
from credo.services.credentials import issuing, key_scope, status
from credo.services.credentials.issuing import Changes, Issued, NewCredential, Preview
from credo.services.ports import UnitOfWork

router = APIRouter(prefix="/v1/credentials", tags=["credentials"])


def _one(result: Issued | Preview, base_url: str, created: bool = False) -> Outcome:
    if isinstance(result, Preview):
        return 200, render.preview(result)
    return (201 if created else 200), {
        "credential": render.credential(result.credentials[0], base_url),
        "credits_charged": result.credits_charged,
    }


def _group_id(value: str) -> str:
    """An unknown group is a 404 whatever its spelling."""
    return object_id(value)


@router.post("", status_code=201)
async def create_credential(body: CredentialIn, m: ScopedMutation, app: AppDep) -> Response:
    return await create(body, m, app)


async def create(body: CredentialIn, m: Mutation, app: App) -> Response:
    """POST /v1/credentials, once its body is parsed and its caller known (also served by
    api.hot without FastAPI's routing)."""
    org_id = m.scope
    group_id = _group_id(body.group_id)
    item = NewCredential(
        recipient_name=body.recipient.name,
        recipient_email=body.recipient.email,
        issued_on=body.issued_on,
        expires_on=body.expires_on,
        expires_given="expires_on" in body.model_fields_set,
    )

    dept = m.department_id
    ahead = None
    # A department's key publishes alone: its group is checked in the publish's own
    # transaction, never in a batch's.
    if body.publish and not body.dry_run and dept is None:
        done, ready = await m.batched(
            group_id,
            lambda run: issuing.prepare(run, app.ctx, org_id, group_id, [item]),
            lambda ready, charged: _one(
                Issued(list(ready.creds), charged), app.ctx.base_url, created=True
            ),
            notify=True,
        )
        if done is not None:
            return done
        ahead = cast(issuing.Ahead | None, ready)

    def action(uow: UnitOfWork) -> Outcome:
        key_scope.require_group(uow, org_id, dept, group_id)
        result = issuing.issue(
            uow,
            app.ctx,
            org_id,
            group_id,
            [item],
            publish=body.publish,
            dry_run=body.dry_run,
            ahead=ahead,
        )
        return _one(result, app.ctx.base_url, created=True)

    return await m.run_alone(action)


@router.post("/bulk", status_code=201)
def bulk_create(body: BulkIn, m: ScopedMutation, app: AppDep) -> Response:
    org_id = m.scope
    group_id = _group_id(body.group_id)
    items = [
        NewCredential(
            recipient_name=c.recipient.name,
            recipient_email=c.recipient.email,
            issued_on=c.issued_on,
            expires_on=c.expires_on,
            expires_given="expires_on" in c.model_fields_set,
        )
        for c in body.credentials
    ]

    dept = m.department_id
    ahead = None
    if body.publish and not body.dry_run and dept is None:
        ahead = m.ahead(
            lambda run: issuing.prepare(
                run, app.ctx, org_id, group_id, items, field_prefix="credentials."
            )
        )

    def action(uow: UnitOfWork) -> Outcome:
        key_scope.require_group(uow, org_id, dept, group_id)
        result = issuing.issue(
            uow,
            app.ctx,
            org_id,
            group_id,
            items,
            publish=body.publish,
            dry_run=body.dry_run,
            field_prefix="credentials.",
            ahead=ahead,
        )
        if isinstance(result, Preview):
            return 200, render.preview(result, with_count=True)
        return 201, {
            "credentials": [render.credential(c, app.ctx.base_url) for c in result.credentials],
            "credits_charged": result.credits_charged,
        }

    return m.run(action)


@router.get("/{cred_id}")
def get_credential(cred_id: str, caller: CallerDep, app: AppDep) -> dict[str, Any]:
    object_id(cred_id)
    org_id, dept = caller.org_id, caller.department_id

    def read(uow: UnitOfWork) -> Credential:
        key_scope.require_credential(uow, org_id, dept, cred_id)
        return issuing.get(uow, org_id, cred_id)

    cred = app.runner.read(read)
    return {"credential": render.credential(cred, app.ctx.base_url)}


@router.get("")
def list_credentials(
    caller: CallerDep,
    app: AppDep,
    group_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    recipient_email: Annotated[
        str | None, Query(), StringConstraints(max_length=400, pattern=r"^[^\x00]*$")
    ] = None,
    status: Annotated[Literal["draft", "published"] | None, Query()] = None,
    cursor: Annotated[Cursor, Query()] = None,
    limit: Annotated[Limit, Query()] = 100,
) -> dict[str, Any]:
    org_id = caller.org_id
    rows = app.runner.read(
        lambda uow: issuing.list_credentials(
            uow,
            org_id,
            department_id=caller.department_id,
            group_id=group_id,
            recipient_email=recipient_email,
            status=Status(status) if status else None,
            after=cursor,
            limit=limit + 1,
        )
    )
    return page("credentials", [render.credential(c, app.ctx.base_url) for c in rows], limit)


@router.patch("/{cred_id}")
def patch_credential(
    cred_id: str, body: CredentialPatch, m: ScopedMutation, app: AppDep
) -> Response:
    org_id = m.scope
    object_id(cred_id)
    given = body.model_fields_set
    changes = Changes(
        recipient_name=body.recipient.name if body.recipient else None,
        recipient_email=body.recipient.email if body.recipient else None,
        issued_on=body.issued_on,
        expires_on=body.expires_on,
        expires_given="expires_on" in given,
    )

    def action(uow: UnitOfWork) -> Outcome:
        key_scope.require_credential(uow, org_id, m.department_id, cred_id)
        return _one(
            issuing.edit(uow, app.ctx, org_id, cred_id, changes, dry_run=body.dry_run),
            app.ctx.base_url,
        )

    return m.run(action)


@router.post("/{cred_id}/publish")
def publish_credential(
    cred_id: str, m: ScopedMutation, app: AppDep, body: PublishIn | None = None
) -> Response:
    org_id = m.scope
    object_id(cred_id)
    dry_run = body.dry_run if body else False

    def action(uow: UnitOfWork) -> Outcome:
        key_scope.require_credential(uow, org_id, m.department_id, cred_id)
        return _one(
            issuing.publish(uow, app.ctx, org_id, cred_id, dry_run=dry_run), app.ctx.base_url
        )

    return m.run(action)


@router.delete("/{cred_id}", status_code=204)
def delete_credential(cred_id: str, m: ScopedMutation, app: AppDep) -> Response:
    org_id = m.scope
    object_id(cred_id)

    def action(uow: UnitOfWork) -> Outcome:
        key_scope.require_credential(uow, org_id, m.department_id, cred_id)
        issuing.delete(uow, app.ctx, org_id, cred_id)
        return 204, None

    return m.run(action)


@router.post("/{cred_id}/revoke")
def revoke_credential(
    cred_id: str, m: ScopedMutation, app: AppDep, body: RevokeIn | None = None
) -> Response:
    """Revoke for good (no refund, R6): verifiers see it revoked from now on."""
    org_id = m.scope
    object_id(cred_id)
    reason = body.reason if body else None

    def action(uow: UnitOfWork) -> Outcome:
        key_scope.require_credential(uow, org_id, m.department_id, cred_id)
        cred = status.revoke(uow, app.ctx, org_id, cred_id, reason)
        return 200, {"credential": render.credential(cred, app.ctx.base_url)}

    return m.run(action)


@router.post("/{cred_id}/suspend")
def suspend_credential(cred_id: str, m: ScopedMutation, app: AppDep) -> Response:
    return _suspension(cred_id, m, app, suspended=True)


@router.post("/{cred_id}/unsuspend")
def unsuspend_credential(cred_id: str, m: ScopedMutation, app: AppDep) -> Response:
    return _suspension(cred_id, m, app, suspended=False)


def _suspension(cred_id: str, m: Mutation, app: App, *, suspended: bool) -> Response:
    org_id = m.scope
    object_id(cred_id)

    def action(uow: UnitOfWork) -> Outcome:
        key_scope.require_credential(uow, org_id, m.department_id, cred_id)
        cred = status.suspend(uow, app.ctx, org_id, cred_id, suspended=suspended)
        return 200, {"credential": render.credential(cred, app.ctx.base_url)}

    return m.run(action)
