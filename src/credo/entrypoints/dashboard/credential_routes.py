"""One credential's page and its actions.

- GET /app/credentials/{cred_id}: the recipient, group, status, dates, its signed version,
  the e-mails sent for it, the credits it took and its revocation or suspension.
- GET /app/credentials/{cred_id}/{renew,revoke,resend,delete}: the action's confirmation,
  with what it costs (services.single_actions.offer); POST the same path does it.
Every member sees the page; the actions need the ISSUE permission (403 otherwise). An id
that is not one of the organization's live credentials answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from credo.bootstrap import App
from credo.domain.accounts import Permission
from credo.domain.errors import Conflict, InsufficientCredits
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.dashboard.groups_routes import PostedDep
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.services.billing import credit_reports
from credo.services.credentials import detail, single_actions
from credo.services.credentials.single_actions import SingleAction
from credo.services.engagement import reports as engagement_reports
from credo.services.people.accounts import Member

router = APIRouter(include_in_schema=False)

VERBS = {
    SingleAction.RENEW: "Renew",
    SingleAction.REVOKE: "Revoke",
    SingleAction.RESEND: "Send the e-mail again",
    SingleAction.DELETE: "Delete",
}
DONE = {
    SingleAction.RENEW: "Credential renewed",
    SingleAction.REVOKE: "Credential revoked",
    SingleAction.RESEND: "The e-mail is queued again: it goes out shortly",
}


@router.get("/app/credentials/{cred_id}")
def credential_page(
    request: Request,
    cred_id: str,
    member: MemberDep,
    app: AppDep,
    done: str = "",
    charged: int = 0,
) -> Response:
    member.require(Permission.VIEW)
    object_id(cred_id)
    org_id = member.organization.id
    d, timeline = app.runner.read(
        lambda uow: (
            detail.load(uow, app.ctx, org_id, cred_id),
            engagement_reports.timeline(uow, org_id, cred_id),
        )
    )
    message = None
    if done in {a.value for a in DONE}:
        message = DONE[SingleAction(done)]
        if done == SingleAction.RENEW.value:
            message += f"; {'1 credit' if charged == 1 else f'{max(charged, 0)} credits'} used"
        message += "."
    return page(
        request,
        app,
        member,
        "app/credential.html",
        d=d,
        can_issue=member.can(Permission.ISSUE),
        actions=VERBS,
        message=message,
        # Only "Issued" is no engagement yet.
        timeline=timeline if any(x != "Issued" for day in timeline for x in day.things) else [],
    )


def _confirm_page(
    request: Request,
    app: App,
    member: Member,
    cred_id: str,
    action: SingleAction,
    status: int = 200,
    **extra: Any,
) -> Response:
    org_id = member.organization.id
    offer = app.runner.read(lambda uow: single_actions.offer(uow, app.ctx, org_id, cred_id, action))
    values: dict[str, Any] = {"refusal": None, "notice": None, "reason": ""}
    return page(
        request,
        app,
        member,
        "app/credential_confirm.html",
        status,
        offer=offer,
        verb=VERBS[action],
        max_reason=single_actions.MAX_REASON,
        **{**values, **extra},
    )


def _confirm(action: SingleAction) -> Callable[..., Response]:
    def confirm(request: Request, cred_id: str, member: MemberDep, app: AppDep) -> Response:
        member.require(Permission.ISSUE)
        object_id(cred_id)
        return _confirm_page(request, app, member, cred_id, action)

    confirm.__name__ = f"confirm_{action.value}"
    return confirm


def _run(action: SingleAction) -> Callable[..., Response]:
    def run(
        request: Request, cred_id: str, member: MemberDep, app: AppDep, posted: PostedDep
    ) -> Response:
        member.require(Permission.ISSUE)
        check_csrf(member, posted.get("csrf"))
        object_id(cred_id)
        reason = posted.get("reason").strip() if action is SingleAction.REVOKE else ""
        if len(reason) > single_actions.MAX_REASON or "\x00" in reason:
            notice = f"The reason must be at most {single_actions.MAX_REASON} characters."
            return _confirm_page(
                request,
                app,
                member,
                cred_id,
                action,
                422,
                reason=reason[: single_actions.MAX_REASON].replace("\x00", ""),
                notice=notice,
            )
        shown = posted.get("expected_credits")
        expected = int(shown) if shown.isdigit() and len(shown) < 9 else None
        org_id = member.organization.id
        try:
            charged = app.runner.write(
                lambda uow: single_actions.run(
                    uow,
                    app.ctx,
                    org_id,
                    cred_id,
                    action,
                    reason=reason or None,
                    expected_credits=expected,
                )
            )
        except InsufficientCredits as exc:
            refusal = credit_reports.explain(exc)
            return _confirm_page(request, app, member, cred_id, action, exc.status, refusal=refusal)
        except Conflict as exc:  # the cost changed, or the action no longer applies
            return _confirm_page(request, app, member, cred_id, action, 409, notice=exc.detail)
        if action is SingleAction.DELETE:
            query = {"done": "delete", "n": 1, "charged": 0}
            return see_other("/app/credentials?" + urlencode(query))
        query = {"done": action.value, "charged": charged}
        return see_other(f"/app/credentials/{cred_id}?" + urlencode(query))

    run.__name__ = f"run_{action.value}"
    return run


for _action in SingleAction:
    _path = f"/app/credentials/{{cred_id}}/{_action.value}"
    router.add_api_route(_path, _confirm(_action), methods=["GET"])
    router.add_api_route(_path, _run(_action), methods=["POST"])
