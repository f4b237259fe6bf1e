"""Which organization an API key opens, remembered by a process for its mutations.

A mutation's own transaction confirms the key before anything else (organizations.
confirm_key), so a revoked key is refused at once in every process: what this remembers only
saves the separate reading transaction a lookup would cost, and never decides alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from credo.domain.audit_log import Actor


@dataclass(frozen=True, slots=True)
class Holder:
    """The organization a key opens, the key as the audit log names it, and the one
    department it is limited to (None: the whole organization)."""

    org_id: str
    actor: Actor
    department_id: str | None = None


class KeyCache:
    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._orgs: dict[str, Holder] = {}  # key hash -> its holder

    def get(self, key_hash: str) -> Holder | None:
        return self._orgs.get(key_hash)

    def put(self, key_hash: str, holder: Holder) -> None:
        if len(self._orgs) >= self._size:
            self._orgs.clear()  # rare, and only costs lookups
        self._orgs[key_hash] = holder

    def forget(self, key_hash: str) -> None:
        self._orgs.pop(key_hash, None)
