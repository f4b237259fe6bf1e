"""A large batch signed with helper processes equals the batch signed here, byte for byte,
whoever signs which chunk; a helper that dies, or a document one refuses, changes nothing
of what the caller sees."""

from __future__ import annotations

import copy
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from credo.adapters.signing import KeyPair, data_integrity
from credo.adapters.signing.parallel import SigningPool
from credo.domain.errors import DomainError
from tests.unit.signing.conftest import ob_credential

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SUITE = "eddsa-rdfc-2022"


@pytest.fixture(scope="module")
def pool() -> Iterator[SigningPool]:
    p = SigningPool(1, chunk=40, min_batch=100)
    p.warm()
    yield p
    p.close()


def batch(n: int) -> list[dict[str, Any]]:
    docs = []
    for i in range(n):
        doc = ob_credential()
        doc["id"] = f"https://credo.example/c/cred_{i:032x}"
        doc["credentialSubject"]["identifier"][0]["salt"] = f"{i:032x}"
        docs.append(doc)
    return docs


def here(docs: list[dict[str, Any]], key: KeyPair) -> list[bytes]:
    method = key.verification_method
    return [
        orjson.dumps(
            data_integrity.sign(
                d, key=key, cryptosuite=SUITE, verification_method=method, created=CREATED
            )
        )
        for d in docs
    ]


def shared(pool: SigningPool, docs: list[dict[str, Any]], key: KeyPair) -> list[bytes] | None:
    return pool.sign(
        copy.deepcopy(docs), key, cryptosuite=SUITE, method=key.verification_method, created=CREATED
    )


def test_shared_signing_equals_signing_here(pool: SigningPool, key: KeyPair) -> None:
    docs = batch(400)
    assert shared(pool, docs, key) == here(docs, key)
    # Both sides signed some of it, and every chunk once.
    assert pool.last.helper_chunks >= 1 and pool.last.local_chunks >= 1
    assert pool.last.helper_chunks + pool.last.local_chunks == 10
    assert os.getpid() not in pool.last.helper_pids


def test_a_small_batch_is_left_to_the_caller(pool: SigningPool, key: KeyPair) -> None:
    assert shared(pool, batch(99), key) is None


def test_a_dead_helper_leaves_its_work_here(key: KeyPair) -> None:
    p = SigningPool(1, chunk=40, min_batch=100)
    try:
        for pid in p.warm():
            os.kill(pid, signal.SIGKILL)
        docs = batch(200)
        assert shared(p, docs, key) == here(docs, key)
        assert p.last.helper_chunks == 0
        assert shared(p, docs, key) == here(docs, key)  # a new pool for the next batch
        assert p.last.helper_chunks >= 1
    finally:
        p.close()


def test_a_refused_document_raises_as_signing_here_does(pool: SigningPool, key: KeyPair) -> None:
    docs = batch(200)
    docs[3]["credentialSubject"]["undefinedTerm"] = "dropped by JSON-LD"  # in a helper's chunk
    with pytest.raises(DomainError) as here_error:
        here(docs, key)
    with pytest.raises(type(here_error.value)) as shared_error:
        shared(pool, docs, key)
    assert str(shared_error.value) == str(here_error.value)
