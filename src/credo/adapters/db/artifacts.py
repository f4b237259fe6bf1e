"""Rendered files of credential versions, kept in the database so that every process of a
deployment shares them (tables.credential_artifacts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from credo.adapters.db import tables as t


class SqlArtifacts:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, cred_id: str, kind: str, version: int) -> tuple[str, bytes] | None:
        a = t.credential_artifacts.c
        row = self._c.execute(
            select(a.media_type, a.content).where(
                a.credential_id == cred_id, a.kind == kind, a.version == version
            )
        ).first()
        return (row[0], bytes(row[1])) if row else None

    def put(
        self,
        org_id: str,
        cred_id: str,
        kind: str,
        version: int,
        media_type: str,
        content: bytes,
        now: datetime,
    ) -> None:
        """Keeps the file and drops the files of the credential's earlier versions, which
        are never served again (a version is its status index, which only grows); a twin
        rendered concurrently by another request wins quietly (both drew the same)."""
        values = {
            "credential_id": cred_id,
            "kind": kind,
            "version": version,
            "organization_id": org_id,
            "media_type": media_type,
            "content": content,
            "created_at": now,
        }
        a = t.credential_artifacts.c
        try:
            with self._c.begin_nested():
                self._c.execute(t.credential_artifacts.insert().values(**values))
        except IntegrityError:
            return
        self._c.execute(
            delete(t.credential_artifacts).where(a.credential_id == cred_id, a.version < version)
        )
