"""Engagement: what recipients and the people they show their credentials to do with them.

Counted per credential and day: page views by people (not bots), unique viewers, downloads
of each file, share and "Add to LinkedIn" clicks, verifications through the public
verifier, and e-mail opens where the organization turned that on. Unique viewers are told
apart by a keyed hash of address and user agent whose key changes every day and is then
forgotten: a viewer can be counted once a day, never followed from one day to the next, and
no address is kept."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Kind(StrEnum):
    VIEW = "view"
    DOWNLOAD_PDF = "download_pdf"
    DOWNLOAD_PNG = "download_png"
    DOWNLOAD_SVG = "download_svg"
    DOWNLOAD_JSON = "download_json"
    SHARE_LINKEDIN = "share_linkedin"
    SHARE_X = "share_x"
    SHARE_FACEBOOK = "share_facebook"
    SHARE_EMAIL = "share_email"
    LINKEDIN_ADD = "linkedin_add"
    VERIFICATION = "verification"
    EMAIL_OPEN = "email_open"


DOWNLOADS = frozenset({Kind.DOWNLOAD_PDF, Kind.DOWNLOAD_PNG, Kind.DOWNLOAD_SVG, Kind.DOWNLOAD_JSON})
SHARES = frozenset({Kind.SHARE_LINKEDIN, Kind.SHARE_X, Kind.SHARE_FACEBOOK, Kind.SHARE_EMAIL})
# A first one of these tells the issuer's systems (webhooks): each is sent once a credential.
FIRSTS = {Kind.VIEW: "credential.first_viewed", Kind.LINKEDIN_ADD: "credential.linkedin_added"}
# The share buttons of a credential page, by the last part of their redirect path.
SHARE_TARGETS = {
    "linkedin": Kind.SHARE_LINKEDIN,
    "x": Kind.SHARE_X,
    "facebook": Kind.SHARE_FACEBOOK,
    "email": Kind.SHARE_EMAIL,
    "linkedin-profile": Kind.LINKEDIN_ADD,
}

# Crawlers, link previews, monitors and command-line clients. A browser's user agent names
# none of these; an empty one is no browser either.
_BOTS = re.compile(
    r"bot|crawl|spider|slurp|preview|fetch|scan|monitor|check|archiver|headless|"
    r"facebookexternalhit|embedly|quora link|whatsapp|telegram|discord|skype|"
    r"curl|wget|httpx|python|java/|go-http|okhttp|axios|node-fetch|libwww|perl|ruby|"
    r"postman|insomnia|lighthouse|pingdom|uptime",
    re.IGNORECASE,
)


def is_person(user_agent: str | None) -> bool:
    """Whether a request's user agent looks like a person's browser."""
    ua = (user_agent or "").strip()
    return ua.startswith("Mozilla/") and _BOTS.search(ua) is None


def visitor(day_key: bytes, address: str, user_agent: str) -> str:
    """A viewer's name for one day: the same address and browser give the same name on the
    same day, and nothing links it to the address once the day's key is gone."""
    mac = hmac.new(day_key, f"{address}\n{user_agent}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def bucket(day: date, granularity: Granularity) -> date:
    """The first day of the period `day` falls in (weeks start on Monday)."""
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def buckets(first: date, last: date, granularity: Granularity) -> list[date]:
    """Every period from the one holding `first` to the one holding `last`, in order."""
    out: list[date] = []
    at = bucket(first, granularity)
    while at <= last:
        out.append(at)
        if granularity is Granularity.DAY:
            at += timedelta(days=1)
        elif granularity is Granularity.WEEK:
            at += timedelta(days=7)
        else:
            at = (at.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


# The figures of a period, in the order the API, the table and the CSV give them.
FIGURES = (
    "issued",
    "delivered",
    "views",
    "unique_viewers",
    "downloads",
    "shares",
    "linkedin_adds",
    "verifications",
    "emails_failed",
    "emails_bounced",
    "email_opens",
)


@dataclass
class Figures:
    issued: int = 0
    delivered: int = 0
    views: int = 0
    unique_viewers: int = 0
    downloads: int = 0
    shares: int = 0
    linkedin_adds: int = 0
    verifications: int = 0
    emails_failed: int = 0
    emails_bounced: int = 0
    email_opens: int = 0

    def count(self, kind: Kind, n: int) -> None:
        if kind is Kind.VIEW:
            self.views += n
        elif kind in DOWNLOADS:
            self.downloads += n
        elif kind in SHARES:
            self.shares += n
        elif kind is Kind.LINKEDIN_ADD:
            self.linkedin_adds += n
        elif kind is Kind.VERIFICATION:
            self.verifications += n
        elif kind is Kind.EMAIL_OPEN:
            self.email_opens += n

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIGURES}


@dataclass
class Reach:
    """How many of the period's credentials got at least this far: the funnel."""

    issued: int = 0
    delivered: int = 0
    viewed: int = 0
    downloaded: int = 0
    shared: int = 0
    added_to_linkedin: int = 0

    def steps(self) -> list[tuple[str, int, float | None]]:
        """(label, credentials, share of the issued ones) for each step."""
        pairs = [
            ("Issued", self.issued),
            ("E-mail delivered", self.delivered),
            ("Viewed", self.viewed),
            ("Downloaded", self.downloaded),
            ("Shared", self.shared),
            ("Added to LinkedIn", self.added_to_linkedin),
        ]
        return [(label, n, rate(n, self.issued)) for label, n in pairs]


def rate(part: int, whole: int) -> float | None:
    return None if whole <= 0 else part / whole


def bounced(error: str | None) -> bool:
    """A failed e-mail the recipient's own server refused (a bounce), rather than one our
    mail server never got out."""
    return (error or "").startswith(("recipient refused", "message refused"))


@dataclass
class Event:
    """One counted thing, as the recording buffer keeps it until it is written."""

    organization_id: str
    credential_id: str
    group_id: str
    kind: Kind
    day: date
    visitor: str | None = None  # page views only
