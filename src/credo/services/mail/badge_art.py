"""The badge inside a credential's e-mail.

Many mail programs block images fetched from the web until the reader allows them; an image
carried in the e-mail itself (multipart/related, named by its Content-ID) shows at once. It
is the badge as the group's design draws it, not baked: the signed credential is on the
credential's page, and every recipient of a group gets the same picture, so it is drawn once
per look and kept for the batches that follow."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from credo.domain import designs
from credo.domain.entities import BadgeContent, OutboxMessage
from credo.services.mail import notifications
from credo.services.ports import UnitOfWork
from credo.services.rendering.badges import BadgeRenderer

log = logging.getLogger("credo.mail")
KEPT = 64  # drawn badges kept between batches: one per group and look in use


def contents(uow: UnitOfWork, rows: Sequence[OutboxMessage]) -> dict[str, BadgeContent]:
    """What the badge of each credential e-mail shows, by outbox row id: the names as the
    e-mail gives them, the look of the credential's group now. One read for the batch's
    credentials, one per group."""
    wanted = [
        row for row in rows if row.kind in notifications.KINDS and row.credential_id is not None
    ]
    if not wanted:
        return {}
    owners = uow.credentials.group_ids([row.credential_id for row in wanted if row.credential_id])
    looks: dict[tuple[str, str], designs.Design | None] = {}
    found: dict[str, BadgeContent] = {}
    for row in wanted:
        key = owners.get(row.credential_id or "")
        if key is None or key[0] != row.organization_id:
            continue
        if key not in looks:
            group = uow.groups.get(*key)
            looks[key] = designs.load(group.design) if group is not None else None
        design = looks[key]
        if design is None:
            continue
        data: dict[str, Any] = orjson.loads(row.payload)
        found[row.id] = BadgeContent(
            achievement_name=str(data["achievement"]),
            issuer_name=str(data["organization"]),
            design=design,
            document="",
        )
    return found


@dataclass
class BadgeArt:
    """Draws badges for e-mails, keeping the last KEPT drawn."""

    renderer: BadgeRenderer
    _kept: OrderedDict[str, bytes] = field(default_factory=OrderedDict, init=False)

    def png(self, content: BadgeContent) -> bytes | None:
        """The PNG, or None when it cannot be drawn: the e-mail then goes without it."""
        key = content.fingerprint()
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        try:
            image = self.renderer.email_png(content)
        except Exception:  # a picture is never worth holding an e-mail back
            log.exception("badge for an e-mail could not be drawn")
            return None
        self._kept[key] = image
        if len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return image
