"""Recipient keys: trimmed, case-blind, NFC, IDNA domains; malformed addresses refused."""

from __future__ import annotations

import pytest

from credo.domain.errors import InvalidInput
from credo.services.addresses import MalformedEmail, recipient_key, require_key


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
