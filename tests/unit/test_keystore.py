"""Signing keys at rest: sealed under the master key, bound to their row; the server will
not run outside development without a master key."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from credo.adapters.keystore import (
    KeyVault,
    MasterKeyError,
    development_master_key,
    new_master_key,
    parse_master_key,
)
from credo.settings import Settings


def test_a_sealed_secret_opens_only_with_its_master_key_and_binding() -> None:
    vault = KeyVault(parse_master_key(new_master_key()))
    secret = os.urandom(32)
    sealed = vault.seal(secret, "org_a:key_1")
    assert secret not in sealed
    assert vault.open(sealed, "org_a:key_1") == secret
    with pytest.raises(MasterKeyError):
        vault.open(sealed, "org_b:key_1")
    with pytest.raises(MasterKeyError):
        KeyVault(parse_master_key(new_master_key())).open(sealed, "org_a:key_1")


@pytest.mark.parametrize("bad", ["", "short", "!" * 43, "A" * 27, "A" * 60])
def test_malformed_master_keys_are_refused(bad: str) -> None:
    with pytest.raises(MasterKeyError):
        parse_master_key(bad)


def test_production_refuses_to_start_without_a_master_key() -> None:
    with pytest.raises(ValidationError, match="CREDO_MASTER_KEY"):
        Settings(environment="production", admin_token="x" * 32)
    Settings(environment="production", admin_token="x" * 32, master_key=new_master_key())


def test_development_makes_one_master_key_and_keeps_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = development_master_key(tmp_path)
    assert development_master_key(tmp_path) == first
    assert len(parse_master_key(first)) == 32
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600
