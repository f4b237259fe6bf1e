"""The LinkedIn add-to-profile link, and the readable colours of the credential page."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest

from credo.entrypoints.web import colours
from credo.entrypoints.web.linkedin import add_to_profile_url
from credo.entrypoints.web.templates import long_date, month_year


def _params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    assert len(pairs) == len(dict(pairs)), "a parameter is repeated"
    return dict(pairs)


def test_every_field_of_a_certification() -> None:
    url = add_to_profile_url(
        name="MSc Data Science",
        organization="University of Northbridge",
        issued_on=date(2026, 11, 25),
        expires_on=date(2029, 3, 1),
        cert_url="https://credo.example/c/cred_01",
        cert_id="cred_01",
    )
    assert _params(url) == {
        "startTask": "CERTIFICATION_NAME",
        "name": "MSc Data Science",
        "organizationName": "University of Northbridge",
        "issueYear": "2026",
        "issueMonth": "11",
        "expirationYear": "2029",
        "expirationMonth": "3",
        "certUrl": "https://credo.example/c/cred_01",
        "certId": "cred_01",
    }
    assert "+" not in url  # spaces as %20: LinkedIn shows a "+" literally


def test_no_expiry_sends_no_expiration_fields() -> None:
    params = _params(
        add_to_profile_url(
            name="N",
            organization="O",
            issued_on=date(2026, 1, 5),
            expires_on=None,
            cert_url="https://x/c/1",
            cert_id="1",
        )
    )
    assert "expirationYear" not in params and "expirationMonth" not in params
    assert (params["issueYear"], params["issueMonth"]) == ("2026", "1")


def test_reserved_characters_survive_the_round_trip() -> None:
    name = "R&D: C++ / Rust? #1 = 100% — été"
    params = _params(
        add_to_profile_url(
            name=name,
            organization="A&B=C",
            issued_on=date(2026, 1, 5),
            expires_on=None,
            cert_url="https://x/c/1?a=b&c=d",
            cert_id="1",
        )
    )
    assert params["name"] == name
    assert params["organizationName"] == "A&B=C"
    assert params["certUrl"] == "https://x/c/1?a=b&c=d"


def test_dates_read_in_words() -> None:
    assert long_date(date(2026, 11, 25)) == "25 November 2026"
    assert long_date(date(2026, 3, 1)) == "1 March 2026"
    assert long_date(None) == ""
    assert month_year(date(2026, 3, 1)) == "March 2026"


def test_known_contrast_ratios() -> None:
    assert colours.contrast("#ffffff", "#000000") == pytest.approx(21)
    assert colours.contrast("#ffffff", "#ffffff") == pytest.approx(1)
    # #767676 is the lightest grey that passes AA on white; #777777 just fails.
    assert colours.contrast("#767676", "#ffffff") >= 4.5 > colours.contrast("#777777", "#ffffff")


def _spectrum() -> list[str]:
    steps = (0x00, 0x33, 0x66, 0x77, 0x80, 0x99, 0xCC, 0xFF)
    return [f"#{r:02x}{g:02x}{b:02x}" for r in steps for g in steps for b in steps]


def test_text_on_any_brand_colour_meets_aa() -> None:
    for colour in [*_spectrum(), "#1f3a5f", "#c9a227", "#7f7f7f", "#808080"]:
        text = colours.text_on(colour)
        assert colours.contrast(text, colour) >= colours.AA, (colour, text)
    assert colours.text_on("#1f3a5f") == "#ffffff"
    assert colours.text_on("#ffd700") == "#000000"


def test_ink_darkens_pale_colours_only_as_needed() -> None:
    for colour in _spectrum():
        assert colours.contrast(colours.ink(colour), "#ffffff") >= colours.AA, colour
    assert colours.ink("#1f3a5f") == "#1f3a5f"  # already readable: unchanged
    gold = colours.ink("#c9a227")
    assert gold != "#c9a227"
    # Darkened no further than needed: still a gold, nowhere near black.
    assert colours.contrast(gold, "#ffffff") < 6
