"""One webhook attempt over HTTP, safe to point at any URL a customer types.

The host name is resolved here, the address is checked (domain.webhooks.address_allowed)
and the connection is made to that very address, with the name kept for the Host header
and for TLS (SNI and certificate checks): a name that resolves to a public address when
checked and to a private one when connected (DNS rebinding) cannot slip between the two.
No proxy from the environment, no redirects followed, a bounded wait, at most
RESPONSE_KEPT bytes of the answer read."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from credo.domain.webhooks import (
    RESPONSE_KEPT,
    TIMEOUT_SECONDS,
    Attempt,
    address_allowed,
)
from credo.services.webhooks.ports import Outgoing

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[IP]]


def resolve(host: str, port: int) -> list[IP]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IP] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


class Refused(Exception):
    pass


class HttpSender:
    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = resolve,
        verify: ssl.SSLContext | bool = True,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolver
        self._timeout = timeout
        self._client = httpx.Client(
            trust_env=False,  # no proxy: the address checked is the one connected to
            follow_redirects=False,
            verify=verify,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self._client.close()

    def send(self, message: Outgoing, at: datetime) -> Attempt:
        began = time.perf_counter()

        def took() -> int:
            return round((time.perf_counter() - began) * 1000)

        try:
            url, host_header, sni = self._target(message.url)
        except Refused as exc:
            return Attempt(at=at, duration_ms=took(), error=str(exc))
        except (OSError, ValueError) as exc:
            return Attempt(at=at, duration_ms=took(), error=f"could not resolve: {exc}")
        extensions = {"sni_hostname": sni} if sni else {}
        try:
            request = self._client.build_request(
                "POST",
                url,
                content=message.body,
                headers={**message.headers, "host": host_header},
                extensions=extensions,
            )
            response = self._client.send(request, stream=True)
            try:
                kept = bytearray()
                for chunk in response.iter_raw():
                    kept += chunk
                    if len(kept) >= RESPONSE_KEPT or took() > self._timeout * 1000:
                        break
            finally:
                response.close()
        except httpx.TimeoutException:
            return Attempt(at=at, duration_ms=took(), error=f"no answer within {self._timeout:g} s")
        except httpx.HTTPError as exc:
            return Attempt(at=at, duration_ms=took(), error=f"{type(exc).__name__}: {exc}"[:500])
        text = bytes(kept[:RESPONSE_KEPT]).decode("utf-8", errors="replace")
        error = None
        if response.is_redirect:
            error = "redirects are not followed; give the final URL"
        return Attempt(
            at=at,
            duration_ms=took(),
            status_code=response.status_code,
            response=text,
            error=error,
        )

    def _target(self, url: str) -> tuple[str, str, str | None]:
        """The URL to connect to (host replaced by the checked address), the Host header,
        and the name for TLS."""
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            raise ValueError("no host")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses: list[IP] = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = self._resolve(host, port)
        if not addresses:
            raise ValueError(f"{host} has no address")
        chosen = next((a for a in addresses if self._allow_private or address_allowed(a)), None)
        if chosen is None:
            raise Refused(
                f"refused: {host} resolves to {addresses[0]}, a private or reserved address"
            )
        literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
        netloc = f"{literal}:{port}"
        default = 443 if parts.scheme == "https" else 80
        host_header = parts.netloc.rpartition("@")[2]
        if parts.port is None or parts.port == default:
            host_header = f"[{host}]" if ":" in host else host
        sni = host if parts.scheme == "https" and not _is_literal(host) else None
        return (
            urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
            host_header,
            sni,
        )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
