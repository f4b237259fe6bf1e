"""Sending over SMTP with smtplib: one connection per batch, every step under a timeout.

Errors become MailError, classified by who is at fault: a 5xx answer about this message is
permanent; 4xx answers are transient; anything about the server or our account on it
(connection refused or dropped, TLS, login, 421) is transient and stops the batch. Error
texts are the server's answers and exception names, never our credentials."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Literal

from pydantic import SecretStr

from credo.services.mail.ports import MailError

Security = Literal["starttls", "ssl", "none"]


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security = "starttls",
        username: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self._tls = tls_context

    def __repr__(self) -> str:
        return f"SmtpSender({self.host}:{self.port}, {self.security}, user={self.username!r})"

    @contextmanager
    def session(self) -> Iterator[SmtpSession]:
        session = SmtpSession(self)
        try:
            yield session
        finally:
            session.close()

    def _context(self) -> ssl.SSLContext:
        # Made once: loading the system's CA certificates takes tens of milliseconds, and a
        # worker connects once per batch.
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username:
                password = self._password.get_secret_value() if self._password else ""
                smtp.login(self.username, password)
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp


class SmtpSession:
    def __init__(self, sender: SmtpSender) -> None:
        self._sender = sender
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        try:
            if self._smtp is None:
                self._smtp = self._sender.connect()
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise self._refused(code, text, "recipient refused") from None
        except smtplib.SMTPDataError as exc:
            raise self._refused(exc.smtp_code, exc.smtp_error, "message refused") from None
        except smtplib.SMTPResponseException as exc:
            # Refused greeting, sender or login: about the server or our account.
            self.close()
            raise MailError(_describe(exc.smtp_code, exc.smtp_error, exc), server=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Disconnected, TLS or login not offered, refused, timed out, unreachable.
            self.close()
            raise MailError(f"{type(exc).__name__}: {exc}"[:300], server=True) from None

    def _refused(self, code: int, text: bytes | str, what: str) -> MailError:
        if code == 421:  # the server is closing the connection: nothing about this message
            self.close()
            return MailError(f"{what}: {_describe(code, text)}", server=True)
        return MailError(f"{what}: {_describe(code, text)}", permanent=500 <= code < 600)

    def close(self) -> None:
        if self._smtp is not None:
            _quietly_close(self._smtp)
            self._smtp = None


def _describe(code: int, text: bytes | str, exc: BaseException | None = None) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    prefix = f"{type(exc).__name__}: " if exc is not None else ""
    return f"{prefix}{code} {' '.join(said.split())}"[:300]


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
