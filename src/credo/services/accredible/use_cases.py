"""What the Accredible-compatible API does, on Credo's services: a credential is issued by
services.credentials.issuing (credits, seats, ledger, e-mail, webhooks), a group is a Credo
group, and what Accredible has beyond Credo (custom attributes, grades, evidence, the
issuer's own id) is kept beside it.

One difference is Accredible's and kept inside this API only: a credential to a new
recipient when no credit is left is created unpublished (`approve: false`) and costs
nothing, where Credo's own API refuses with a 402."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import orjson

from credo.domain import accredible as dialect
from credo.domain.accredible import CredentialDetails, Evidence, GroupDetails, Invalid
from credo.domain.audit_log import changes as audit_changes
from credo.domain.credentials import Status
from credo.domain.entities import Credential, Group
from credo.domain.errors import InsufficientCredits, NotFound
from credo.services import audit_log
from credo.services.accredible import views
from credo.services.billing import credits as credit_balance
from credo.services.context import ServiceContext
from credo.services.credentials import group_settings, groups, issuing
from credo.services.credentials.audited import brief
from credo.services.credentials.group_settings import DuplicatePolicy
from credo.services.credentials.issuing import Changes, Issued, NewCredential
from credo.services.ports import UnitOfWork
from credo.services.recipients import recipient_links
from credo.services.recipients.addresses import recipient_key
from credo.services.runner import Runner
from credo.services.tenancy.clocks import load_org
from credo.services.webhooks import events as webhook_events

T = TypeVar("T")
Write = Callable[[Callable[[UnitOfWork], T]], T]


@dataclass(frozen=True, slots=True)
class Context:
    """One request's: its organization, and how it reads and writes (a write confirms the
    API key inside its own transaction)."""

    org_id: str
    ctx: ServiceContext
    runner: Runner
    check: Callable[[UnitOfWork], None]
    # A department's key (Accredible's department-scoped keys): only its groups and their
    # credentials exist for it.
    department_id: str | None = None

    def write(self, action: Callable[[UnitOfWork], T]) -> T:
        return self.runner.write(action, check=self.check)


# ------------------------------------------------------------------------------ reading


def _credential_id(uow: UnitOfWork, org_id: str, ref: str, dept: str | None = None) -> str:
    """An Accredible id (a number), Credo's own id, or the issuer's own id for it."""
    if not ref or len(ref) > 200 or not ref.isprintable():
        raise NotFound(f"no credential {ref[:64]!r}")
    found: str | None = None
    if ref.isdigit() and len(ref) < 19:
        found = uow.accredible.object_of(org_id, views.CREDENTIAL, int(ref))
    elif ref.startswith("cred_"):
        found = ref
    if found is None:
        found = uow.accredible.by_license(org_id, ref[:200])
    cred = uow.credentials.get(org_id, found) if found else None
    if cred is None or not _in_department(uow, org_id, cred.group_id, dept):
        raise NotFound(f"no credential {ref[:64]}")
    return cred.id


def _in_department(uow: UnitOfWork, org_id: str, group_id: str, dept: str | None) -> bool:
    if dept is None:
        return True
    group = uow.groups.get(org_id, group_id)
    return group is not None and group.department_id == dept


def group_id_of(
    uow: UnitOfWork, org_id: str, ref: object, field: str = "group_id", dept: str | None = None
) -> str:
    n = dialect.number(ref, field)
    found = uow.accredible.object_of(org_id, views.GROUP, n) if n else None
    group = uow.groups.get(org_id, found) if found is not None else None
    if found is None or group is None or (dept is not None and group.department_id != dept):
        raise Invalid(None, "Invalid Group")
    return found


def _view(
    uow: UnitOfWork, c: Context, creds: Sequence[Credential], full: bool = True
) -> list[dict[str, Any]]:
    return views.credentials(uow, c.ctx, load_org(uow, c.org_id), creds, full=full)


def get_credential(c: Context, ref: str) -> dict[str, Any]:
    def read(uow: UnitOfWork) -> dict[str, Any]:
        cred = uow.credentials.get(c.org_id, _credential_id(uow, c.org_id, ref, c.department_id))
        assert cred is not None
        return _view(uow, c, [cred])[0]

    return c.write(read)  # a first sight hands out its number


def list_credentials(
    c: Context, query: dict[str, Any], paging: dialect.Paging
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`GET /v1/all_credentials`: by group, e-mail, issuer's id and dates."""
    conditions: list[dialect.Condition] = []

    def read(uow: UnitOfWork) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        if query.get("group_id") not in (None, ""):
            conditions.append(
                (
                    "group_id",
                    "eq",
                    group_id_of(uow, c.org_id, query["group_id"], dept=c.department_id),
                )
            )
        email = dialect.text(query.get("email"), "email", 400)
        if email:
            try:
                conditions.append(("recipient_key", "eq", recipient_key(email)[1].value))
            except ValueError:
                return [], paging.meta(0)
        license_id = dialect.text(query.get("license_id"), "license_id", 200)
        if license_id:
            found = uow.accredible.by_license(c.org_id, license_id)
            conditions.append(("id", "eq", found or ""))
        for key, field, op in (
            ("start_date", "issued_on", "gte"),
            ("end_date", "issued_on", "lte"),
            ("start_updated_date", "updated_at", "gte"),
            ("end_updated_date", "updated_at", "lte"),
        ):
            when = dialect.day(query.get(key), key)
            if when is not None:
                conditions.append((field, op, moment(field, when, op)))
        rows, total = uow.accredible.credentials(
            c.org_id,
            conditions=conditions,
            offset=paging.offset,
            limit=paging.size,
            department_id=c.department_id,
        )
        return _view(uow, c, rows, full=False), paging.meta(total)

    return c.write(read)


