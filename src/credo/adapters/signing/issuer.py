"""The Signer port's adapter: organization keys sealed in the vault, Data Integrity proofs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson

from credo.adapters.keystore import KeyVault
from credo.adapters.signing.keys import KeyPair
from credo.adapters.signing.parallel import SigningPool, sign_one
from credo.domain.entities import SigningKey
from credo.domain.errors import InvalidDocument


class DataIntegritySigner:
    def __init__(self, vault: KeyVault, pool: SigningPool | None = None) -> None:
        self._vault = vault
        self._pool = pool
        # Opened keys, by key id and sealed bytes: opening one (AES-GCM, then Ed25519 key
        # setup) was a tenth of a single publish's CPU. They stay in this process's memory,
        # where the master key that opens them is already.
        self._opened: dict[tuple[str, bytes], KeyPair] = {}

    def new_key(self, key_id: str, org_id: str) -> tuple[str, bytes]:
        """A fresh Ed25519 key: (publicKeyMultibase, sealed seed)."""
        pair = KeyPair.generate()
        return pair.public_key_multibase, self._vault.seal(pair.seed, _binding(key_id, org_id))

    def did(self, key: SigningKey) -> str:
        # The stored multibase is the canonical encoding (encode_public_key made it).
        return f"did:key:{key.public_key_multibase}"

    def sign(
        self,
        documents: Sequence[dict[str, Any]],
        key: SigningKey,
        *,
        cryptosuite: str,
        created: datetime,
        verification_method: str | None = None,
    ) -> list[dict[str, Any]]:
        signed = self._signed(documents, key, cryptosuite, created, verification_method)
        return [orjson.loads(d) if isinstance(d, bytes) else d for d in signed]

    def sign_to_json(
        self,
        documents: Sequence[dict[str, Any]],
        key: SigningKey,
        *,
        cryptosuite: str,
        created: datetime,
        verification_method: str | None = None,
    ) -> list[str]:
        signed = self._signed(documents, key, cryptosuite, created, verification_method)
        # A helper's JSON is kept as it wrote it; what was signed here is written alike.
        return [d.decode() if isinstance(d, bytes) else orjson.dumps(d).decode() for d in signed]

    def _signed(
        self,
        documents: Sequence[dict[str, Any]],
        key: SigningKey,
        cryptosuite: str,
        created: datetime,
        verification_method: str | None,
    ) -> list[bytes] | list[dict[str, Any]]:
        """Shared with the helpers (their JSON), or signed here (objects)."""
        pair, method = self._pair(key, verification_method)
        with _refusing_invalid():
            if self._pool is not None:
                shared = self._pool.sign(
                    documents, pair, cryptosuite=cryptosuite, method=method, created=created
                )
                if shared is not None:
                    return shared
            return [sign_one(doc, pair, cryptosuite, method, created) for doc in documents]

    def _pair(self, key: SigningKey, verification_method: str | None) -> tuple[KeyPair, str]:
        pair = self._opened.get((key.id, key.sealed_secret))
        if pair is None:
            seed = self._vault.open(key.sealed_secret, _binding(key.id, key.organization_id))
            pair = KeyPair.from_seed(seed)
            if len(self._opened) >= 10_000:
                self._opened.clear()
            self._opened[(key.id, key.sealed_secret)] = pair
        return pair, verification_method or pair.verification_method


@contextmanager
def _refusing_invalid() -> Iterator[None]:
    try:
        yield
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        # The JSON-LD processor can fail on a hostile document (pyld raises a bare
        # KeyError on `{"@vocab": null}`): a document that cannot be processed is
        # refused like any other invalid document, never a server error.
        raise InvalidDocument(
            f"invalid JSON-LD: the document cannot be processed ({type(error).__name__}: "
            f"{str(error)[:200]})"
        ) from None


def _binding(key_id: str, org_id: str) -> str:
    return f"credo-signing-key:{org_id}:{key_id}"
