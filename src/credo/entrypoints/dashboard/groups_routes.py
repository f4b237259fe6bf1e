"""Groups and their designs, with a live preview.

- GET /app/groups (archived ones with ?archived=1), GET/POST /app/groups/new,
  GET/POST /app/groups/{id}, POST /app/groups/{id}/archive and /unarchive.
- A form posted with action=preview is validated and drawn, never saved: the page comes
  back with the badge and certificate of what was posted (no JavaScript needed).
- GET /app/groups[/{id}]/preview/badge.svg, certificate.png, certificate.pdf draw the
  design given as query parameters over the stored one (app.js reloads the badge as the
  form changes). Nothing is stored; the same renderers draw real credentials.
- Logo and signature uploads become data: URIs (at most 512 KB, PNG, JPEG or SVG) checked
  by the same validation as the API's designs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import HTTPException

from credo.adapters.pdf import thumbnails
from credo.bootstrap import App
from credo.domain import designs
from credo.domain.accounts import Permission
from credo.domain.entities import Group
from credo.domain.errors import InvalidInput
from credo.entrypoints.api.context import AppDep, object_id
from credo.entrypoints.dashboard.render import page, see_other
from credo.entrypoints.dashboard.session import MemberDep, check_csrf
from credo.services.credentials import group_settings, groups
from credo.services.credentials.group_settings import POLICY_LABELS, DuplicatePolicy
from credo.services.people.accounts import Member
from credo.services.ports import UnitOfWork
from credo.services.rendering import certificates, design_previews
from credo.services.rendering.design_previews import Draft

router = APIRouter(include_in_schema=False)

DESIGN_FIELDS = (
    "certificate",
    "badge",
    "primary_color",
    "accent_color",
    "paper",
    "orientation",
    "signatory_name",
    "signatory_title",
)
IMAGE_FIELDS = ("logo", "signature_image")
COLOUR_FIELDS = (("primary_color", "Primary colour"), ("accent_color", "Accent colour"))
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
# Beside the preview, in words: what each orientation changes on the page.
ORIENTATION_WORDS = {
    "landscape": "Wider than tall, as diplomas are usually framed: the dates, the signature "
    "and the QR code to check it sit side by side along the bottom.",
    "portrait": "Taller than wide, like a letter: the text starts lower, and the QR code "
    "goes on a line of its own under the dates and the signature.",
}
MAX_NAME = 200
MAX_TEXT = 5000
MAX_MONTHS = 1200
# An SVG answered to a browser: nothing in it may run or load anything.
SVG_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
IMAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


@dataclass
class Posted:
    """A form as posted: its text fields (first value of each) and non-empty uploads."""

    fields: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)  # every value of each field

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)

    def getlist(self, name: str) -> list[str]:
        return self.lists.get(name, [])


async def posted_form(request: Request) -> Posted:
    """Read a urlencoded or multipart form, with bounds: a few files, each read only up to
    one byte past what is allowed (so a huge upload is refused, not buffered)."""
    try:
        form = await request.form(max_files=4, max_fields=400, max_part_size=1024 * 1024)
    except HTTPException as exc:
        raise InvalidInput(
            "the form could not be read", [{"field": "form", "message": str(exc.detail)}]
        ) from None
    try:
        fields: dict[str, str] = {}
        files: dict[str, bytes] = {}
        lists: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(name, value)
                lists.setdefault(name, []).append(value)
            elif name not in files:
                data = await value.read(designs.MAX_IMAGE_BYTES + 1)
                if data:
                    files[name] = data
        return Posted(fields, files, lists)
    finally:
        await form.close()


PostedDep = Annotated[Posted, Depends(posted_form)]


def _no_nul(text: str) -> bool:
    return "\x00" not in text


def _text(posted: Mapping[str, str], name: str, limit: int, errors: dict[str, str]) -> str | None:
    value = posted.get(name, "").strip()
    if len(value) > limit:
        errors[name] = f"must be at most {limit} characters"
    elif not _no_nul(value):
        errors[name] = "must not contain NUL characters"
    return value or None


def _data_uri(data: bytes) -> str | None:
    media = next((m for magic, m in _MAGIC if data.startswith(magic)), None)
    if media is None and b"<svg" in data[:4096]:
        media = "image/svg+xml"
    if media is None:
        return None
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


@dataclass
class GroupForm:
    """The group form's values as posted (or as stored), and what is wrong with them."""

    name: str = ""
    description: str = ""
    criteria: str = ""
    expires_after_months: str = ""
    duplicate_policy: str = DuplicatePolicy.ALLOW.value
    design: designs.Design = designs.DEFAULT
    department_id: str = ""  # "": out of every department
    errors: dict[str, str] = field(default_factory=dict)
    # Images uploaded with a preview and not saved yet: carried in hidden fields.
    pending: dict[str, str] = field(default_factory=dict)
    # Colour codes as typed, so that a mistyped one comes back to be corrected.
    colour_text: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, g: Group) -> GroupForm:
        return cls(
            name=g.name,
            description=g.description or "",
            criteria=g.criteria or "",
            expires_after_months=str(g.expires_after_months or ""),
            duplicate_policy=group_settings.policy_of(g).value,
            design=designs.load(g.design),
            department_id=g.department_id or "",
        )

    def months(self) -> int | None:
        return int(self.expires_after_months) if self.expires_after_months else None

    def draft(self) -> Draft:
        return Draft(self.name, self.description, self.months(), self.design)


