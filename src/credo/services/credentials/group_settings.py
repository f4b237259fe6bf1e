"""A group's settings beyond its content: archiving and the duplicate policy.

Archiving retires a group: it issues nothing new (no credential created from it, no draft
of it published: 409), while its credentials stay valid, listed and manageable (renew,
revoke, delete). Unarchiving undoes it.

The duplicate policy says what happens when a recipient who already holds a live
(published, not deleted; revoked and expired count, as for seats) credential of the group
is published another one of the same group:

- `allow` (the default, and the API's behaviour before the setting existed): it is issued.
  It costs nothing extra in the same billing year (R2).
- `warn`: it is issued; the dashboard's cost previews name the recipients who already
  hold one, so the issuer can stop.
- `refuse`: publishing it is refused (409 `duplicate_credential`) and nothing of the batch
  is created (all or nothing, like R11). Drafts are never refused: they are not live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from enum import StrEnum

from credo.domain.entities import Group
from credo.domain.errors import Conflict, DuplicateCredential, GroupArchived
from credo.services import audit_log
from credo.services.credentials import audited
from credo.services.credentials.groups import get_group, is_vc_api_group
from credo.services.ports import UnitOfWork


class DuplicatePolicy(StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    REFUSE = "refuse"


POLICY_LABELS = {
    DuplicatePolicy.ALLOW: "Allow: issue it (free within the billing year)",
    DuplicatePolicy.WARN: "Warn: issue it, but say so in the cost preview",
    DuplicatePolicy.REFUSE: "Refuse: do not publish a second live credential",
}


def policy_of(group: Group) -> DuplicatePolicy:
    try:
        return DuplicatePolicy(group.duplicate_policy)
    except ValueError:  # a value this version does not know: the permissive default
        return DuplicatePolicy.ALLOW


def duplicates(
    uow: UnitOfWork, group: Group, keys: Iterable[str], excluding: Iterable[str] = ()
) -> list[str]:
    """The recipient keys among `keys` that would receive a second live credential of the
    group: they hold one already (other than the credentials `excluding` names: those
    being published, written already), or appear more than once in `keys`."""
    keys = list(keys)
    if not keys:
        return []
    held = uow.credential_search.live_keys_in_group(
        group.organization_id, group.id, keys, excluding
    )
    repeated = {k for k, n in Counter(keys).items() if n > 1}
    return sorted(held | repeated)


def require_issuable(
    uow: UnitOfWork,
    group: Group,
    publishing_keys: Iterable[str],
    publishing_ids: Iterable[str] = (),
) -> None:
    """Refuse issuing from an archived group, and publishing duplicates the group's policy
    refuses. `publishing_keys`: the recipient keys about to be published (none for drafts);
    `publishing_ids`: their credentials, when they are written already."""
    if group.archived_at is not None:
        raise GroupArchived(
            f"the group {group.name!r} is archived: unarchive it to issue from it again",
            group_id=group.id,
        )
    if policy_of(group) is DuplicatePolicy.REFUSE:
        found = duplicates(uow, group, publishing_keys, publishing_ids)
        if found:
            shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
            raise DuplicateCredential(
                f"the group refuses duplicates and {shown} already hold(s) a live credential "
                "of it (or appear(s) twice); nothing was issued",
                recipients=found[:100],
            )


def set_archived(
    uow: UnitOfWork, org_id: str, group_id: str, archived: bool, now: datetime
) -> Group:
    group = get_group(uow, org_id, group_id)
    if is_vc_api_group(group.id):
        raise Conflict("the VC API's group is managed by Credo and cannot be archived")
    if (group.archived_at is not None) == archived:
        return group
    updated = replace(group, archived_at=now if archived else None)
    uow.groups.update(updated)
    action = "group.archived" if archived else "group.restored"
    audit_log.record(uow, now, [audited.group_change(action, group, updated)])
    return updated


def set_duplicate_policy(
    uow: UnitOfWork, org_id: str, group_id: str, policy: DuplicatePolicy, now: datetime
) -> Group:
    group = get_group(uow, org_id, group_id)
    if group.duplicate_policy == policy.value:
        return group
    updated = replace(group, duplicate_policy=policy.value)
    uow.groups.update(updated)
    audit_log.record(uow, now, [audited.group_change("group.updated", group, updated)])
    return updated
