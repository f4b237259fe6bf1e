"""LinkedIn's add-to-profile link: a recipient adds a certification to its profile with
the fields filled in (LinkedIn's documented `profile/add` parameters)."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"


def add_to_profile_url(
    *,
    name: str,
    organization: str,
    issued_on: date,
    expires_on: date | None,
    cert_url: str,
    cert_id: str,
) -> str:
    params: dict[str, str | int] = {
        "startTask": "CERTIFICATION_NAME",
        "name": name,
        "organizationName": organization,
        "issueYear": issued_on.year,
        "issueMonth": issued_on.month,
    }
    if expires_on is not None:
        params["expirationYear"] = expires_on.year
        params["expirationMonth"] = expires_on.month
    params["certUrl"] = cert_url
    params["certId"] = cert_id
    # %20 rather than "+": LinkedIn's form shows a "+" literally in some fields.
    return f"{ADD_TO_PROFILE}?{urlencode(params, quote_via=quote)}"