def parse_group_form(posted: Posted, base: designs.Design) -> tuple[GroupForm, dict[str, Any]]:
    """The form's values and the API-shaped design object (for services.groups)."""
    errors: dict[str, str] = {}
    f = posted.fields
    name = _text(f, "name", MAX_NAME, errors) or ""
    if not name and "name" not in errors:
        errors["name"] = "is required"
    description = _text(f, "description", MAX_TEXT, errors) or ""
    criteria = _text(f, "criteria", MAX_TEXT, errors) or ""
    months = f.get("expires_after_months", "").strip()
    if months and not (months.isdigit() and 1 <= int(months) <= MAX_MONTHS):
        errors["expires_after_months"] = f"must be a whole number of months from 1 to {MAX_MONTHS}"
    policy = f.get("duplicate_policy", DuplicatePolicy.ALLOW.value)
    if policy not in {p.value for p in DuplicatePolicy}:
        errors["duplicate_policy"] = "must be allow, warn or refuse"
    department_id = f.get("department_id", "").strip()[:64]
    raw, pending = design_input(posted, errors)
    form = GroupForm(
        name=name,
        description=description,
        criteria=criteria,
        expires_after_months=months,
        duplicate_policy=policy,
        design=base,
        department_id=department_id,
        errors=errors,
        pending=pending,
        colour_text={n: f[n].strip() for n, _ in COLOUR_FIELDS if n in f},
    )
    try:
        form.design = groups.design_of(raw, base)
    except InvalidInput as exc:
        for e in exc.errors:
            errors.setdefault(e["field"].removeprefix("design."), e["message"])
    return form, raw


