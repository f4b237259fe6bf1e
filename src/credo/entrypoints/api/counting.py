"""Counting engagement from a request (services/engagement/recording.py): the browser's
user agent tells people from bots; a page view's address names its viewer for the day."""

from __future__ import annotations

from fastapi import Request

from credo.bootstrap import App
from credo.domain import engagement as e
from credo.services.engagement.recording import Subject


def count(
    app: App, request: Request, subject: Subject, kind: e.Kind, *, people_only: bool = True
) -> None:
    """Count `kind` for the credential if the request came from a person's browser."""
    if app.engagement is None:
        return
    address = request.client.host if request.client and kind is e.Kind.VIEW else None
    agent = request.headers.get("user-agent")
    app.engagement.record(subject, kind, agent, address, people_only=people_only)
