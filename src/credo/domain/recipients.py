"""Recipient keys: the identity a seat is counted by (credits.md, "Recipient key")."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecipientKey:
    """A case-blind, NFC-normalized e-mail address with its domain in IDNA ASCII form.

    Build it with `from_parts` from an address that a validator has already parsed;
    two spellings of one mailbox (`Ann@Example.COM `, `ann@example.com`) give equal keys.
    """

    value: str

    @classmethod
    def from_parts(cls, local_part: str, ascii_domain: str) -> RecipientKey:
        local = unicodedata.normalize("NFC", local_part).lower()
        return cls(f"{local}@{ascii_domain.lower()}")

    def __str__(self) -> str:
        return self.value
