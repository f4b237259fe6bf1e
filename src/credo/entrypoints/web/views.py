"""What the templates show, computed here so that templates only lay it out: checks in
words, the status said plainly, download and share links, readable brand colours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from credo.domain.accredible import CredentialDetails, Evidence
from credo.entrypoints.web import colours
from credo.entrypoints.web.linkedin import add_to_profile_url
from credo.entrypoints.web.templates import long_date
from credo.services.credentials import verification as v
from credo.services.recipients.visibility import Page
from credo.services.rendering.showcase import CredentialView

OUTCOMES = {True: "Passed", False: "Failed", None: "Not checked"}
SHOWN_CHECKS = (v.SIGNATURE, v.ISSUER, v.STATUS, v.VALIDITY)
_NAMES = {v.SIGNATURE: "Signature", v.ISSUER: "Issuer", v.STATUS: "Status", v.VALIDITY: "Validity"}
# Checks only a file from elsewhere fails: (name, what its failure means).
_OTHERS = {
    v.STRUCTURE: ("Form", "Not shaped as a verifiable credential must be."),
    v.HOLDER: ("Holder", "Not signed by the holder who presents it."),
    v.CREDENTIALS: ("Credentials", "A credential it holds did not verify."),
}


@dataclass(frozen=True, slots=True)
class CheckLine:
    name: str
    outcome: str  # Passed, Failed, Not checked: said in words, not by colour alone
    kind: str  # pass, fail, skip: the CSS class
    summary: str
    detail: str  # the verifier's own words, for the technically minded


def _long(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _summary(check: v.Check, issuer: str, expires: date | None) -> str:
    if check.ok is None:
        return "Not checked."
    if check.ok:
        return {
            v.SIGNATURE: "Signed, and unaltered since it was issued.",
            v.ISSUER: f"Signed with the key of {issuer}, the issuer it names.",
            v.STATUS: "Neither revoked nor suspended by the issuer.",
            v.VALIDITY: f"Valid until {_long(expires)}."
            if expires
            else "Valid; it does not expire.",
        }[check.check]
    word = (check.title or "").removeprefix("Credential ")
    if check.check == v.STATUS and word in ("revoked", "suspended"):
        return f"{word.capitalize()} by the issuer."
    if check.check == v.VALIDITY and word == "expired" and expires:
        return f"Expired: it was valid until {_long(expires)}."
    return {
        v.SIGNATURE: "The signature does not match: the file was altered or is not genuine.",
        v.ISSUER: "Not signed by the issuer it names.",
        v.STATUS: "The issuer's status list could not confirm it.",
        v.VALIDITY: f"Outside its validity period ({word or 'invalid dates'}).",
    }.get(check.check, "Failed.")


def check_lines(
    result: v.Verification, issuer: str, expires: date | None, *, every_failure: bool = False
) -> list[CheckLine]:
    """The four checks a reader cares about, in words. With `every_failure`, a failed check
    beyond them too (an uploaded file may fail its structure, which ours never do)."""
    by_name = {c.check: c for c in result.checks}
    shown = [name for name in SHOWN_CHECKS if name in by_name]
    if every_failure:
        extra = [c.check for c in result.checks if c.ok is False and c.check not in shown]
        shown = extra + shown
    lines = []
    for name in shown:
        c = by_name[name]
        kind = {True: "pass", False: "fail", None: "skip"}[c.ok]
        title, failed = _OTHERS.get(name, (name.capitalize(), "Failed."))
        summary = _summary(c, issuer, expires) if name in _NAMES else failed
        title = _NAMES.get(name, title)
        lines.append(CheckLine(title, OUTCOMES[c.ok], kind, summary, c.detail))
    return lines


_PRESENTATION = {
    v.STRUCTURE: ("Form", "A well-formed presentation.", "Not shaped as a presentation must be."),
    v.SIGNATURE: (
        "Signature",
        "Signed by its holder, and unaltered.",
        "The signature does not match.",
    ),
    v.HOLDER: ("Holder", "Signed by the holder it names.", "Not signed by the holder it names."),
    v.CREDENTIALS: (
        "Credentials",
        "Every credential it carries verified.",
        "A credential it carries did not verify.",
    ),
}
_UNSIGNED = "Not signed: whoever presents it is not authenticated."


def presentation_lines(result: v.Verification) -> list[CheckLine]:
    """A presentation's own checks in words; each credential it carries has its own lines."""
    lines = []
    for c in result.checks:
        if c.check not in _PRESENTATION:
            continue
        name, passed, failed = _PRESENTATION[c.check]
        unchecked = _UNSIGNED if c.check == v.SIGNATURE else "Not checked."
        summary = {True: passed, False: failed, None: unchecked}[c.ok]
        kind = {True: "pass", False: "fail", None: "skip"}[c.ok]
        lines.append(CheckLine(name, OUTCOMES[c.ok], kind, summary, c.detail))
    return lines


