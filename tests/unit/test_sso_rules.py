"""Single sign-on's pure rules (domain/sso.py): domain names, e-mail domains, TXT proofs,
OpenID Connect issuers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.domain.sso import (
    domain_problem,
    email_domain,
    is_verified_by,
    issuer_problem,
    normalize_domain,
    verification_record,
)


@pytest.mark.parametrize("name", ["example.org", "staff.example.co.uk", "xn--bcher-kva.example"])
def test_domain_names_taken(name: str) -> None:
    assert domain_problem(name) is None


@pytest.mark.parametrize(
    "name", ["", "localhost", "-a.example", "a-.example", "a..example", "a b.example",
             "exämple.org", "1.2.3.4", "a" * 64 + ".example", ("a" * 60 + ".") * 5 + "org"],
)  # fmt: skip
def test_domain_names_refused(name: str) -> None:
    assert domain_problem(name) is not None


def test_email_domains() -> None:
    assert email_domain("Alice@Staff.Example.ORG") == "staff.example.org"
    assert email_domain("a@b@example.org") == "example.org"
    assert email_domain("no-at-sign") is None
    assert email_domain("@example.org") is None
    assert email_domain("alice@localhost") is None
    assert normalize_domain(" Example.ORG. ") == "example.org"


def test_the_txt_record_must_carry_the_token_exactly() -> None:
    token = "abc123"
    assert verification_record(token) == "credo-verification=abc123"
    assert is_verified_by(["v=spf1 -all", " credo-verification=abc123 "], token)
    assert not is_verified_by(["credo-verification=abc1234"], token)
    assert not is_verified_by(["credo-verification=ABC123"], token)
    assert not is_verified_by([], token)


def test_issuers() -> None:
    assert issuer_problem("https://login.example.org/tenant/v2.0") is None
    for bad in ("", "http://login.example.org", "https://", "https://a.example/?x=1",
                "https://a.example/#f", "https://a .example", "https://" + "a" * 500):  # fmt: skip
        assert issuer_problem(bad) is not None, bad


@given(st.text(max_size=300))
def test_no_text_breaks_the_rules(text: str) -> None:
    domain_problem(normalize_domain(text))
    email_domain(text)
    issuer_problem(text)
    is_verified_by([text], text)
