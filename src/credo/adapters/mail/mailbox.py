"""A file mailbox: each message becomes one .eml file, for development without SMTP."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from credo.services.mail.ports import MailError


class FileMailbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"FileMailbox({self.directory})"

    @contextmanager
    def session(self) -> Iterator[FileMailbox]:
        yield self

    def send(self, message: EmailMessage) -> None:
        # Named after the Message-ID, which is stable per outbox row: a re-send after a
        # crash replaces the file rather than adding a second copy.
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(message["Message-ID"]).strip("<>"))
        path = self.directory / f"{name}.eml"
        tmp = path.with_suffix(".eml.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(message.as_bytes())
            os.replace(tmp, path)  # readers never see half a message
        except OSError as exc:
            raise MailError(f"cannot write {path}: {exc.strerror or exc}", server=True) from exc