def moment(field: str, when: date, op: str) -> Any:
    """A day as the bound a condition on `field` compares with: a timestamp field's day
    begins at midnight UTC, and "on or before" (or "after") a day means before the next."""
    if field in ("created_at", "updated_at"):
        start = datetime.combine(when, time(), tzinfo=UTC)
        return start + timedelta(days=1) if op in ("lte", "gt") else start
    return when


# ------------------------------------------------------------------------------ creating


@dataclass(frozen=True, slots=True)
class Item:
    """A credential as a client posted it, read and checked."""

    group_ref: object
    group_name: str | None
    name: str | None
    description: str | None
    recipient_name: str
    recipient_email: str
    issued_on: date | None
    expires_on: date | None
    expires_given: bool
    approve: bool
    details: dict[str, Any]
    evidence: list[dict[str, Any]]


def read_item(body: dict[str, Any]) -> Item:
    """Check a posted credential; Invalid names the first bad field. Unknown fields and
    explicit nulls are tolerated, as Accredible does."""
    recipient = dialect.obj(body.get("recipient"), "recipient") or {}
    name = dialect.text(recipient.get("name"), "recipient.name", 200, required=True)
    email = dialect.text(recipient.get("email"), "recipient.email", 320, required=True)
    assert name is not None and email is not None
    group_ref = body.get("group_id")
    group_name = dialect.text(body.get("group_name"), "group_name", 200)
    if group_ref in (None, "") and not group_name:
        raise Invalid("group_id", "can't be blank")
    custom = dialect.obj(body.get("custom_attributes"), "custom_attributes")
    grade = body.get("grade")
    evidence = body.get("evidence_items") or []
    if not isinstance(evidence, list):
        raise Invalid("evidence_items", "is not a list")
    return Item(
        group_ref=group_ref,
        group_name=group_name,
        name=dialect.text(body.get("name"), "name", 200),
        description=dialect.text(body.get("description"), "description", 5000),
        recipient_name=name,
        recipient_email=email,
        issued_on=dialect.day(body.get("issued_on"), "issued_on"),
        expires_on=dialect.day(body.get("expired_on"), "expired_on"),
        # An explicit null is "not given" (Moodle sends nulls): the group's expiry applies.
        expires_given=body.get("expired_on") is not None,
        approve=dialect.flag(body.get("approve"), "approve") is not False,
        details={
            "license_id": dialect.text(body.get("id"), "id", 200),
            "course_link": dialect.text(body.get("course_link"), "course_link", 2000),
            "custom_attributes": custom,
            "grade": None if grade is None else dialect.text(grade, "grade", 200),
            "meta_data": dialect.obj(body.get("meta_data"), "meta_data"),
            "complete": dialect.flag(body.get("complete"), "complete"),
        },
        evidence=[read_evidence(e, f"evidence_items.{i}") for i, e in enumerate(evidence)],
    )


