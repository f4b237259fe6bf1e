"""The Open Badges 3.0 credential a published credential becomes (unsigned), and the
recipient's salted identity hash. Pure: values in, a JSON-ready dict out."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
STATUS_LIST_SIZE = 131_072  # bits: the Bitstring Status List minimum, for herd privacy
STATUS_PURPOSES = ("revocation", "suspension")


def identity_hash(recipient_key: str, salt: str) -> str:
    """OB 3.0 IdentityObject hash: `sha256$` + hex sha256 of the e-mail then the salt. The
    e-mail hashed is the recipient key (trimmed, lower-cased), so a verifier who knows the
    address in any case can match it."""
    return "sha256$" + hashlib.sha256((recipient_key + salt).encode()).hexdigest()


def day_start(d: date) -> str:
    return datetime.combine(d, time(0), tzinfo=UTC).isoformat().replace("+00:00", "Z")


def status_location(index: int) -> tuple[int, int]:
    """(list number, position in that list) of an organization-wide status index."""
    return divmod(index, STATUS_LIST_SIZE)


@dataclass(frozen=True, slots=True)
class Issuer:
    id: str
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class AchievementInfo:
    id: str
    name: str
    description: str
    criteria: str
    image_url: str | None


@dataclass(frozen=True, slots=True)
class Award:
    credential_url: str
    recipient_key: str
    recipient_name: str
    salt: str
    issued_on: date
    expires_on: date | None
    status_index: int


def status_list_url(base_url: str, key_id: str, purpose: str, list_no: int) -> str:
    """A status list is signed by the key that signed its credentials, so that a verifier's
    "same issuer" check holds for credentials signed before a key rotation too."""
    return f"{base_url}/status/{key_id}/{purpose}/{list_no}"


_STATUS_PATH = re.compile(r"/status/([a-z]{2,6}_[0-9a-f]{32})/([a-z]{1,20})/(\d{1,7})")


def parse_status_list_url(base_url: str, url: str) -> tuple[str, str, int] | None:
    """(key id, purpose, list number) of one of our status list URLs (`status_list_url`);
    None when `url` is under `base_url` but names no status list."""
    path = url[len(base_url) :] if url.startswith(base_url + "/") else ""
    m = _STATUS_PATH.fullmatch(path)
    return (m.group(1), m.group(2), int(m.group(3))) if m else None


def status_entries(base_url: str, key_id: str, index: int) -> list[dict[str, Any]]:
    """Two BitstringStatusListEntry values, one per purpose, at the same position."""
    list_no, position = status_location(index)
    entries = []
    for purpose in STATUS_PURPOSES:
        list_url = status_list_url(base_url, key_id, purpose, list_no)
        entries.append(
            {
                "id": f"{list_url}#{position}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": str(position),
                "statusListCredential": list_url,
            }
        )
    return entries


def open_badge(
    award: Award, achievement: AchievementInfo, issuer: Issuer, *, base_url: str, key_id: str
) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential (OB 3.0 on VC Data Model 2.0)."""
    achievement_doc: dict[str, Any] = {
        "id": achievement.id,
        "type": ["Achievement"],
        "name": achievement.name,
        "description": achievement.description,
        "criteria": {"narrative": achievement.criteria},
    }
    if achievement.image_url:
        achievement_doc["image"] = {"id": achievement.image_url, "type": "Image"}
    doc: dict[str, Any] = {
        "@context": [VC_V2, OB_V3],
        "id": award.credential_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer.id, "type": ["Profile"], "name": issuer.name, "url": issuer.url},
        "name": achievement.name,
        "validFrom": day_start(award.issued_on),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": award.recipient_name,
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": identity_hash(award.recipient_key, award.salt),
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": award.salt,
                }
            ],
            "achievement": achievement_doc,
        },
        "credentialStatus": status_entries(base_url, key_id, award.status_index),
    }
    if award.expires_on is not None:
        doc["validUntil"] = day_start(award.expires_on)
    return doc


def encode_bits(set_positions: list[int], size: int = STATUS_LIST_SIZE) -> bytes:
    """The bitstring, index 0 at the left-most bit of the first byte (Bitstring Status List
    v1.0, section 3.1)."""
    bits = bytearray(size // 8)
    for i in set_positions:
        bits[i // 8] |= 0x80 >> (i % 8)
    return bytes(bits)


def status_list_credential(
    url: str, issuer_id: str, purpose: str, encoded_list: str, valid_from: str
) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential; `encoded_list` is multibase base64url
    (`u...`) of the GZIP-compressed bitstring."""
    return {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list,
        },
    }


MAX_ENCODED_LIST = 8 * 1024 * 1024  # characters of an encodedList this code will read
MAX_BITSTRING = 16 * 1024 * 1024  # bytes a list may inflate to (a gzip bomb stops here)


def decode_bits(encoded_list: str) -> bytes | None:
    """The bitstring of a multibase base64url (`u...`) GZIP `encodedList`; None if it is not
    one (or inflates beyond MAX_BITSTRING)."""
    if not encoded_list.startswith("u") or len(encoded_list) > MAX_ENCODED_LIST:
        return None
    body = encoded_list[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        bits = inflater.decompress(compressed, MAX_BITSTRING)
    except (binascii.Error, ValueError, zlib.error):
        return None
    if inflater.unconsumed_tail or not inflater.eof:
        return None
    return bits


def bit_at(bits: bytes, index: int) -> bool:
    """Bit `index`, counted from the left-most bit of the first byte (section 3.1)."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
