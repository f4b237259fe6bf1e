"""Tests hash passwords cheaply; production keeps argon2id's strong parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from credo.adapters.passwords import Argon2Passwords
from credo.bootstrap import bootstrap
from credo.settings import Settings
from tests.conftest import ADMIN_TOKEN, MASTER_KEY

STRONG = (3, 65536, 4)  # RFC 9106's second recommendation: 3 passes, 64 MiB, 4 lanes


def _settings(tmp_path: Path, **fields: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'credo.db'}",
        admin_token=ADMIN_TOKEN,
        master_key=MASTER_KEY,
        **fields,  # type: ignore[arg-type]
    )


def test_production_hashes_with_the_strong_parameters(tmp_path: Path) -> None:
    app = bootstrap(_settings(tmp_path, environment="production"), migrate=True)
    try:
        assert app.settings.password_hashing == "strong"
        assert app.passwords.parameters == STRONG  # type: ignore[attr-defined]
        stored = app.passwords.hash("correct horse battery staple")
        assert "$argon2id$" in stored and "m=65536,t=3,p=4" in stored
    finally:
        app.close()


def test_production_refuses_fast_hashing(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CREDO_PASSWORD_HASHING=fast is for tests"):
        _settings(tmp_path, environment="production", password_hashing="fast")


def test_fast_hashing_is_the_same_algorithm_only_cheaper(tmp_path: Path) -> None:
    app = bootstrap(_settings(tmp_path, environment="test", password_hashing="fast"))
    try:
        fast = app.passwords
        assert fast.parameters == (1, 1024, 1)  # type: ignore[attr-defined]
        stored = fast.hash("pw-1")
        assert stored.startswith("$argon2id$") and fast.verify(stored, "pw-1")
        assert not fast.verify(stored, "pw-2")
        # A fast hash met by a strong server is verified, then upgraded at the next sign-in.
        strong = Argon2Passwords()
        assert strong.verify(stored, "pw-1") and strong.needs_rehash(stored)
    finally:
        app.close()
