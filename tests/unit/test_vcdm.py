"""The pure rules behind the VC API: dates, URLs, JSON limits, well-formedness, and reading
our own status list URLs and bitstrings."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime
from typing import Any

import pytest

from credo.domain import vcdm
from credo.domain.openbadges import (
    bit_at,
    decode_bits,
    encode_bits,
    parse_status_list_url,
    status_list_url,
)

V2 = vcdm.VC_V2


@pytest.mark.parametrize(
    "text, zone, expected",
    [
        ("2026-01-20T00:00:00Z", True, datetime(2026, 1, 20, tzinfo=UTC)),
        ("2023-02-25T19:10:39-06:00", True, datetime(2023, 2, 26, 1, 10, 39, tzinfo=UTC)),
        ("2023-02-26T01:02:58.447Z", True, datetime(2023, 2, 26, 1, 2, 58, 447000, tzinfo=UTC)),
        ("2024-02-29T24:00:00Z", True, datetime(2024, 3, 1, tzinfo=UTC)),
        ("2026-01-20T00:00:00", False, datetime(2026, 1, 20, tzinfo=UTC)),
        ("4023-02-26T01:02:58Z", True, datetime(4023, 2, 26, 1, 2, 58, tzinfo=UTC)),
        ("12026-01-01T00:00:00Z", True, vcdm.LATEST),
        ("-0044-03-15T12:00:00Z", True, vcdm.EARLIEST),
        ("0001-01-01T00:00:00+01:00", True, vcdm.EARLIEST),
        ("2026-01-20T00:00:00", True, None),  # a dateTimeStamp needs its zone
        ("2023-02-29T00:00:00Z", True, None),
        ("2026-13-01T00:00:00Z", True, None),
        ("2026-01-01T24:00:01Z", True, None),
        ("2026-01-01T00:00:60Z", True, None),
        ("2026-01-01T00:00:00+15:00", True, None),
        ("2026-01-01 00:00:00Z", True, None),
        ("Sat 25 Feb 2023 07:16:31 PM CST", True, None),
        ("2026-01-01T00:00:00Z\n", True, None),
        (20260101, True, None),
    ],
)
def test_xml_schema_datetimes(text: Any, zone: bool, expected: datetime | None) -> None:
    assert vcdm.parse_datetime(text, require_zone=zone) == expected


@pytest.mark.parametrize(
    "value, ok",
    [
        ("https://example.org/a", True),
        ("did:example:123", True),
        ("urn:uuid:86294362-4254-4f36-854f-3952fe42555d", True),
        ("https ://not-a-url/x", False),
        ("fake-issuer", False),
        ("https://example.org/a b", False),
        ("https://example.org/\n", False),
        ("", False),
        (None, False),
        (["https://example.org"], False),
    ],
)
def test_urls(value: Any, ok: bool) -> None:
    assert vcdm.is_url(value) is ok


def test_json_limits() -> None:
    deep: Any = 1
    for _ in range(vcdm.MAX_DEPTH + 1):
        deep = [deep]
    assert vcdm.too_deep(deep) and not vcdm.too_deep([[1]])
    found = vcdm.json_problems(
        {"a": [1, 2**53], "b": float("inf"), "c": "\ud800", "\udfff": 1, "ok": 2**53 - 1}
    )
    assert {p["field"] for p in found} == {"a.1", "b", "c", "\\udfff"}


def test_a_minimal_credential_is_well_formed_and_each_rule_names_its_field() -> None:
    good = {
        "@context": [V2],
        "type": "VerifiableCredential",
        "issuer": {"id": "did:example:i", "name": [{"@value": "I", "@language": "en"}]},
        "credentialSubject": [{"id": "did:example:s"}, {"name": "x"}],
        "credentialStatus": [{"type": "X"}],
    }
    assert vcdm.credential_problems(good) == []
    v1 = {**good, "@context": [vcdm.VC_V1]}
    assert [p["field"] for p in vcdm.credential_problems(v1, "c.")] == ["c.issuanceDate"]
    assert vcdm.credential_problems([], "c.") == [
        {"field": "c", "message": "a credential is a JSON object"}
    ]
    bad = {**good, "credentialStatus": [{"type": "X"}, {"id": "urn:x"}], "issuer": 5}
    assert [p["field"] for p in vcdm.credential_problems(bad)] == [
        "issuer",
        "credentialStatus.1.type",
    ]


def test_presentations() -> None:
    vp = {"@context": [V2], "type": ["VerifiablePresentation"], "holder": "did:example:h"}
    assert vcdm.presentation_problems(vp) == []
    assert vcdm.holder_id({**vp, "holder": {"id": "did:example:x"}}) == "did:example:x"
    bad = {**vp, "holder": "z6Mk", "verifiableCredential": ["a string"]}
    assert [p["field"] for p in vcdm.presentation_problems(bad)] == [
        "holder",
        "verifiableCredential.0",
    ]


def test_our_status_list_urls_and_bits() -> None:
    base = "https://credo.example"
    key = "key_" + "a" * 32
    url = status_list_url(base, key, "revocation", 3)
    assert parse_status_list_url(base, url) == (key, "revocation", 3)
    assert parse_status_list_url(base, url + "/x") is None
    assert parse_status_list_url(base, "https://credo.example.evil/status/x/y/0") is None
    encoded = "u" + base64.urlsafe_b64encode(gzip.compress(encode_bits([0, 9, 131071]))).decode()
    bits = decode_bits(encoded.rstrip("="))
    assert bits is not None and len(bits) * 8 == 131072
    assert [i for i in (0, 1, 8, 9, 131071) if bit_at(bits, i)] == [0, 9, 131071]
    assert decode_bits("zabc") is None and decode_bits("u!!!") is None
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(32 * 1024 * 1024))).decode()
    assert decode_bits(bomb) is None
