"""Operator routes: organizations and subscriptions (bearer CREDO_ADMIN_TOKEN)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from credo.entrypoints.api import render
from credo.entrypoints.api.context import AppDep, Operator, OperatorMutation, Outcome, object_id
from credo.entrypoints.api.schemas import (
    CancelIn,
    OrganizationIn,
    OrganizationPatch,
    SubscriptionIn,
)
from credo.services.ports import UnitOfWork
from credo.services.tenancy import organizations as orgs

router = APIRouter(prefix="/v1/admin", tags=["operator"])


@router.post("/organizations", status_code=201)
def create_organization(body: OrganizationIn, m: OperatorMutation, app: AppDep) -> Response:
    def action(uow: UnitOfWork) -> Outcome:
        new = orgs.create_organization(
            uow,
            app.clock,
            name=body.name,
            plan=body.plan,
            credits=body.credits,
            sandbox=body.sandbox,
            anchor=body.anchor,
            cryptosuite=body.cryptosuite,
            domain=body.domain,
            signer=app.ctx.signer,
        )
        now = new.organization.clock_now or app.clock.now()
        return 201, {
            "organization": render.organization(new.organization),
            "subscription": render.subscription(new.subscription, now),
            "api_key": new.api_key,
        }

    return m.run(action)


@router.patch("/organizations/{org_id}")
def update_organization(
    org_id: str, body: OrganizationPatch, m: OperatorMutation, app: AppDep
) -> Response:
    """Set or drop the organization's domain: with one, what it signs from now on names
    did:web:<domain> as issuer, and /.well-known/did.json on that host serves its DID
    document (point the domain, or a reverse proxy for that path, at Credo)."""
    object_id(org_id)

    def action(uow: UnitOfWork) -> Outcome:
        org = orgs.set_domain(uow, org_id, body.domain, app.clock.now())
        return 200, {"organization": render.organization(org)}

    return m.run(action)


@router.put("/organizations/{org_id}/subscription")
def change_subscription(
    org_id: str, body: SubscriptionIn, m: OperatorMutation, app: AppDep
) -> Response:
    object_id(org_id)

    def action(uow: UnitOfWork) -> Outcome:
        sub, now = orgs.change_subscription(
            uow, app.clock, org_id, plan=body.plan, credits=body.credits
        )
        return 200, {"subscription": render.subscription(sub, now)}

    return m.run(action)


@router.delete("/organizations/{org_id}/subscription")
def cancel_subscription(
    org_id: str, m: OperatorMutation, app: AppDep, body: CancelIn | None = None
) -> Response:
    object_id(org_id)
    when = (body or CancelIn()).when

    def action(uow: UnitOfWork) -> Outcome:
        sub, now = orgs.cancel_subscription(uow, app.clock, org_id, when=when)
        return 200, {"subscription": render.subscription(sub, now)}

    return m.run(action)


@router.get("/organizations/{org_id}/subscription")
def get_subscription(org_id: str, _: Operator, app: AppDep) -> dict[str, object]:
    object_id(org_id)
    sub, now = app.runner.read(lambda uow: orgs.get_subscription(uow, app.clock, org_id))
    return {"subscription": render.subscription(sub, now)}


@router.post("/organizations/{org_id}/keys/rotate")
def rotate_signing_key(org_id: str, m: OperatorMutation, app: AppDep) -> Response:
    """New credentials are signed with a new key; what the old key signed keeps verifying."""
    object_id(org_id)

    def action(uow: UnitOfWork) -> Outcome:
        key = orgs.rotate_signing_key(uow, app.ctx, org_id)
        return 200, {"key": {"id": key.id, "public_key_multibase": key.public_key_multibase}}

    return m.run(action)
