"""The W3C VC API: issue (the organization's API key) and verify (public).

- `POST /credentials/issue` `{"credential", "options"?}` -> 201
  `{"verifiableCredential", "credential_id", "credits_charged"}`: the credential signed with
  the organization's key and cryptosuite; it takes a seat as publishing does (R3.1, R4), and
  a VC 2.0 credential without `credentialStatus` gets Credo's two status entries.
- `POST /credentials/status` `{"credentialId", "credentialStatus": [{"type",
  "statusPurpose"}], "status"?}` -> 200 `{"credential_id", "revoked", "suspended"}`: revokes
  or suspends (`status` false: lifts the suspension) a credential issued with Credo's status.
- `POST /credentials/verify` `{"verifiableCredential", "options"?}` and
  `POST /presentations/verify` `{"verifiablePresentation", "options"?}` -> 200
  `{"verified": true, "checks": [{"check", "ok", "detail"}], "warnings", "errors"}` when it
  verifies; otherwise 400 problem JSON carrying the same members (`verified` false, each
  failed check in `errors`), as the W3C test suites expect of a verifier (a 4xx for what
  does not verify, 200 with no errors for what does). `/credentials/verify` also takes a
  baked badge image as the body (Content-Type `image/png` or `image/svg+xml`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Response

from credo.adapters.images.baking import credential_from_image
from credo.bootstrap import App
from credo.entrypoints.api.context import AppDep, Mutation, OrgMutation, Outcome
from credo.entrypoints.api.images import IMAGE_BODIES, ImageBodyRoute, image_body
from credo.entrypoints.api.problems import PROBLEM, problem_dict
from credo.entrypoints.api.schemas import (
    IssueCredentialIn,
    UpdateStatusIn,
    VcApiOptions,
    VerifyCredentialIn,
    VerifyPresentationIn,
)
from credo.services.credentials import vcapi, verification
from credo.services.credentials.group_commit import Prepared
from credo.services.credentials.groups import vc_api_group_id
from credo.services.credentials.verification import Verification, VerifyOptions
from credo.services.ports import UnitOfWork

router = APIRouter(tags=["vc-api"])


@router.post("/credentials/issue", status_code=201)
async def issue_credential(body: IssueCredentialIn, m: OrgMutation, app: AppDep) -> Response:
    """Sign a VC 2.0 or 1.1 credential with the organization's key (issuer: the
    organization's DID, set when absent; another issuer is refused)."""
    return await issue(body, m, app)


async def issue(body: IssueCredentialIn, m: Mutation, app: App) -> Response:
    """POST /credentials/issue, once its body is parsed and its caller known (also served
    by api.hot without FastAPI's routing)."""
    org_id = m.scope

    def answer(ready: Prepared, charged: int) -> Outcome:
        assert isinstance(ready, vcapi.AheadVc)
        return _issued(vcapi.IssuedVc(ready.cred.id, ready.document, charged))

    done, ready = await m.batched(
        vc_api_group_id(org_id),
        lambda run: vcapi.prepare(run, app.ctx, org_id, body.credential, body.options),
        answer,
        notify=False,
    )
    if done is not None:
        return done
    ahead = cast(vcapi.AheadVc | None, ready)

    def action(uow: UnitOfWork) -> Outcome:
        return _issued(
            vcapi.issue_credential(uow, app.ctx, org_id, body.credential, body.options, ahead=ahead)
        )

    return await m.run_alone(action)


def _issued(issued: vcapi.IssuedVc) -> Outcome:
    return 201, {
        "verifiableCredential": issued.document,
        "credential_id": issued.credential_id,
        "credits_charged": issued.credits_charged,
    }


@router.post("/credentials/status")
def update_status(body: UpdateStatusIn, m: OrgMutation, app: AppDep) -> Response:
    """Set a credential's revocation or suspension bit (VC API "update status")."""
    org_id = m.scope
    purposes = [entry.status_purpose for entry in body.credential_status]

    def action(uow: UnitOfWork) -> Outcome:
        cred = vcapi.update_status(
            uow, app.ctx, org_id, body.credential_id, purposes, value=body.status
        )
        return 200, {
            "credential_id": cred.id,
            "revoked": cred.revoked_at is not None,
            "suspended": cred.suspended_at is not None,
        }

    return m.run(action)


def verify_baked_credential(image: Annotated[bytes, Depends(image_body)], app: AppDep) -> Response:
    """A PNG or SVG badge image as the body: the credential baked into it (Open Badges 3.0
    baking) is verified as a JSON one is; an image that carries none is a 422."""
    doc = credential_from_image(image)
    result = app.runner.read(lambda uow: verification.verify_credential(uow, app.ctx, doc))
    return _answer(result)


# Registered before its JSON twin, which would otherwise take every body.
router.add_api_route(
    "/credentials/verify",
    verify_baked_credential,
    methods=["POST"],
    route_class_override=ImageBodyRoute,
    include_in_schema=False,
)


@router.post("/credentials/verify", openapi_extra=IMAGE_BODIES)
def verify_credential(body: VerifyCredentialIn, app: AppDep) -> Response:
    """Every check named: structure, signature, issuer, status, validity."""
    doc = body.verifiable_credential
    result = app.runner.read(lambda uow: verification.verify_credential(uow, app.ctx, doc))
    return _answer(result)


@router.post("/presentations/verify")
def verify_presentation(body: VerifyPresentationIn, app: AppDep) -> Response:
    """The presentation's proof (if any), holder, challenge and domain, and each credential."""
    doc = body.verifiable_presentation
    options = _options(body.options)
    result = app.runner.read(
        lambda uow: verification.verify_presentation(uow, app.ctx, doc, options)
    )
    return _answer(result)


def _options(given: VcApiOptions | None) -> VerifyOptions:
    if given is None:
        return VerifyOptions()
    return VerifyOptions(
        challenge=given.challenge,
        domain=given.domain,
        proof_purpose=given.expected_proof_purpose or "authentication",
    )


def _answer(result: Verification) -> Response:
    body: dict[str, Any] = result.as_dict()
    if result.verified:
        return Response(_dumps(body), status_code=200, media_type="application/json")
    problem = problem_dict(
        400, "verification_failed", result.summary(), "Verification failed", **body
    )
    return Response(_dumps(problem), status_code=400, media_type=PROBLEM)


def _dumps(body: dict[str, Any]) -> str:
    # ASCII-escaped: details quote pieces of the submitted document, which may hold text
    # (lone surrogates) that UTF-8 cannot carry.
    return json.dumps(body, ensure_ascii=True, separators=(",", ":"))
