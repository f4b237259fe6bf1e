"""Logs as operators read them: one JSON object a line (or plain text in development),
each request and job step one line with its ids and duration, and nothing secret in any
line. A filter scrubs e-mail addresses, API keys, webhook secrets and URL tokens from every
message, whoever wrote it (an SMTP server's refusal quotes the address it refused)."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

# No line says where in the code it was logged from, in which thread or process: the
# logging HOWTO's "Optimization" switches, so that each record skips walking the stack and
# asking for the thread and process (a request's log line cost 165 µs of CPU in a busy
# server, 24 µs alone).
logging._srcfile = None
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False

# The request being served (entrypoints/api/observability.py sets it), for every line
# logged while serving it.
REQUEST_ID: ContextVar[str | None] = ContextVar("credo_request_id", default=None)

# Fields a line may carry besides its message (`log.info("...", extra={...})`).
FIELDS = (
    "request_id",
    "organization_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "job_id",
    "kind",
    "outcome",
    "attempts",
    "worker",
    "sent",
    "retried",
    "failed",
)

_SECRETS = [
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"credo_sk_[A-Za-z0-9_-]+"), "<api-key>"),
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), "<secret>"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1<token>"),
    (re.compile(r"(?i)((?:token|password|key)=)[^&\s\"']+"), r"\1<redacted>"),
    (re.compile(r"(/password-reset/|/invite/)[A-Za-z0-9_-]+"), r"\1<token>"),
]


def scrub(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


# Messages scrub found nothing in. Most lines repeat one word for word ("request", "job
# step"); those are checked once. Only clean messages are kept, so nothing secret is held.
_CLEAN: set[str] = set()
_CLEAN_MAX = 512


def _scrubbed(message: str) -> str:
    if message in _CLEAN:
        return message
    text = scrub(message)
    if text == message:
        if len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.clear()
        _CLEAN.add(message)
    return text


class Scrub(logging.Filter):
    """Formats the message once, scrubbed, so no handler sees the raw arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = _scrubbed(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        rid = REQUEST_ID.get()
        if rid is not None and not hasattr(record, "request_id"):
            record.request_id = rid
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is written, not when logging was set
    up (a command run under a test runner gets a stderr of its own, closed after it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["error"] = record.exc_text
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = [
            f"{n}={getattr(record, n)}" for n in FIELDS if getattr(record, n, None) is not None
        ]
        return f"{text} [{' '.join(extra)}]" if extra else text


def config(fmt: str) -> dict[str, Any]:
    """A logging.config dictionary: every logger (uvicorn's too) through one scrubbed
    handler on stderr. uvicorn's access log is off: the request line is ours, by route
    template, since a raw path or query string may carry a token."""
    formatter = "credo.logs.JsonFormatter" if fmt == "json" else "credo.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"scrub": {"()": "credo.logs.Scrub"}},
        "formatters": {"line": {"()": formatter}},
        "handlers": {
            "stderr": {
                "()": "credo.logs.StderrHandler",
                "formatter": "line",
                "filters": ["scrub"],
            }
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": "INFO"},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": "INFO"},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            "alembic": {"level": "WARNING"},
            "weasyprint": {"level": "WARNING"},  # a line per layout step of every PDF
            "fontTools": {"level": "WARNING"},
        },
    }


def configure(fmt: str) -> None:
    import logging.config

    logging.config.dictConfig(config(fmt))


def chosen_format(setting: str, environment: str) -> str:
    """`auto`: plain text for a person at a terminal in development, JSON otherwise."""
    if setting != "auto":
        return setting
    return "text" if environment == "development" and sys.stderr.isatty() else "json"
