"""Who is signed in: the session cookie, the member it names, and CSRF checks.

The cookie is HttpOnly, SameSite=Lax, and Secure whenever the public address is https.
Every state-changing form carries the session's CSRF token (a hidden field `csrf`), checked
in constant time; SameSite alone is not relied on."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from credo.bootstrap import App
from credo.domain.accounts import Permission
from credo.domain.audit_log import Actor, ActorKind
from credo.domain.errors import Forbidden
from credo.entrypoints.api.context import AppDep
from credo.services import audit_log
from credo.services.billing import credits
from credo.services.people import accounts
from credo.services.people.accounts import Member

COOKIE = "credo_session"


class LoginRequired(Exception):
    """Answered with a redirect to /login (and back here afterwards)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def set_session_cookie(response: Response, app: App, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        secure=app.settings.base_url.startswith("https://"),
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def current_member(request: Request, app: AppDep) -> Member:
    token = request.cookies.get(COOKIE, "")
    member = None
    if token and len(token) <= 100:
        member = app.runner.read(lambda uow: accounts.resolve(uow, app.clock, token))
    if member is None:
        raise LoginRequired(request.url.path)
    audit_log.act_as(Actor(ActorKind.MEMBER, member.user.id, member.user.email))
    return member


MemberDep = Annotated[Member, Depends(current_member)]


def check_csrf(member: Member, given: str | None) -> None:
    if not given or not hmac.compare_digest(given.encode(), member.session.csrf_token.encode()):
        raise Forbidden("the form has expired or did not come from this site; reload the page")


def login_redirect_location(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def layout_values(app: App, member: Member) -> dict[str, object]:
    """What every dashboard page shows around its content: who, where, credits left."""
    bal = app.runner.read(lambda uow: credits.balance(uow, app.clock, member.organization.id))
    org = member.organization
    # A sandbox's dates (billing years, expiries) follow its test clock, not the calendar:
    # every page says so, with the date that clock shows.
    sandbox_date = org.clock_now.date() if org.sandbox and org.clock_now else None
    return {
        "member": member,
        "balance": bal,
        "Permission": Permission,
        "sandbox_date": sandbox_date,
    }