def _resolve_group(uow: UnitOfWork, c: Context, item: Item) -> str:
    if item.group_ref not in (None, ""):
        return group_id_of(uow, c.org_id, item.group_ref, dept=c.department_id)
    assert item.group_name is not None
    found = uow.accredible.group_named(c.org_id, item.group_name, c.department_id)
    if found is not None:
        return found
    # Accredible's legacy form: a group named on the fly, its course from the credential.
    made = groups.create_group(
        uow,
        c.ctx.clock,
        c.org_id,
        name=item.name or item.group_name,
        description=item.description,
        expires_after_months=None,
        department_id=c.department_id,
    )
    uow.accredible.save_group_details(GroupDetails(made.id, c.org_id, item.group_name))
    return made.id


def create_credential(c: Context, item: Item) -> tuple[dict[str, Any], bool]:
    """(the credential's view, whether it was left unpublished for want of credits)."""
    return c.write(lambda uow: create_credential_in(uow, c, item))


def create_credential_in(uow: UnitOfWork, c: Context, item: Item) -> tuple[dict[str, Any], bool]:
    """`create_credential` in the caller's transaction (one, so that an Idempotency-Key's
    answer is stored with it)."""
    group_id = _resolve_group(uow, c, item)
    new = NewCredential(
        item.recipient_name, item.recipient_email, item.issued_on, item.expires_on,
        item.expires_given,
    )  # fmt: skip
    short = False
    try:
        done = issuing.issue(
            uow, c.ctx, c.org_id, group_id, [new], publish=item.approve, dry_run=False
        )
    except InsufficientCredits as exc:
        # Accredible's way: created, not published, nothing charged. The refused charge
        # wrote nothing before refusing (issuing.issue prices before it writes).
        short = True
        refusal = webhook_events.refusal(exc)
        if refusal is not None:
            webhook_events.emit(uow, [refusal], c.ctx.clock.now())
        done = issuing.issue(uow, c.ctx, c.org_id, group_id, [new], publish=False, dry_run=False)
    assert isinstance(done, Issued)
    cred = done.credentials[0]
    _keep(uow, c, cred, item.details, item.evidence)
    return _view(uow, c, [cred])[0], short


def _keep(
    uow: UnitOfWork,
    c: Context,
    cred: Credential,
    details: dict[str, Any],
    evidence: Sequence[dict[str, Any]],
) -> None:
    given = {k: v for k, v in details.items() if v is not None}
    if given:
        old = uow.accredible.details([cred.id]).get(cred.id) or CredentialDetails(cred.id, c.org_id)
        uow.accredible.save_details(replace(old, **given))
        before, after = audit_changes({k: getattr(old, k) for k in given}, given)
        if after:
            audit_log.one(
                uow, c.ctx.clock.now(), c.org_id, "credential.edited", "credential", cred.id,
                brief(before), brief(after),
            )  # fmt: skip
        attributes = given.get("custom_attributes")
        if attributes:
            names = [str(k) for k in attributes]
            uow.accredible.add_attribute_keys(c.org_id, names, c.ctx.clock.now())
    for e in evidence:
        _add_evidence(uow, c, cred.id, e)


# ------------------------------------------------------------------------------ changing


