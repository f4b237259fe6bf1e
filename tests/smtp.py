"""A real SMTP server on loopback for tests (aiosmtpd), collecting what it accepts.

    with running_smtp_server() as smtp:        # or the `smtp_server` fixture (below)
        ... CREDO_SMTP_HOST=smtp.host, CREDO_SMTP_PORT=smtp.port, CREDO_SMTP_SECURITY=none
        smtp.messages                         # list[Received], in order of acceptance
        smtp.wait_for(1)                      # block (with a timeout) until one arrived

To test failures, `fail_first=N` makes the first N DATA commands fail in the way `failure`
says: "451" (a transient refusal of the message), "550" (a permanent one), "421" (the server
says it is closing) or "drop" (the connection is cut without an answer). With
`password=...` the server offers AUTH and accepts only that password (for any user name);
TLS is never offered, so clients use CREDO_SMTP_SECURITY=none.

To use the fixture in a test module, bind it to a module-level name (an import of the
same name would trip ruff's F811 where tests take it as an argument):

    from tests.smtp import smtp_server as smtp_server_fixture
    smtp_server = smtp_server_fixture
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
Failure = Literal["451", "550", "421", "drop"]
_ANSWERS = {
    "451": "451 4.3.0 Try again later",
    "550": "550 5.7.1 Message refused",
    "421": "421 4.3.2 Closing connection",
}


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def headers(self) -> Message:
        """The header block alone, parsed plainly: for tests that read thousands of them."""
        return BytesHeaderParser(policy=policy.compat32).parsebytes(self.raw)


@dataclass
class SmtpServer:
    host: str
    port: int
    fail_first: int = 0
    failure: Failure = "451"
    messages: list[Received] = field(default_factory=list)
    attempts: int = 0  # DATA commands seen, failed ones included
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[Received]:
        """The accepted messages addressed to `address`."""
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")

    # aiosmtpd's handler hook, called on its own event loop thread.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.attempts += 1
            failing = self.attempts <= self.fail_first
            if not failing:
                self.messages.append(
                    Received(
                        str(envelope.mail_from),
                        list(envelope.rcpt_tos),
                        bytes(envelope.original_content or b""),
                    )
                )
        if not failing:
            return "250 2.0.0 OK"
        if self.failure == "drop":
            assert server.transport is not None
            server.transport.close()
            return "421 gone"  # never reaches the client: the connection is closed
        return _ANSWERS[self.failure]


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_smtp_server(
    *,
    fail_first: int = 0,
    failure: Failure = "451",
    password: str | None = None,
    host: str = HOST,
) -> Iterator[SmtpServer]:
    smtp = SmtpServer(host, free_port(host), fail_first=fail_first, failure=failure)
    options: dict[str, Any] = {}
    if password is not None:

        def authenticate(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.password == password.encode()
            return AuthResult(success=ok, handled=False)

        options = {"authenticator": authenticate, "auth_require_tls": False}
    controller = Controller(smtp, hostname=host, port=smtp.port, **options)
    controller.start()
    try:
        yield smtp
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A loopback SMTP server that accepts everything."""
    with running_smtp_server() as smtp:
        yield smtp