def state_of(result: v.Verification) -> str:
    """What a verified file says of itself, in the credential page's words: revoked,
    suspended or expired when its checks say so, else active."""
    for c in result.checks:
        word = (c.title or "").removeprefix("Credential ")
        if c.ok is False and c.check == v.STATUS and word in ("revoked", "suspended"):
            return word
        if c.ok is False and c.check == v.VALIDITY and word == "expired":
            return "expired"
    return "active"


_SHARE_NAMES = (("linkedin", "LinkedIn"), ("x", "X"), ("facebook", "Facebook"), ("email", "E-mail"))


def share_targets(view: CredentialView, state: str) -> dict[str, str]:
    """Where each share button of a credential's page leads, by its redirect's last path
    part: built here from the credential alone, so the redirect can lead nowhere else.
    Nobody is invited to add a revoked or suspended credential to a profile, nor to share
    one; an expired one may still go on a profile (LinkedIn shows its end date)."""
    cred, org, group = view.credential, view.organization, view.group
    url = view.page_url
    targets: dict[str, str] = {}
    if state in ("active", "expired"):
        targets["linkedin-profile"] = add_to_profile_url(
            name=group.name,
            organization=org.name,
            issued_on=cred.issued_on,
            expires_on=cred.expires_on,
            cert_url=url,
            cert_id=cred.id,
        )
    if state == "active":
        text = f"{cred.recipient_name} earned {group.name} from {org.name}"
        q = quote
        targets |= {
            "linkedin": "https://www.linkedin.com/sharing/share-offsite/?"
            + urlencode({"url": url}),
            "x": "https://x.com/intent/post?" + urlencode({"url": url, "text": text}, quote_via=q),
            "facebook": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}),
            "email": "mailto:?" + urlencode({"subject": text, "body": url}, quote_via=q),
        }
    return targets


def brand(page: Page) -> dict[str, str]:
    d = page.view.design
    return {
        "primary": d.primary_color,
        "on_primary": colours.text_on(d.primary_color),
        "ink": colours.ink(d.primary_color),
        "accent": d.accent_color,
        "accent_ink": colours.ink(d.accent_color),
    }


def credential(page: Page) -> dict[str, Any]:
    view = page.view
    cred, org, group = view.credential, view.organization, view.group
    url = view.page_url
    state = page.state
    targets = share_targets(page.view, page.state)
    return {
        "page": page,
        "cred": cred,
        "org": org,
        "group": group,
        "design": view.design,
        "brand": brand(page),
        "state": state,
        "checks": check_lines(page.result, org.name, cred.expires_on),
        "verified": page.result.verified,
        "url": url,
        # Same-origin paths on the page (the CSP allows 'self'); absolute ones for others.
        "files": {ext: f"/c/{cred.id}.{ext}" for ext in ("pdf", "png", "svg", "json")},
        "og_image": f"{url}.png",
        # Through Credo, which counts the click (engagement) and then sends the browser on:
        # see share_targets. None and []: not for a revoked or suspended credential.
        "linkedin": f"/c/{cred.id}/share/linkedin-profile"
        if "linkedin-profile" in targets
        else None,
        "share": [
            (name, f"/c/{cred.id}/share/{target}")
            for target, name in _SHARE_NAMES
            if target in targets
        ],
        "description": f"{group.name}, issued to {cred.recipient_name} by {org.name}.",
        "details": detail_lines(view.details),
        "evidence": [evidence_line(e) for e in view.evidence],
    }


def detail_lines(d: CredentialDetails | None) -> list[tuple[str, str]]:
    """(label, value) pairs: the grade, then each custom attribute, as the issuer named it."""
    if d is None:
        return []
    lines = [("Grade", d.grade)] if d.grade else []
    for name, value in (d.custom_attributes or {}).items():
        if value is None or isinstance(value, (dict, list)):
            continue
        lines.append((str(name).replace("_", " ").capitalize(), str(value)))
    return lines


def evidence_line(e: Evidence) -> dict[str, Any]:
    """An evidence item in words: a grade's value, a course's dates, a link's address."""
    data: Any = None
    if e.string_object is not None:
        try:
            data = orjson.loads(e.string_object)
        except orjson.JSONDecodeError:
            data = e.string_object
    text = None
    if e.category == "grade" and isinstance(data, dict) and "grade" in data:
        text = f"{data['grade']}"
    elif e.category == "course_duration" and isinstance(data, dict):
        start, end = _iso_day(data.get("start_date")), _iso_day(data.get("end_date"))
        if start and end:
            text = f"{long_date(start)} to {long_date(end)}"
            if data.get("duration_in_days"):
                text += f" ({data['duration_in_days']} days)"
    elif e.category == "transcript" and isinstance(data, list):
        parts = [
            f"{row.get('category')}: {row.get('percent')}%"
            for row in data
            if isinstance(row, dict) and row.get("category") is not None
        ]
        text = "; ".join(parts) or None
    elif isinstance(data, str):
        text = data
    link = e.url if e.url and e.url.startswith(("https://", "http://")) else None
    return {"description": e.description, "text": text, "link": link}


def _iso_day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
