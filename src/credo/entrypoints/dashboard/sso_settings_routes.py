"""The "Single sign-on" settings page: owners only. Changes apply to the next sign-in.

The OpenID Connect client secret is never shown back: the page says whether one is set."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from credo.domain.accounts import Permission, Role
from credo.domain.errors import Conflict, InvalidInput, NotFound
from credo.entrypoints.api.context import AppDep
from credo.entrypoints.dashboard.members_routes import Csrf, _problem_text
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.entrypoints.dashboard.sso_routes import _sealer, redirect_uri
from credo.services.people import sso
from credo.services.people.accounts import Member

router = APIRouter(include_in_schema=False)

PATH = "/app/settings/sso"
Text = Annotated[str, Form(max_length=1000)]
Domain = Annotated[str, Form(max_length=300)]
Metadata = Annotated[str, Form(max_length=500_000)]
Flag = Annotated[str, Form(max_length=10)]

NOTICES = {
    "oidc": "OpenID Connect saved: it is used from the next sign-in.",
    "saml": "SAML identity provider saved: it is used from the next sign-in.",
    "policy": "Saved.",
    "domain": "Domain added: publish its TXT record, then verify it.",
    "verified": "Domain verified: its people can sign in through your identity provider.",
    "pending": "The TXT record was not found yet (DNS changes can take a while). Try again later.",
    "removed": "Domain removed.",
}


def _page(
    request: Request, app: AppDep, member: Member, status: int = 200, **values: Any
) -> Response:
    settings, domains = app.runner.read(lambda uow: sso.settings_of(uow, member))
    base = app.ctx.base_url
    org_id = member.organization.id
    context: dict[str, Any] = {
        "sso": settings,
        "domains": [(d, sso.txt_record(d)) for d in domains],
        "roles": [r.value for r in Role],
        "redirect_uri": redirect_uri(app),
        "saml_entity_id": f"{base}/sso/saml/{org_id}/metadata",
        "saml_acs": f"{base}/sso/saml/{org_id}/acs",
        "notice": None,
        "error": None,
    }
    return page(request, app, member, "app/sso_settings.html", status, **(context | values))


def _refused(
    request: Request, app: AppDep, member: Member, exc: InvalidInput | Conflict | NotFound
) -> Response:
    status = 422 if isinstance(exc, InvalidInput) else 404 if isinstance(exc, NotFound) else 409
    return _page(request, app, member, status, error=_problem_text(exc))


@router.get(PATH)
def sso_settings(
    request: Request, member: MemberDep, app: AppDep, notice: str | None = None
) -> Response:
    member.require(Permission.SINGLE_SIGN_ON)
    return _page(request, app, member, notice=NOTICES.get(notice or ""))


@router.post(PATH + "/oidc")
def sso_oidc(
    request: Request,
    member: MemberDep,
    app: AppDep,
    csrf: Csrf = "",
    issuer: Text = "",
    client_id: Text = "",
    client_secret: Text = "",
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.SINGLE_SIGN_ON)
    try:
        app.runner.write(
            lambda uow: sso.configure_oidc(
                uow,
                app.clock,
                _sealer(app),
                member,
                issuer=issuer,
                client_id=client_id,
                client_secret=client_secret,
            )
        )
    except InvalidInput as exc:
        return _refused(request, app, member, exc)
    return see_other(PATH + "?notice=oidc")


@router.post(PATH + "/saml")
async def sso_saml(
    request: Request,
    member: MemberDep,
    app: AppDep,
    csrf: Csrf = "",
    metadata_xml: Metadata = "",
    metadata: Annotated[UploadFile | None, File()] = None,
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.SINGLE_SIGN_ON)
    text = metadata_xml
    if metadata is not None and metadata.filename:
        raw = await metadata.read(500_001)
        text = raw.decode("utf-8", "replace") if len(raw) <= 500_000 else ""
    try:
        app.runner.write(
            lambda uow: sso.configure_saml(uow, app.clock, app.saml, member, metadata=text)
        )
    except InvalidInput as exc:
        return _refused(request, app, member, exc)
    return see_other(PATH + "?notice=saml")


@router.post(PATH + "/policy")
def sso_policy(
    request: Request,
    member: MemberDep,
    app: AppDep,
    csrf: Csrf = "",
    default_role: Flag = "viewer",
    required: Flag = "",
    allow_unsolicited: Flag = "",
    enabled: Flag = "",
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.SINGLE_SIGN_ON)
    try:
        app.runner.write(
            lambda uow: sso.set_policy(
                uow,
                app.clock,
                member,
                default_role=default_role,
                required=required == "on",
                allow_unsolicited=allow_unsolicited == "on",
                enabled=enabled == "on",
            )
        )
    except (InvalidInput, Conflict) as exc:
        return _refused(request, app, member, exc)
    return see_other(PATH + "?notice=policy")


@router.post(PATH + "/domains")
def sso_add_domain(
    request: Request, member: MemberDep, app: AppDep, csrf: Csrf = "", domain: Domain = ""
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.SINGLE_SIGN_ON)
    try:
        app.runner.write(lambda uow: sso.add_domain(uow, app.clock, member, domain))
    except (InvalidInput, Conflict) as exc:
        return _refused(request, app, member, exc)
    return see_other(PATH + "?notice=domain")


@router.post(PATH + "/domains/verify")
def sso_verify_domain(
    request: Request, member: MemberDep, app: AppDep, csrf: Csrf = "", domain: Domain = ""
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.SINGLE_SIGN_ON)
    try:
        done = app.runner.write(
            lambda uow: sso.verify_domain(uow, app.clock, app.dns, member, domain)
        )
    except (Conflict, NotFound) as exc:
        return _refused(request, app, member, exc)
    return see_other(PATH + ("?notice=verified" if done else "?notice=pending"))


@router.post(PATH + "/domains/remove")
def sso_remove_domain(
    request: Request, member: MemberDep, app: AppDep, csrf: Csrf = "", domain: Domain = ""
) -> Response:
    check_csrf(member, csrf)
    member.require(Permission.SINGLE_SIGN_ON)
    try:
        app.runner.write(lambda uow: sso.remove_domain(uow, app.clock, member, domain))
    except NotFound as exc:
        return _refused(request, app, member, exc)
    return see_other(PATH + "?notice=removed")
