"""The webhook rules that need no I/O: the retry schedule, when an endpoint is disabled,
which URLs may be registered and which addresses may be connected to."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.domain import webhooks as rules

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_retry_schedule_is_the_documented_one() -> None:
    waits = [rules.next_attempt(n, NOW) for n in range(1, 9)]
    assert [w - NOW for w in waits[:7] if w is not None] == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    ]
    assert waits[7] is None  # the eighth failure is the last
    assert rules.next_attempt(0, NOW) is None


def test_an_endpoint_is_disabled_after_five_days_of_failures() -> None:
    assert not rules.disable_now(None, NOW)
    assert not rules.disable_now(NOW - timedelta(days=5) + timedelta(seconds=1), NOW)
    assert rules.disable_now(NOW - timedelta(days=5), NOW)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
        "100.64.0.1", "192.0.2.1", "198.18.0.1", "224.0.0.1", "255.255.255.255", "240.0.0.1",
        "::1", "::", "fe80::1", "fc00::1", "ff02::1", "2001:db8::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::",
    ],
)  # fmt: skip
def test_private_and_reserved_addresses_are_refused(address: str) -> None:
    assert not rules.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert rules.address_allowed(ipaddress.ip_address(address))


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_and_its_ipv6_mapped_form_are_judged_alike(
    address: ipaddress.IPv4Address,
) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert rules.address_allowed(mapped) == rules.address_allowed(address)


@pytest.mark.parametrize(
    ("url", "allow_http", "allow_private", "ok"),
    [
        ("https://hooks.example.com/in", False, False, True),
        ("https://hooks.example.com:8443/in?a=b", False, False, True),
        ("http://hooks.example.com/in", False, False, False),
        ("http://hooks.example.com/in", True, False, True),
        ("https://127.0.0.1/in", False, False, False),
        ("https://127.0.0.1/in", False, True, True),
        ("https://api.localhost/in", False, False, False),
        ("https://hooks.example.com/in#frag", False, False, False),
        ("https://u:p@hooks.example.com/in", False, False, False),
        ("https://hooks.example.com:0/", False, False, False),
        ("https://hooks.example.com:70000/", False, False, False),
        ("https://hooks example.com/", False, False, False),
        ("mailto:a@example.com", False, False, False),
        ("//hooks.example.com/", False, False, False),
    ],
)
def test_which_urls_can_be_registered(
    url: str, allow_http: bool, allow_private: bool, ok: bool
) -> None:
    if ok:
        assert rules.check_url(url, allow_http=allow_http, allow_private=allow_private) == url
    else:
        with pytest.raises(rules.BadUrl):
            rules.check_url(url, allow_http=allow_http, allow_private=allow_private)


def test_an_endpoint_wants_only_its_events_while_enabled() -> None:
    hook = rules.Webhook(
        id="whk_1", organization_id="org_1", url="https://h.example.com/",
        events=("credential.published",), description=None, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    assert hook.wants("credential.published") and not hook.wants("credential.revoked")
    assert not replace(hook, disabled_at=NOW).wants("credential.published")
