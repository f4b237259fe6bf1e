"""DNS look-ups (dnspython): the TXT records that prove an organization holds an e-mail
domain (services/people/sso.py)."""

from __future__ import annotations

import dns.exception
import dns.resolver


class DnsTxt:
    def __init__(self, timeout: float = 5.0) -> None:
        self._timeout = timeout

    def txt(self, name: str) -> list[str]:
        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=self._timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
            return []
        except dns.exception.DNSException:
            return []  # a timeout, a malformed answer: not verified, try again later
        records = []
        for rdata in answer:
            parts = getattr(rdata, "strings", ())
            records.append(b"".join(parts).decode("utf-8", "replace"))
        return records
