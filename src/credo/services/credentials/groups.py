"""Groups: a course or achievement that credentials are issued from."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from credo.clock import Clock
from credo.domain import designs
from credo.domain.entities import Group
from credo.domain.errors import Conflict, InvalidInput, NotFound
from credo.ids import ID_PATTERN, new_id
from credo.services import audit_log
from credo.services.credentials import audited
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import lock_org


def design_of(raw: object, base: designs.Design = designs.DEFAULT) -> designs.Design:
    """A design from API input, merged over `base`. InvalidInput names each bad field as
    `design.<name>`."""
    design = designs.parse(raw, base)
    errors = [
        {"field": f"design.{name}", "message": "must not contain NUL or unpaired surrogates"}
        for name in ("signatory_name", "signatory_title")
        if not _printable(getattr(design, name))
    ]
    errors += [
        {"field": f"design.{name}", "message": "is not a PNG, JPEG or SVG image"}
        for name in ("logo", "signature_image")
        if not _image(getattr(design, name))
    ]
    if errors:
        raise InvalidInput(f"{len(errors)} design field(s) are invalid", errors)
    return design


def _printable(text: str | None) -> bool:
    """Text a certificate can draw: UTF-8 encodable (no lone surrogates) and without NUL."""
    if text is None:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


_MAGIC = {"data:image/png": b"\x89PNG\r\n\x1a\n", "data:image/jpeg": b"\xff\xd8\xff"}


def _image(uri: str | None) -> bool:
    """The data URI holds what its media type says (designs.parse checked its shape): an
    image that cannot be drawn would leave a hole in every certificate of the group."""
    if uri is None:
        return True
    media, _, data = uri.partition(";base64,")
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    if media == "data:image/svg+xml":
        return b"<svg" in raw[:4096]
    magic = _MAGIC.get(media)
    return magic is not None and raw.startswith(magic)


def _stored(design: designs.Design | None) -> str | None:
    return None if design is None or design == designs.DEFAULT else design.to_json()


def create_group(
    uow: UnitOfWork,
    clock: Clock,
    org_id: str,
    *,
    name: str,
    description: str | None,
    expires_after_months: int | None,
    criteria: str | None = None,
    design: object = None,
    department_id: str | None = None,
) -> Group:
    """`design`: the API's design object (None: the default design). `department_id`: the
    department that owns it (R16), one of the organization's."""
    if department_id is not None:
        lock_org(uow, org_id)  # the department is not deleted under it
        require_department(uow, org_id, department_id)
    group = Group(
        id=new_id("grp", clock.now()),
        organization_id=org_id,
        name=name,
        description=description,
        expires_after_months=expires_after_months,
        created_at=clock.now(),
        criteria=criteria,
        design=_stored(design_of(design)) if design is not None else None,
        department_id=department_id,
    )
    uow.groups.add(group)
    audit_log.record(uow, clock.now(), [audited.group_change("group.created", None, group)])
    return group


_ID = re.compile(ID_PATTERN)


def require_department(uow: UnitOfWork, org_id: str, department_id: str) -> None:
    if not _ID.match(department_id) or uow.departments.get(org_id, department_id) is None:
        raise InvalidInput(
            "department_id: no such department",
            [{"field": "department_id", "message": "is not one of the organization's departments"}],
        )


# What PATCH /v1/groups/{id} may change. A design given is merged over the stored one.
EDITABLE = (
    "name",
    "description",
    "criteria",
    "expires_after_months",
    "design",
    "department_id",
)


def update_group(
    uow: UnitOfWork, org_id: str, group_id: str, changes: Mapping[str, object], now: datetime
) -> Group:
    """Apply the given fields (a None design restores the default). Credentials already
    issued keep their signed documents: the design is not signed, and a certificate's
    cache key carries the design, so their PDFs are drawn afresh on next request."""
    values = {k: v for k, v in changes.items() if k in EDITABLE}
    if "department_id" in values and is_vc_api_group(group_id):
        raise Conflict(
            "the group of credentials issued through POST /credentials/issue belongs to no "
            "department"
        )
    if "department_id" in values:
        # R20: a move changes where the group's later seats are charged; under the lock,
        # so a charge sees the group either before or after it, never half.
        lock_org(uow, org_id)
        if values["department_id"] is not None:
            require_department(uow, org_id, str(values["department_id"]))
    group = get_group(uow, org_id, group_id)
    if "design" in values:
        raw = values["design"]
        values["design"] = (
            None if raw is None else _stored(design_of(raw, designs.load(group.design)))
        )
    updated = replace(group, **values)  # type: ignore[arg-type]
    if updated != group:
        uow.groups.update(updated)
        audit_log.record(uow, now, [audited.group_change("group.updated", group, updated)])
    return updated


def get_group(uow: UnitOfWork, org_id: str, group_id: str) -> Group:
    group = uow.groups.get(org_id, group_id)
    if group is None:
        raise NotFound(f"no group {group_id}")
    return group


# Credentials signed through the W3C VC API (POST /credentials/issue) are rows of one group
# per organization, made on first use. Its id is derived from the organization's, so that
# finding it is a primary-key lookup and recognizing it needs no query at all.
VC_API_GROUP_PREFIX = "vcapi_"
VC_API_GROUP_NAME = "Issued through the VC API"


def vc_api_group_id(org_id: str) -> str:
    return VC_API_GROUP_PREFIX + org_id.partition("_")[2]


def is_vc_api_group(group_id: str) -> bool:
    return group_id.startswith(VC_API_GROUP_PREFIX)


def vc_api_group(uow: UnitOfWork, org_id: str, now: datetime) -> Group:
    """The organization's VC API group, made on first use. Precondition: organization lock
    (two first uses cannot race)."""
    group_id = vc_api_group_id(org_id)
    group = uow.groups.get(org_id, group_id)
    if group is None:
        group = Group(
            id=group_id,
            organization_id=org_id,
            name=VC_API_GROUP_NAME,
            description="Credentials the organization submitted to POST /credentials/issue, "
            "signed as submitted.",
            expires_after_months=None,
            created_at=now,
        )
        uow.groups.add(group)
    return group


def recount(uow: UnitOfWork, org_id: str) -> int:
    """Set each group's kept count from its live credentials, under the organization's lock;
    how many groups were off. For a database that processes older than the counts wrote to
    while it was upgraded: run it once none of them is left."""
    lock_org(uow, org_id)
    wrong = len(uow.audit.group_counts_wrong(org_id, 1_000_000))
    if wrong:
        uow.credentials.recount(org_id)
    return wrong
