"""Sealing signing keys at rest: AES-256-GCM under the master key, bound to the key's row.

The master key comes from settings (CREDO_MASTER_KEY, 32 bytes in base64url); in
development a key is generated once into the data folder. A sealed secret opens only with
the same master key and the same key id and organization (the associated data), so a row
copied to another organization does not open.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class MasterKeyError(ValueError):
    pass


def parse_master_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except ValueError:
        raise MasterKeyError("CREDO_MASTER_KEY must be base64url") from None
    if len(raw) != 32:
        raise MasterKeyError("CREDO_MASTER_KEY must hold 32 bytes (base64url, 43 characters)")
    return raw


def new_master_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def development_master_key(folder: Path) -> str:
    """The development master key, made once and kept (mode 0600) beside the SQLite data."""
    path = folder / "master.key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_master_key())
    return path.read_text().strip()


class KeyVault:
    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(master_key)

    def seal(self, secret: bytes, bound_to: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret, bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to.encode())
        except InvalidTag:
            raise MasterKeyError(
                "a signing key does not open with this master key (wrong CREDO_MASTER_KEY?)"
            ) from None
