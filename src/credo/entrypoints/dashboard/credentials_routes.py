"""Credentials: one from a form, the list with search and filters, bulk actions with their cost.

- GET /app/credentials: search (recipient name or e-mail), filters (group, status,
  expiring within 30 days), pages of 25; checkboxes and one button per bulk action; each
  row links to its credential's page (credential_routes).
- GET/POST /app/credentials/new: one credential. action=preview answers what the API's
  dry run answers (the same service call with dry_run=True, R12); publish or draft save it.
- POST /app/credentials/bulk: the confirmation page of a bulk action, with its cost
  (services.bulk_actions.plan, R12); POST /app/credentials/bulk/run does it, all or nothing.
Viewers see the list; every POST here needs the ISSUE permission (403 otherwise).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from credo.bootstrap import App
from credo.domain.accounts import Permission
from credo.domain.entities import CredentialQuery, GroupSummary
from credo.domain.errors import (
    CostChanged,
    DomainError,
    DuplicateCredential,
    GroupArchived,
    InsufficientCredits,
    InvalidInput,
)
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.groups_routes import Posted, PostedDep
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.services.billing import credit_reports
from credo.services.credentials import bulk_actions, group_settings, issuing
from credo.services.credentials.bulk_actions import BulkAction
from credo.services.credentials.groups import is_vc_api_group
from credo.services.credentials.issuing import NewCredential, Preview
from credo.services.people.accounts import Member
from credo.services.ports import UnitOfWork
from credo.services.recipients.addresses import MalformedEmail, recipient_key
from credo.services.tenancy.clocks import load_org, org_now

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
MAX_PAGE = 10_000
EXPIRING_DAYS = 30
STATES = ("draft", "published", "revoked")
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
VERBS = {
    BulkAction.PUBLISH: ("Publish", "published"),
    BulkAction.RENEW: ("Renew", "renewed"),
    BulkAction.REVOKE: ("Revoke", "revoked"),
    BulkAction.DELETE: ("Delete", "deleted"),
}


def _groups(app: App, member: Member, *, archived: bool | None = None) -> list[GroupSummary]:
    org_id = member.organization.id

    def load(uow: UnitOfWork) -> list[GroupSummary]:
        search = uow.credential_search
        if archived is None:
            return search.groups(org_id, archived=False) + search.groups(org_id, archived=True)
        return search.groups(org_id, archived=archived)

    return app.runner.read(load)


def _today(app: App, member: Member) -> date:
    org_id = member.organization.id
    return app.runner.read(lambda uow: org_now(load_org(uow, org_id), app.clock).date())


def _refusal(exc: DomainError) -> dict[str, Any]:
    """A refusal in plain words: which rule, and how many credits short."""
    short = exc.credits_short if isinstance(exc, InsufficientCredits) else 0
    return {"title": exc.title, "text": credit_reports.explain(exc), "short": short}


# The list


@router.get("/app/credentials")
def list_credentials(
    request: Request,
    member: MemberDep,
    app: AppDep,
    q: str = "",
    group_id: str = "",
    status: str = "",
    expiring: str = "",
    page_no: int = 1,
    done: str = "",
    n: int = 0,
    charged: int = 0,
) -> Response:
    text = q.strip()[:200].replace("\x00", "")
    state = status if status in STATES else None
    page_no = min(max(page_no, 1), MAX_PAGE)
    today = _today(app, member)
    window = (today, today + timedelta(days=EXPIRING_DAYS)) if expiring == "1" else None
    query = CredentialQuery(
        text=text or None,
        group_id=group_id[:64] or None,
        state=state,
        expiring=window,
        offset=(page_no - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    org_id = member.organization.id
    rows, total = app.runner.read(lambda uow: uow.credential_search.find(org_id, query))
    all_groups = _groups(app, member)
    names = {g.group.id: g.group.name for g in all_groups}
    filters = {
        "q": text,
        "group_id": query.group_id or "",
        "status": state or "",
        "expiring": expiring,
    }
    kept = {k: v for k, v in filters.items() if v}
    pages = max(1, -(-total // PAGE_SIZE))
    more = total >= query.count_limit  # counted up to the limit: at least that many
    if more:
        pages = max(pages, page_no + (len(rows) == PAGE_SIZE))

    def page_url(number: int) -> str:
        return "/app/credentials?" + urlencode({**kept, "page_no": number})

    message = None
    if done in {a.value for a in BulkAction} or done == "draft":
        verb = "saved as a draft" if done == "draft" else VERBS[BulkAction(done)][1]
        message = (
            f"{n} credential{'s' if n != 1 else ''} {verb}; "
            f"{charged} credit{'s' if charged != 1 else ''} used."
        )
    return page(
        request,
        app,
        member,
        "app/credentials.html",
        rows=rows,
        total=total,
        more=more,
        names=names,
        groups=all_groups,
        filters=filters,
        page_no=page_no,
        pages=pages,
        prev_url=page_url(page_no - 1) if page_no > 1 else None,
        next_url=page_url(page_no + 1) if page_no < pages and page_no < MAX_PAGE else None,
        can_issue=member.can(Permission.ISSUE),
        today=today,
        soon=today + timedelta(days=EXPIRING_DAYS),
        message=message,
        actions=VERBS,
    )


# One credential


def _form_values(posted: Posted) -> dict[str, str]:
    names = (
        "group_id",
        "recipient_name",
        "recipient_email",
        "issued_on",
        "expires_on",
        "no_expiry",
    )
    return {k: posted.get(k).strip() for k in names}


def _date(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        d = date.fromisoformat(value)
    except ValueError:
        errors[name] = "must be a date like 2026-02-01"
        return None
    if not EARLIEST <= d <= LATEST:
        errors[name] = f"must be between {EARLIEST} and {LATEST}"
        return None
    return d


def _new_page(
    request: Request,
    app: App,
    member: Member,
    values: dict[str, str],
    status: int = 200,
    **extra: Any,
) -> Response:
    active = [g for g in _groups(app, member, archived=False) if not is_vc_api_group(g.group.id)]
    defaults: dict[str, Any] = {"errors": {}, "preview": None, "refusal": None, "duplicates": []}
    return page(
        request,
        app,
        member,
        "app/credentials_new.html",
        status,
        values=values,
        groups=active,
        **{**defaults, **extra},
    )


@router.get("/app/credentials/new")
def new_credential(
    request: Request, member: MemberDep, app: AppDep, group_id: str = ""
) -> Response:
    member.require(Permission.ISSUE)
    values = {"group_id": group_id[:64], "issued_on": _today(app, member).isoformat()}
    return _new_page(request, app, member, values)


@router.post("/app/credentials/new")
def issue_credential(
    request: Request, member: MemberDep, app: AppDep, posted: PostedDep
) -> Response:
    member.require(Permission.ISSUE)
    check_csrf(member, posted.get("csrf"))
    values = _form_values(posted)
    action = posted.get("action", "preview")
    errors: dict[str, str] = {}
    name = values["recipient_name"]
    if not name:
        errors["recipient_name"] = "is required"
    elif len(name) > 200 or "\x00" in name:
        errors["recipient_name"] = "must be 1 to 200 characters"
    email = values["recipient_email"]
    key = None
    try:
        key = recipient_key(email[:400])[1].value
    except MalformedEmail as exc:
        errors["recipient_email"] = str(exc)
    issued_on = _date(values["issued_on"], "issued_on", errors)
    expires_on = _date(values["expires_on"], "expires_on", errors)
    if not values["group_id"]:
        errors["group_id"] = "choose a group"
    if errors:
        return _new_page(request, app, member, values, 422, errors=errors)
    item = NewCredential(
        recipient_name=name,
        recipient_email=email,
        issued_on=issued_on,
        expires_on=expires_on,
        expires_given=bool(values["no_expiry"]) or expires_on is not None,
    )
    org_id = member.organization.id
    group_id = values["group_id"]
    publish = action != "draft"
    dry_run = action == "preview"

    def run(uow: UnitOfWork) -> tuple[issuing.Issued | Preview, list[str]]:
        result = issuing.issue(
            uow, app.ctx, org_id, group_id, [item], publish=publish, dry_run=dry_run
        )
        dupes: list[str] = []
        if dry_run:
            group = uow.groups.get(org_id, group_id)
            if group and group_settings.policy_of(group) is group_settings.DuplicatePolicy.WARN:
                dupes = group_settings.duplicates(uow, group, [key] if key else [])
        return result, dupes

    try:
        result, dupes = app.runner.write(run)
    except InvalidInput as exc:
        for e in exc.errors:
            errors[e["field"].replace("recipient.", "recipient_")] = e["message"]
        return _new_page(request, app, member, values, 422, errors=errors)
    except (
        InsufficientCredits,
        DuplicateCredential,
        GroupArchived,
    ) as exc:
        status = exc.status
        return _new_page(request, app, member, values, status, refusal=_refusal(exc))
    if isinstance(result, Preview):
        return _new_page(request, app, member, values, preview=result, duplicates=dupes)
    query = {"done": "publish" if publish else "draft", "n": 1, "charged": result.credits_charged}
    return see_other("/app/credentials?" + urlencode({**query, "q": email}))


# Bulk actions: a confirmation page with the cost, then the run.


def _bulk(posted: Posted) -> tuple[BulkAction, list[str]]:
    try:
        action = BulkAction(posted.get("action"))
    except ValueError:
        raise InvalidInput(
            "choose an action",
            [{"field": "action", "message": "must be publish, renew, revoke or delete"}],
        ) from None
    ids = [i.strip() for i in posted.getlist("ids") if i.strip()]
    return action, ids


def _confirm_page(
    request: Request,
    app: App,
    member: Member,
    action: BulkAction,
    ids: list[str],
    status: int = 200,
    **extra: Any,
) -> Response:
    org_id = member.organization.id
    plan = app.runner.read(lambda uow: bulk_actions.plan(uow, app.ctx, org_id, action, ids))
    names = {g.group.id: g.group.name for g in _groups(app, member)}
    values: dict[str, Any] = {"refusal": None, "notice": None, "reason": ""}
    return page(
        request,
        app,
        member,
        "app/credentials_confirm.html",
        status,
        plan=plan,
        ids=ids,
        names=names,
        verb=VERBS[action][0],
        **{**values, **extra},
    )


@router.post("/app/credentials/bulk")
def confirm_bulk(request: Request, member: MemberDep, app: AppDep, posted: PostedDep) -> Response:
    member.require(Permission.ISSUE)
    check_csrf(member, posted.get("csrf"))
    action, ids = _bulk(posted)
    if not ids:
        return see_other("/app/credentials")
    return _confirm_page(request, app, member, action, ids)


@router.post("/app/credentials/bulk/run")
def run_bulk(request: Request, member: MemberDep, app: AppDep, posted: PostedDep) -> Response:
    member.require(Permission.ISSUE)
    check_csrf(member, posted.get("csrf"))
    action, ids = _bulk(posted)
    reason = posted.get("reason").strip()
    if len(reason) > bulk_actions.MAX_REASON or "\x00" in reason:
        return _confirm_page(
            request,
            app,
            member,
            action,
            ids,
            422,
            reason=reason[: bulk_actions.MAX_REASON],
            notice=f"The reason must be at most {bulk_actions.MAX_REASON} characters.",
        )
    expected_text = posted.get("expected_credits")
    expected = int(expected_text) if expected_text.isdigit() and len(expected_text) < 9 else None
    org_id = member.organization.id

    def run(uow: UnitOfWork) -> bulk_actions.BulkResult:
        return bulk_actions.run(
            uow,
            app.ctx,
            org_id,
            action,
            ids,
            reason=reason or None,
            expected_credits=expected,
        )

    try:
        result = app.runner.write(run)
    except CostChanged as exc:
        return _confirm_page(request, app, member, action, ids, 409, notice=exc.detail)
    except InsufficientCredits as exc:
        return _confirm_page(request, app, member, action, ids, exc.status, refusal=_refusal(exc))
    query = {"done": action.value, "n": result.done, "charged": result.credits_charged}
    return see_other("/app/credentials?" + urlencode(query))