def update_credential(c: Context, ref: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """PUT and PATCH: partial. Publishing a draft (`approve: true`) without credits leaves
    it a draft, as a create does: (view, left unpublished for want of credits)."""
    recipient = dialect.obj(body.get("recipient"), "recipient") or {}
    name = dialect.text(recipient.get("name"), "recipient.name", 200)
    email = dialect.text(recipient.get("email"), "recipient.email", 320)
    issued_on = dialect.day(body.get("issued_on"), "issued_on")
    expires_on = dialect.day(body.get("expired_on"), "expired_on")
    approve = dialect.flag(body.get("approve"), "approve")
    grade = body.get("grade")
    details = {
        "license_id": dialect.text(body.get("id"), "id", 200) if "id" in body else None,
        "course_link": dialect.text(body.get("course_link"), "course_link", 2000),
        "custom_attributes": dialect.obj(body.get("custom_attributes"), "custom_attributes"),
        "grade": None if grade is None else dialect.text(grade, "grade", 200),
        "meta_data": dialect.obj(body.get("meta_data"), "meta_data"),
        "complete": dialect.flag(body.get("complete"), "complete"),
    }

    def change(uow: UnitOfWork) -> str:
        cred_id = _credential_id(uow, c.org_id, ref, c.department_id)
        cred = uow.credentials.get(c.org_id, cred_id)
        assert cred is not None
        expiry = expires_on
        if expiry is not None and expiry < (issued_on or cred.issued_on):
            # Open edX "revokes" by setting a past expiry: expired from its issue date.
            expiry = issued_on or cred.issued_on
        changes = Changes(
            recipient_name=name,
            recipient_email=email,
            issued_on=issued_on,
            expires_on=expiry,
            expires_given="expired_on" in body,
        )
        if any((name, email, issued_on, "expired_on" in body)):
            issuing.edit(uow, c.ctx, c.org_id, cred_id, changes, dry_run=False)
        if approve is False and cred.status is Status.PUBLISHED:
            raise Invalid("approve", "cannot unpublish a published credential; delete it")
        refreshed = uow.credentials.get(c.org_id, cred_id)
        assert refreshed is not None
        _keep(uow, c, refreshed, details, [])
        return cred_id

    cred_id = c.write(change)
    short = False
    if approve:
        try:
            c.write(lambda uow: _publish_draft(uow, c, cred_id))
        except InsufficientCredits:
            short = True
    return get_credential(c, cred_id), short


def _publish_draft(uow: UnitOfWork, c: Context, cred_id: str) -> None:
    cred = uow.credentials.get(c.org_id, cred_id)
    if cred is not None and cred.status is Status.DRAFT:
        issuing.publish(uow, c.ctx, c.org_id, cred_id, dry_run=False)


def delete_credential(c: Context, ref: str) -> dict[str, Any]:
    def action(uow: UnitOfWork) -> dict[str, Any]:
        cred_id = _credential_id(uow, c.org_id, ref, c.department_id)
        cred = uow.credentials.get(c.org_id, cred_id)
        assert cred is not None
        view = _view(uow, c, [cred])[0]
        issuing.delete(uow, c.ctx, c.org_id, cred_id)
        return view

    return c.write(action)


# ------------------------------------------------------------------------------ evidence


def read_evidence(raw: object, field: str = "evidence_item") -> dict[str, Any]:
    body = dialect.obj(raw, field) or {}
    category = dialect.text(body.get("category") or body.get("type"), f"{field}.category", 40)
    if category is None:
        raise Invalid(f"{field}.category", "can't be blank")
    if category not in dialect.EVIDENCE_CATEGORIES:
        raise Invalid(
            f"{field}.category", f"is not one of {', '.join(dialect.EVIDENCE_CATEGORIES)}"
        )
    description = dialect.text(body.get("description"), f"{field}.description", 5000)
    if description is None:
        raise Invalid(f"{field}.description", "can't be blank")
    position = body.get("position")
    return {
        "description": description,
        "category": category,
        "url": dialect.text(body.get("url"), f"{field}.url", 2000),
        "string_object": _string_object(category, body.get("string_object")),
        "hidden": bool(dialect.flag(body.get("hidden"), f"{field}.hidden")),
        "position": dialect.number(position, f"{field}.position") if position else None,
    }


def _string_object(category: str, value: object) -> str | None:
    """As JSON text. A grade given as a number or a numeric string is `{"grade": n}`, as
    Accredible answers it; text that is JSON (course_duration, transcript) is kept as is."""
    if value is None:
        return None
    if category == "grade" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
        if isinstance(value, str):
            try:
                parsed = orjson.loads(value)
            except orjson.JSONDecodeError:
                parsed = value
            if isinstance(parsed, dict):
                return orjson.dumps(parsed).decode()
            value = parsed
        return orjson.dumps({"grade": value}).decode()
    if isinstance(value, str):
        if len(value) > 20_000:
            raise Invalid("string_object", "is too long")
        try:
            orjson.loads(value)
        except orjson.JSONDecodeError:
            return orjson.dumps(value).decode()
        return value
    text = orjson.dumps(value).decode()
    if len(text) > 20_000:
        raise Invalid("string_object", "is too long")
    return text


def _add_evidence(uow: UnitOfWork, c: Context, cred_id: str, e: dict[str, Any]) -> Evidence:
    now = c.ctx.clock.now()
    item = Evidence(id=0, credential_id=cred_id, created_at=now, updated_at=now, **e)
    item = replace(item, id=uow.accredible.add_evidence(c.org_id, item))
    _evidence_audit(uow, c, "credential.evidence_added", None, item)
    return item


def _evidence_state(e: Evidence) -> dict[str, Any]:
    state: dict[str, Any] = brief(
        {
            "evidence_item": e.id,
            "description": e.description,
            "category": e.category,
            "url": e.url,
            "string_object": e.string_object,
            "hidden": e.hidden,
        }
    )
    return state


def _evidence_audit(
    uow: UnitOfWork, c: Context, action: str, old: Evidence | None, new: Evidence | None
) -> None:
    item = new or old
    assert item is not None
    before = None if old is None else _evidence_state(old)
    after = None if new is None else _evidence_state(new)
    if before is not None and after is not None:
        before, after = audit_changes(before, after)
        before["evidence_item"] = after["evidence_item"] = item.id
    now = c.ctx.clock.now()
    cred_id = item.credential_id
    audit_log.one(uow, now, c.org_id, action, "credential", cred_id, before, after)


def add_evidence(c: Context, ref: str, raw: object) -> dict[str, Any]:
    e = read_evidence(raw)

    def action(uow: UnitOfWork) -> dict[str, Any]:
        cred_id = _credential_id(uow, c.org_id, ref, c.department_id)
        return views.evidence(_add_evidence(uow, c, cred_id, e))

    return c.write(action)


def _one_evidence(uow: UnitOfWork, c: Context, ref: str, item_ref: str) -> Evidence:
    cred_id = _credential_id(uow, c.org_id, ref, c.department_id)
    found = (
        uow.accredible.one_evidence(c.org_id, cred_id, int(item_ref))
        if item_ref.isdigit() and len(item_ref) < 19
        else None
    )
    if found is None:
        raise NotFound("No Evidence Item with the id given on the credential")
    return found


def get_evidence(c: Context, ref: str, item_ref: str) -> dict[str, Any]:
    return c.write(lambda uow: views.evidence(_one_evidence(uow, c, ref, item_ref)))


def update_evidence(c: Context, ref: str, item_ref: str, raw: object) -> dict[str, Any]:
    body = dialect.obj(raw, "evidence_item") or {}

    def action(uow: UnitOfWork) -> dict[str, Any]:
        old = _one_evidence(uow, c, ref, item_ref)
        merged = {
            "description": old.description,
            "category": old.category,
            "url": old.url,
            "string_object": old.string_object,
            "hidden": old.hidden,
            "position": old.position,
        }
        given = {k: v for k, v in body.items() if v is not None}
        if "string_object" in given and "category" not in given:
            given["category"] = old.category
        checked = read_evidence({**merged, **given}) if given else merged
        if "string_object" not in given:
            checked["string_object"] = old.string_object
        item = replace(old, updated_at=c.ctx.clock.now(), **checked)
        uow.accredible.update_evidence(c.org_id, item)
        _evidence_audit(uow, c, "credential.evidence_changed", old, item)
        return views.evidence(item)

    return c.write(action)


def delete_evidence(c: Context, ref: str, item_ref: str) -> dict[str, Any]:
    def action(uow: UnitOfWork) -> dict[str, Any]:
        item = _one_evidence(uow, c, ref, item_ref)
        uow.accredible.delete_evidence(c.org_id, item.id)
        _evidence_audit(uow, c, "credential.evidence_deleted", item, None)
        return {"id": item.id, "description": item.description}

    return c.write(action)


# ------------------------------------------------------------------------------ groups


def _group_view(uow: UnitOfWork, c: Context, gs: Sequence[Group]) -> list[dict[str, Any]]:
    numbers = uow.accredible.numbers(c.org_id, views.GROUP, [g.id for g in gs])
    details = uow.accredible.group_details([g.id for g in gs])
    return [views.group(g, numbers[g.id], details.get(g.id)) for g in gs]


def group_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    name = dialect.text(body.get("name"), "name", 200, required=creating)
    course = dialect.text(body.get("course_name"), "course_name", 200)
    description = dialect.text(body.get("course_description"), "course_description", 5000)
    raw_years = body.get("auto_expiry")
    years = None if raw_years in (None, "", 0, "0") else dialect.number(raw_years, "auto_expiry")
    if years is not None and years > 100:
        raise Invalid("auto_expiry", "is at most 100 years")
    return {
        "name": name,
        "course_name": course or (name if creating else None),
        "course_description": description,
        "course_link": dialect.text(body.get("course_link"), "course_link", 2000),
        "language": dialect.text(body.get("language"), "language", 10),
        "meta_data": dialect.obj(body.get("meta_data"), "meta_data"),
        "auto_expiry": years,
        "auto_expiry_given": "auto_expiry" in body,
        "allow_duplicates": dialect.flag(
            body.get("allow_duplicate_credentials"), "allow_duplicate_credentials"
        ),
    }


def create_group(c: Context, body: dict[str, Any]) -> dict[str, Any]:
    f = group_fields(body, creating=True)
    return c.write(lambda uow: create_group_in(uow, c, f))


def create_group_in(uow: UnitOfWork, c: Context, f: dict[str, Any]) -> dict[str, Any]:
    """A group from `group_fields`, in the caller's transaction."""
    g = groups.create_group(
        uow,
        c.ctx.clock,
        c.org_id,
        name=f["course_name"],
        description=f["course_description"],
        expires_after_months=f["auto_expiry"] * 12 if f["auto_expiry"] else None,
        department_id=c.department_id,
    )
    # Accredible's default: no second credential to the same recipient in a group.
    if not f["allow_duplicates"]:
        g = group_settings.set_duplicate_policy(
            uow, c.org_id, g.id, DuplicatePolicy.REFUSE, c.ctx.clock.now()
        )
    uow.accredible.save_group_details(
        GroupDetails(g.id, c.org_id, f["name"], f["course_link"], f["meta_data"], f["language"])
    )
    return _group_view(uow, c, [g])[0]


def _group(uow: UnitOfWork, c: Context, ref: str) -> Group:
    """A group named in the path: an unknown one is a 404 (in a body, "Invalid Group")."""
    found = (
        uow.accredible.object_of(c.org_id, views.GROUP, int(ref))
        if ref.isdigit() and len(ref) < 19
        else None
    )
    group = uow.groups.get(c.org_id, found) if found else None
    if group is None or group.archived_at is not None:  # deleted through this API
        raise NotFound("Group does not exist")
    if c.department_id is not None and group.department_id != c.department_id:
        raise NotFound("Group does not exist")
    return group


def get_group(c: Context, ref: str) -> dict[str, Any]:
    return c.write(lambda uow: _group_view(uow, c, [_group(uow, c, ref)])[0])


def update_group(c: Context, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    f = group_fields(body, creating=False)

    def action(uow: UnitOfWork) -> dict[str, Any]:
        g = _group(uow, c, ref)
        changes: dict[str, object] = {}
        if f["course_name"]:
            changes["name"] = f["course_name"]
        if "course_description" in body:
            changes["description"] = f["course_description"]
        if f["auto_expiry_given"]:
            changes["expires_after_months"] = f["auto_expiry"] * 12 if f["auto_expiry"] else None
        g = groups.update_group(uow, c.org_id, g.id, changes, c.ctx.clock.now())
        if f["allow_duplicates"] is not None:
            policy = DuplicatePolicy.ALLOW if f["allow_duplicates"] else DuplicatePolicy.REFUSE
            g = group_settings.set_duplicate_policy(uow, c.org_id, g.id, policy, c.ctx.clock.now())
        old = uow.accredible.group_details([g.id]).get(g.id) or GroupDetails(g.id, c.org_id)
        given = {k: f[k] for k in ("course_link", "meta_data", "language") if f[k] is not None}
        if f["name"]:
            given["internal_name"] = f["name"]
        uow.accredible.save_group_details(replace(old, **given))
        before, after = audit_changes({k: getattr(old, k) for k in given}, given)
        if after:
            audit_log.one(
                uow, c.ctx.clock.now(), c.org_id, "group.updated", "group", g.id,
                brief(before), brief(after),
            )  # fmt: skip
        return _group_view(uow, c, [g])[0]

    return c.write(action)


def delete_group(c: Context, ref: str) -> dict[str, Any]:
    """Archived, not erased: its credentials stay valid, and it issues nothing new."""

    def action(uow: UnitOfWork) -> dict[str, Any]:
        g = _group(uow, c, ref)
        view = _group_view(uow, c, [g])[0]
        group_settings.set_archived(uow, c.org_id, g.id, True, c.ctx.clock.now())
        return view

    return c.write(action)


def list_groups(
    c: Context, name: str | None, ids: Sequence[object] | None, paging: dialect.Paging
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    def read(uow: UnitOfWork) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        wanted = None
        if ids is not None:
            wanted = []
            for i, ref in enumerate(ids):
                n = dialect.number(ref, f"ids.{i}")
                found = uow.accredible.object_of(c.org_id, views.GROUP, n) if n else None
                if found:
                    wanted.append(found)
        rows, total = uow.accredible.groups(
            c.org_id,
            name=name,
            group_ids=wanted,
            offset=paging.offset,
            limit=paging.size,
            department_id=c.department_id,
        )
        return _group_view(uow, c, rows), paging.meta(total)

    return c.write(read)


# ------------------------------------------------------------------------------ the rest


def issuer(c: Context) -> dict[str, Any]:
    def read(uow: UnitOfWork) -> dict[str, Any]:
        org = load_org(uow, c.org_id)
        balance = credit_balance.balance(uow, c.ctx.clock, c.org_id)
        number = uow.accredible.numbers(c.org_id, views.ORGANIZATION, [org.id])[org.id]
        return {
            "id": number,
            "name": org.name,
            "email": None,
            "certificate_left": balance.remaining,
            "language": "en",
            "url": c.ctx.base_url,
            "spiderable": True,
            "whitelisted_domain": org.domain,
            "linkedin_company_id": None,
            "linkedin_school_id": None,
        }

    return c.write(read)


def sso_link(c: Context, body: dict[str, Any]) -> str | None:
    """The recipient's own page of their most recent published credential that matches
    (by credential id, or by e-mail and optionally group): its private link."""

    def read(uow: UnitOfWork) -> str | None:
        conditions: list[dialect.Condition] = [("status", "eq", Status.PUBLISHED.value)]
        ref = body.get("credential_id")
        if ref not in (None, ""):
            try:
                conditions.append(
                    ("id", "eq", _credential_id(uow, c.org_id, str(ref), c.department_id))
                )
            except NotFound:
                return None
        email = dialect.text(body.get("recipient_email"), "recipient_email", 400)
        if email:
            try:
                conditions.append(("recipient_key", "eq", recipient_key(email)[1].value))
            except ValueError:
                return None
        if len(conditions) == 1:
            raise Invalid("recipient_email", "or credential_id is needed")
        if body.get("group_id") not in (None, ""):
            conditions.append(
                (
                    "group_id",
                    "eq",
                    group_id_of(uow, c.org_id, body["group_id"], dept=c.department_id),
                )
            )
        rows, _ = uow.accredible.credentials(
            c.org_id,
            conditions=conditions,
            order=[("id", True)],
            offset=0,
            limit=1,
            department_id=c.department_id,
        )
        return recipient_links.manage_url(c.ctx, rows[0].id) if rows else None

    return c.write(read)


def attribute_keys(
    c: Context, name: str | None, kind: str | None, paging: dialect.Paging
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    def read(uow: UnitOfWork) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        rows, total = uow.accredible.attribute_keys(
            c.org_id, name=name, kind=kind, offset=paging.offset, limit=paging.size
        )
        keys = [
            {"id": i + 1 + paging.offset, "name": n, "kind": k, "department_id": None}
            for i, (n, k) in enumerate(rows)
        ]
        return keys, paging.meta(total)

    return c.runner.read(read)