def design_input(posted: Posted, errors: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The design fields of a form as the API's design object: absent fields keep the
    stored value; an upload replaces an image, `remove_<image>` drops it."""
    raw: dict[str, Any] = {}
    for name in DESIGN_FIELDS:
        if name in posted.fields:
            value = posted.fields[name].strip()
            if name in ("signatory_name", "signatory_title"):
                raw[name] = value or None
            else:
                raw[name] = value
    pending: dict[str, str] = {}
    for name in IMAGE_FIELDS:
        upload = posted.files.get(name)
        kept = posted.get(f"pending_{name}")
        if upload is not None:
            if len(upload) > designs.MAX_IMAGE_BYTES:
                errors[name] = f"must be at most {designs.MAX_IMAGE_BYTES // 1024} KB"
                continue
            uri = _data_uri(upload)
            if uri is None:
                errors[name] = "must be a PNG, JPEG or SVG image"
                continue
            raw[name] = pending[name] = uri
        elif posted.get(f"remove_{name}"):
            raw[name] = None
        elif kept:
            raw[name] = pending[name] = kept
    return raw, pending


def _query_design(params: Mapping[str, str], base: designs.Design) -> tuple[designs.Design, str]:
    """The design a preview URL names over `base`, and the name it draws."""
    errors: dict[str, str] = {}
    posted = Posted({k: v for k, v in params.items() if k in DESIGN_FIELDS or k == "name"})
    raw, _ = design_input(posted, errors)
    name = params.get("name", "")[:MAX_NAME]
    return groups.design_of(raw, base), name


def preview_query(form: GroupForm) -> str:
    """The preview URLs' query: the form's design without its images (those come from the
    stored design; a preview post shows new ones inline)."""
    values = {k: getattr(form.design, k) or "" for k in DESIGN_FIELDS}
    values["name"] = form.name
    values["expires_after_months"] = form.expires_after_months
    return urlencode(values)


def colour_fields(form: GroupForm) -> list[tuple[str, str, str, str | None]]:
    """(field, label, text shown, swatch colour) of each colour field. The swatch is the
    code typed when it is one, else none: a stored colour beside a mistyped code would
    show a colour that is not in the field."""
    out = []
    for name, label in COLOUR_FIELDS:
        text = form.colour_text.get(name, getattr(form.design, name))
        out.append((name, label, text, text.lower() if _HEX.fullmatch(text) else None))
    return out


def _base(group_id: str | None) -> str:
    return f"/app/groups/{group_id}/preview" if group_id else "/app/groups/preview"


def render_form(
    request: Request,
    app: App,
    member: Member,
    form: GroupForm,
    group: Group | None,
    status: int = 200,
    *,
    inline: bool = False,
    saved: bool = False,
) -> Response:
    """The group page. `inline`: the previews are drawn now from the posted form (data:
    URIs), else they are URLs the browser fetches (and app.js refreshes)."""
    base = _base(group.id if group else None)
    query = preview_query(form)
    badge_src = f"{base}/badge.svg?{query}"
    certificate_src: str | None = f"{base}/certificate.png?{query}"
    if not thumbnails.available():
        certificate_src = None
    if inline and not form.errors:
        sampled = app.runner.read(
            lambda uow: design_previews.sample_context(uow, app.ctx, member.organization.id)
        )
        draft = form.draft()
        svg = app.badges.svg(design_previews.badge_content(draft, sampled))
        badge_src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        if certificate_src is not None:
            pdf = app.certificates.render(
                design_previews.certificate_content(draft, sampled, app.ctx)
            )
            try:
                png = thumbnails.first_page_png(pdf)
                certificate_src = "data:image/png;base64," + base64.b64encode(png).decode()
            except thumbnails.ThumbnailError:
                certificate_src = None
    return page(
        request,
        app,
        member,
        "app/groups_form.html",
        status,
        form=form,
        group=group,
        can_edit=member.can(Permission.MANAGE_GROUPS),
        badge_src=badge_src,
        badge_base=f"{base}/badge.svg",
        certificate_src=certificate_src,
        certificate_pdf=f"{base}/certificate.pdf?{query}",
        live=not form.pending,
        saved=saved,
        looks=certificates.LOOKS,
        orientation_words=ORIENTATION_WORDS,
        colours=colour_fields(form),
        badge_looks=designs.BADGE_LOOKS,
        papers=designs.PAPER_SIZES,
        orientations=designs.ORIENTATIONS,
        policies=POLICY_LABELS,
        max_kb=designs.MAX_IMAGE_BYTES // 1024,
        departments=app.runner.read(lambda uow: uow.departments.all(member.organization.id)),
        can_place=member.can(Permission.BILLING),
    )


def _group(app: App, member: Member, group_id: str) -> Group:
    object_id(group_id)
    org_id = member.organization.id
    return app.runner.read(lambda uow: groups.get_group(uow, org_id, group_id))


@router.get("/app/groups")
def list_groups(
    request: Request, member: MemberDep, app: AppDep, archived: str | None = None
) -> Response:
    show_archived = archived == "1"
    org_id = member.organization.id
    rows = app.runner.read(lambda uow: uow.credential_search.groups(org_id, archived=show_archived))
    return page(
        request,
        app,
        member,
        "app/groups.html",
        rows=rows,
        archived=show_archived,
        can_edit=member.can(Permission.MANAGE_GROUPS),
        policies=POLICY_LABELS,
    )


@router.get("/app/groups/new")
def new_group(request: Request, member: MemberDep, app: AppDep) -> Response:
    member.require(Permission.MANAGE_GROUPS)
    return render_form(request, app, member, GroupForm(), None)


@router.post("/app/groups/new")
def create_group(request: Request, member: MemberDep, app: AppDep, posted: PostedDep) -> Response:
    member.require(Permission.MANAGE_GROUPS)
    check_csrf(member, posted.get("csrf"))
    form, raw = parse_group_form(posted, designs.DEFAULT)
    if form.errors:
        return render_form(request, app, member, form, None, 422)
    if posted.get("action") == "preview":
        return render_form(request, app, member, form, None, inline=True)
    org_id = member.organization.id

    def action(uow: UnitOfWork) -> Group:
        g = groups.create_group(
            uow,
            app.clock,
            org_id,
            name=form.name,
            description=form.description or None,
            expires_after_months=form.months(),
            criteria=form.criteria or None,
            design=raw,
            department_id=_placed(member, form, None),
        )
        return group_settings.set_duplicate_policy(
            uow, org_id, g.id, DuplicatePolicy(form.duplicate_policy), app.clock.now()
        )

    try:
        g = app.runner.write(action)
    except InvalidInput as exc:
        form.errors.update({e["field"].removeprefix("design."): e["message"] for e in exc.errors})
        return render_form(request, app, member, form, None, 422)
    return see_other(f"/app/groups/{g.id}?saved=1")


@router.get("/app/groups/{group_id}")
def edit_group(
    request: Request, group_id: str, member: MemberDep, app: AppDep, saved: str | None = None
) -> Response:
    g = _group(app, member, group_id)
    return render_form(request, app, member, GroupForm.of(g), g, saved=saved == "1")


@router.post("/app/groups/{group_id}")
def update_group(
    request: Request, group_id: str, member: MemberDep, app: AppDep, posted: PostedDep
) -> Response:
    member.require(Permission.MANAGE_GROUPS)
    check_csrf(member, posted.get("csrf"))
    g = _group(app, member, group_id)
    form, raw = parse_group_form(posted, designs.load(g.design))
    if form.errors:
        return render_form(request, app, member, form, g, 422)
    if posted.get("action") == "preview":
        return render_form(request, app, member, form, g, inline=True)
    org_id = member.organization.id
    changes = {
        "name": form.name,
        "description": form.description or None,
        "criteria": form.criteria or None,
        "expires_after_months": form.months(),
        "design": raw,
    }
    if (form.department_id or None) != g.department_id:  # a move, by an owner only
        changes["department_id"] = _placed(member, form, g)

    def action(uow: UnitOfWork) -> Group:
        groups.update_group(uow, org_id, group_id, changes, app.clock.now())
        return group_settings.set_duplicate_policy(
            uow, org_id, group_id, DuplicatePolicy(form.duplicate_policy), app.clock.now()
        )

    try:
        app.runner.write(action)
    except InvalidInput as exc:
        form.errors.update({e["field"].removeprefix("design."): e["message"] for e in exc.errors})
        return render_form(request, app, member, form, g, 422)
    return see_other(f"/app/groups/{group_id}?saved=1")


def _placed(member: Member, form: GroupForm, group: Group | None) -> str | None:
    """The department the form puts the group in. Only owners place groups: a department's
    cap is theirs to enforce, and moving a group out would escape it."""
    chosen = form.department_id or None
    current = group.department_id if group is not None else None
    if chosen != current:
        member.require(Permission.BILLING)
    return chosen


def _archive(group_id: str, member: Member, app: App, csrf: str, archived: bool) -> Response:
    member.require(Permission.MANAGE_GROUPS)
    check_csrf(member, csrf)
    object_id(group_id)
    org_id = member.organization.id
    app.runner.write(
        lambda uow: group_settings.set_archived(uow, org_id, group_id, archived, app.clock.now())
    )
    return see_other(f"/app/groups/{group_id}")


@router.post("/app/groups/{group_id}/archive")
def archive_group(group_id: str, member: MemberDep, app: AppDep, posted: PostedDep) -> Response:
    return _archive(group_id, member, app, posted.get("csrf"), True)


@router.post("/app/groups/{group_id}/unarchive")
def unarchive_group(group_id: str, member: MemberDep, app: AppDep, posted: PostedDep) -> Response:
    return _archive(group_id, member, app, posted.get("csrf"), False)


# Previews drawn from query parameters: any member may look (they change nothing).


def _draft(
    app: App, member: Member, group_id: str | None, params: Mapping[str, str]
) -> tuple[Draft, design_previews.Sampled]:
    org_id = member.organization.id

    def load(uow: UnitOfWork) -> tuple[Group | None, design_previews.Sampled]:
        g = groups.get_group(uow, org_id, group_id) if group_id else None
        return g, design_previews.sample_context(uow, app.ctx, org_id)

    if group_id:
        object_id(group_id)
    g, sampled = app.runner.read(load)
    base = designs.load(g.design) if g else designs.DEFAULT
    design, name = _query_design(params, base)
    months_text = params.get("expires_after_months", "")
    if g is not None and "expires_after_months" not in params:
        months: int | None = g.expires_after_months
    else:
        months = (
            int(months_text) if months_text.isdigit() and 0 < int(months_text) <= 1200 else None
        )
    if g is not None and "name" not in params:
        name = g.name
    description = g.description or "" if g else ""
    return Draft(name, description, months, design), sampled


def _badge(app: App, member: Member, group_id: str | None, request: Request) -> Response:
    draft, sampled = _draft(app, member, group_id, request.query_params)
    svg = app.badges.svg(design_previews.badge_content(draft, sampled))
    headers = {**IMAGE_HEADERS, "Content-Security-Policy": SVG_POLICY}
    return Response(svg.encode(), media_type="image/svg+xml", headers=headers)


def _certificate(
    app: App, member: Member, group_id: str | None, request: Request, fmt: str
) -> Response:
    draft, sampled = _draft(app, member, group_id, request.query_params)
    pdf = app.certificates.render(design_previews.certificate_content(draft, sampled, app.ctx))
    if fmt == "pdf":
        headers = {
            **IMAGE_HEADERS,
            "Content-Disposition": 'inline; filename="certificate-preview.pdf"',
        }
        return Response(pdf, media_type=certificates.MEDIA_TYPE, headers=headers)
    try:
        png = thumbnails.first_page_png(pdf)
    except thumbnails.ThumbnailError:
        return Response("no image converter here: open the PDF preview", 503, headers=IMAGE_HEADERS)
    return Response(png, media_type="image/png", headers=IMAGE_HEADERS)


@router.get("/app/groups/preview/badge.svg")
def new_badge_preview(request: Request, member: MemberDep, app: AppDep) -> Response:
    return _badge(app, member, None, request)


@router.get("/app/groups/preview/certificate.{fmt}")
def new_certificate_preview(request: Request, fmt: str, member: MemberDep, app: AppDep) -> Response:
    if fmt not in ("png", "pdf"):
        return Response(status_code=404)
    return _certificate(app, member, None, request, fmt)


@router.get("/app/groups/{group_id}/preview/badge.svg")
def badge_preview(request: Request, group_id: str, member: MemberDep, app: AppDep) -> Response:
    return _badge(app, member, group_id, request)


@router.get("/app/groups/{group_id}/preview/certificate.{fmt}")
def certificate_preview(
    request: Request, group_id: str, fmt: str, member: MemberDep, app: AppDep
) -> Response:
    if fmt not in ("png", "pdf"):
        return Response(status_code=404)
    return _certificate(app, member, group_id, request, fmt)
