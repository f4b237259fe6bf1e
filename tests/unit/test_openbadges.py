"""The Open Badges document builder and the status list bitstring."""

from __future__ import annotations

import hashlib
from datetime import date

from credo.domain.openbadges import (
    STATUS_LIST_SIZE,
    AchievementInfo,
    Award,
    Issuer,
    encode_bits,
    identity_hash,
    open_badge,
    status_location,
)


def test_identity_hash_is_sha256_of_key_then_salt() -> None:
    expected = hashlib.sha256(b"ann@x.orgpepper").hexdigest()
    assert identity_hash("ann@x.org", "pepper") == f"sha256${expected}"


def test_bit_zero_is_the_leftmost_bit() -> None:
    bits = encode_bits([0, 9, STATUS_LIST_SIZE - 1])
    assert len(bits) == STATUS_LIST_SIZE // 8
    assert bits[0] == 0b1000_0000 and bits[1] == 0b0100_0000 and bits[-1] == 0b0000_0001
    assert status_location(STATUS_LIST_SIZE + 5) == (1, 5)


def test_required_fields_and_optional_expiry() -> None:
    award = Award("https://c.example/c/1", "ann@x.org", "Ann", "s", date(2026, 1, 2), None, 7)
    achievement = AchievementInfo("https://c.example/a/1", "Course", "About", "Pass", None)
    doc = open_badge(
        award,
        achievement,
        Issuer("did:key:z6Mk", "Org", "https://c.example"),
        base_url="https://c.example",
        key_id="key_1",
    )
    assert "validUntil" not in doc and doc["validFrom"] == "2026-01-02T00:00:00Z"
    assert "image" not in doc["credentialSubject"]["achievement"]
    for field in ("@context", "id", "type", "issuer", "name", "credentialSubject"):
        assert field in doc
    assert {e["statusListIndex"] for e in doc["credentialStatus"]} == {"7"}
    assert doc["credentialStatus"][0]["statusListCredential"] == (
        "https://c.example/status/key_1/revocation/0"
    )
