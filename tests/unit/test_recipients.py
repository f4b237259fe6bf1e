"""Recipient keys: trimmed, case-blind, NFC, IDNA domains; malformed addresses refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.domain.errors import InvalidInput
from credo.services.recipients.addresses import (
    MalformedEmail,
    plain_address,
    recipient_key,
    require_key,
)
from tests.hypothesis_profiles import examples


def key(email: str) -> str:
    return recipient_key(email)[1].value


def test_case_and_whitespace_do_not_matter() -> None:
    assert key("Ann@Example.COM ") == key("ann@example.com") == "ann@example.com"
    assert recipient_key("  Ann@Example.COM ")[0] == "Ann@Example.COM"


def test_internationalized_domains_compare_in_ascii() -> None:
    assert key("anna@bücher.de") == key("ANNA@xn--bcher-kva.de") == "anna@xn--bcher-kva.de"


def test_unicode_local_parts_are_nfc_normalized() -> None:
    composed = "jos\u00e9@example.org"
    decomposed = "jose\u0301@example.org"
    assert key(composed) == key(decomposed)
    assert key("JOSÉ@example.org") == key(composed)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "ann",
        "ann@",
        "@x.org",
        "ann@@x.org",
        "ann x@x.org",
        "ann@x",
        "a" * 400 + "@x.org",
    ],
)
def test_malformed_addresses_are_refused(bad: str) -> None:
    with pytest.raises(MalformedEmail):
        recipient_key(bad)
    with pytest.raises(InvalidInput) as info:
        require_key(bad, "recipient.email")
    assert info.value.errors[0]["field"] == "recipient.email"


_ALPHABET = "aZ09._-+@!#'é\u0301xn-.. \t\"()[]\\,;:<>ü"


def _slow(address: str) -> tuple[str, str] | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        v = validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return None
    return v.local_part, v.ascii_domain


@settings(max_examples=examples(1500), deadline=None)
@given(
    st.one_of(
        st.text(alphabet=_ALPHABET, max_size=40),
        st.from_regex(r"[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9.-]{1,20}\.[A-Za-z]{1,4}", fullmatch=True),
        st.builds(
            lambda a, b, c: f"{a}@{b}.{c}",
            st.text(alphabet="ab.-_+", min_size=1, max_size=70),
            st.sampled_from(["x", "localhost", "test", "xn--bcher-kva", "a-", "-a", "a" * 64]),
            st.sampled_from(["org", "com", "local", "invalid", "c0m", "x", "onion"]),
        ),
    )
)
def test_fast_path_agrees_with_email_validator(address: str) -> None:
    fast = plain_address(address)
    if fast is not None:
        slow = _slow(address)
        assert slow is not None, f"fast path accepted {address!r}, email-validator refuses it"
        assert (fast[0], fast[1]) == (slow[0], slow[1].lower())


def test_fast_path_takes_ordinary_addresses_and_leaves_the_rest() -> None:
    assert plain_address("Ann.Lee+cert@Example.ORG") == ("Ann.Lee+cert", "example.org")
    for unusual in ["josé@x.org", "a@bücher.de", "a@xn--bcher-kva.de", "a@x.test", '"a b"@x.org']:
        assert plain_address(unusual) is None
