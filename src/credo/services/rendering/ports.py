"""What rendering needs: kept files, and a certificate renderer."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from credo.domain.entities import (
    CertificateContent,
)


class Artifacts(Protocol):
    """Rendered files of credential versions (PDF, badge images), made once and kept."""

    def get(self, cred_id: str, kind: str, version: int) -> tuple[str, bytes] | None: ...
    def put(
        self,
        org_id: str,
        cred_id: str,
        kind: str,
        version: int,
        media_type: str,
        content: bytes,
        now: datetime,
    ) -> None: ...


class CertificateRenderer(Protocol):
    """Draws a certificate as a one-page PDF. Never fetches anything: every image it draws
    is in the content."""

    @property
    def fingerprint(self) -> str:
        """What draws the PDF (templates, fonts, code): kept ones drawn with another are
        drawn again."""

    def render(self, content: CertificateContent) -> bytes: ...
    def warm_up(self) -> None:
        """Pay one-time costs (fonts, templates) before the first visitor waits for them."""
