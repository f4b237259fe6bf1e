"""Webhooks as values: the events there are, what an endpoint and a delivery hold, when a
failed delivery is tried again, and which addresses an endpoint may name or reach.

No I/O here: the service decides with these, the sender (adapters/webhook_sender.py)
checks the address it is about to connect to with `address_allowed`."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

# What an endpoint can subscribe to. `webhook.test` is sent only on request, to one endpoint.
EVENT_TYPES = (
    "credential.published",
    "credential.updated",
    "credential.revoked",
    "credential.suspended",
    "credential.unsuspended",
    "credential.deleted",
    "credential.expired",
    "credential.first_viewed",
    "credential.linkedin_added",
    "import.completed",
    "credits.threshold_reached",
    "credits.publish_refused",
)
TEST_EVENT = "webhook.test"
DISABLED_MAIL = "webhook.disabled"  # the outbox kind of the e-mail to owners

MAX_ENDPOINTS = 20  # per organization
MAX_URL = 2000
MAX_DESCRIPTION = 500
# After a rotation the previous secret signs too, this long, so receivers can switch over.
SECRET_OVERLAP = timedelta(hours=24)
# After the n-th failed attempt, the next one waits RETRY_DELAYS[n - 1]; after the last,
# the delivery is marked failed: 8 attempts over about 28 hours.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
DISABLE_AFTER = timedelta(days=5)  # an endpoint failing this long is disabled
TIMEOUT_SECONDS = 10.0
RESPONSE_KEPT = 1024  # bytes of an answer read, and kept in the delivery log; no more


class DeliveryState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    organization_id: str
    url: str
    events: tuple[str, ...]
    description: str | None
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    expired_through: date | None = None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.events


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one endpoint. Its id is the `webhook-id` header of every attempt, so a
    receiver can tell a retry from a new event."""

    id: str
    webhook_id: str
    organization_id: str
    event_type: str
    payload: str  # the JSON body, exactly as sent (and signed)
    created_at: datetime
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_duration_ms: int | None = None
    last_response: str | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try of a delivery gave: a status code, or an error that stopped it before
    one came (refused address, timeout, connection error)."""

    at: datetime
    duration_ms: int
    status_code: int | None = None
    response: str | None = None  # the first RESPONSE_KEPT bytes, decoded leniently
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def next_attempt(attempts: int, now: datetime) -> datetime | None:
    """When to try again after `attempts` failed tries; None: give up."""
    if attempts < 1 or attempts > len(RETRY_DELAYS):
        return None
    return now + RETRY_DELAYS[attempts - 1]


def disable_now(failing_since: datetime | None, now: datetime) -> bool:
    return failing_since is not None and now - failing_since >= DISABLE_AFTER


def unknown_events(events: list[str] | tuple[str, ...]) -> list[str]:
    return [e for e in events if e not in EVENT_TYPES]


class BadUrl(ValueError):
    pass


def check_url(url: str, *, allow_http: bool, allow_private: bool) -> str:
    """The endpoint URL as stored, or BadUrl saying why not. Only what can be told without
    resolving a name is checked here; the sender checks the address it connects to."""
    if len(url) > MAX_URL:
        raise BadUrl(f"a webhook URL has at most {MAX_URL} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise BadUrl("a webhook URL holds no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadUrl(f"not a URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise BadUrl("a webhook URL starts with https://")
    if parts.scheme == "http" and not allow_http:
        raise BadUrl("a webhook URL must use https")
    host = parts.hostname
    if not host:
        raise BadUrl("a webhook URL names a host")
    if parts.username is not None or parts.password is not None:
        raise BadUrl("a webhook URL holds no user name or password; sign with the secret")
    if parts.fragment:
        raise BadUrl("a webhook URL has no #fragment")
    if port == 0:
        raise BadUrl("a webhook URL's port is 1 to 65535")
    if not allow_private:
        literal = _literal_address(host)
        if literal is not None and not address_allowed(literal):
            raise BadUrl(f"{host} is a private or reserved address")
        if host == "localhost" or host.endswith(".localhost"):
            raise BadUrl(f"{host} is this machine")
    return url


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a webhook may be sent to this address: public unicast only. Loopback,
    private, link-local, shared (carrier-grade NAT), multicast, reserved, documentation and
    unspecified addresses are not `is_global`; an IPv6 address that wraps an IPv4 one is
    judged by the IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address):
        wrapped = address.ipv4_mapped or address.sixtofour
        if wrapped is not None:
            return address_allowed(wrapped)
        if address in _NAT64:
            return address_allowed(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return address.is_global and not address.is_multicast


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
