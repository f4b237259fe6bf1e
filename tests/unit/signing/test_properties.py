"""Property: for any credential Credo could issue, signing then verifying holds, and changing
any signed text breaks the proof."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.adapters.signing import Check, InvalidDocument, KeyPair, Resolver, sign, verify
from credo.adapters.signing.canonical import canonize_variants
from tests.hypothesis_profiles import examples
from tests.unit.signing.conftest import ob_credential

# Any text JSON can carry: every code point but surrogates, control characters included.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
NAMES = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
DATES = st.datetimes(
    min_value=datetime(1970, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))


@st.composite
def credentials(draw: st.DrawFn) -> dict[str, Any]:
    credential = ob_credential(
        id=f"urn:uuid:{draw(st.uuids())}",
        name=draw(NAMES),
        validFrom=draw(DATES),
    )
    if draw(st.booleans()):
        credential["validUntil"] = draw(DATES)
    else:
        del credential["validUntil"]
    subject = credential["credentialSubject"]
    subject["name"] = draw(NAMES)
    subject["identifier"][0]["identityHash"] = (
        "sha256$" + draw(st.binary(min_size=32, max_size=32)).hex()
    )
    subject["identifier"][0]["salt"] = draw(st.text("0123456789abcdef", min_size=8, max_size=32))
    achievement = subject["achievement"]
    achievement["name"] = draw(NAMES)
    achievement["description"] = draw(TEXT)
    achievement["criteria"] = {"narrative": draw(TEXT)}
    if draw(st.booleans()):
        del achievement["image"]
    if draw(st.booleans()):
        achievement["tag"] = draw(st.lists(NAMES, max_size=3))
    credential["credentialStatus"]["statusListIndex"] = str(draw(st.integers(0, 131071)))
    return credential


KEY = KeyPair.from_seed(b"\x07" * 32)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credentials(), st.sampled_from(["eddsa-rdfc-2022", "eddsa-jcs-2022"]), NAMES)
def test_sign_then_verify_holds(credential: dict[str, Any], cryptosuite: str, other: str) -> None:
    try:
        signed = sign(
            credential,
            key=KEY,
            cryptosuite=cryptosuite,
            verification_method=KEY.verification_method,
            created="2025-01-01T00:00:00Z",
        )
    except InvalidDocument:
        # Only text that JavaScript implementations would order differently is refused.
        assert cryptosuite == "eddsa-rdfc-2022"
        assert len(canonize_variants(credential)) == 2
        return
    result = verify(signed, resolve=Resolver())
    assert result.ok, result
    # Any change to signed text is caught.
    if other != signed["credentialSubject"]["name"]:
        signed["credentialSubject"]["name"] = other
        tampered = verify(signed, resolve=Resolver())
        assert not tampered.ok
        assert tampered.failed_check is Check.SIGNATURE


@pytest.mark.parametrize("cryptosuite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_signing_is_deterministic(cryptosuite: str) -> None:
    credential = ob_credential()
    first, second = (
        sign(
            credential,
            key=KEY,
            cryptosuite=cryptosuite,
            verification_method=KEY.verification_method,
            created="2025-01-01T00:00:00Z",
        )
        for _ in range(2)
    )
    assert first == second


@given(st.binary(max_size=100))
def test_base58_chunked_encoding_is_the_plain_definition(data: bytes) -> None:
    from credo.adapters.signing import multibase

    n, digits = int.from_bytes(data, "big"), ""
    while n:
        n, rest = divmod(n, 58)
        digits = multibase._ALPHABET[rest] + digits
    plain = "1" * (len(data) - len(data.lstrip(b"\0"))) + digits
    assert multibase.b58encode(data) == plain
    assert multibase.b58decode(plain) == data


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_json_copy_equals_and_shares_nothing_mutable(value: object) -> None:
    from credo.adapters.signing.data_integrity import json_copy

    copied = json_copy(value)
    assert copied == value
    if isinstance(value, (dict, list)) and value:
        assert copied is not value
