"""Signing a large batch on more than one core: helper processes take chunks of the batch
from its front while the calling process signs chunks from its back, until they meet.

Nothing is signed twice and nothing waits for a helper that is slow to start or busy: a
chunk no helper has picked up yet is taken back (its future cancelled) and signed here. A
helper that dies leaves its chunks to this process, and the pool is made anew for the next
batch. Documents travel as JSON bytes, and so do the signed ones, so both sides pay orjson's
price rather than pickle's for nested dictionaries.

The helpers are this process's own children; the key seed they are sent is the one this
process has just opened with the master key, and it never leaves the machine.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Any

import orjson

from credo.adapters.signing import data_integrity
from credo.adapters.signing.keys import KeyPair

log = logging.getLogger(__name__)

CHUNK = 250  # documents per chunk: a few tens of milliseconds of signing
MIN_BATCH = 1_000  # smaller batches are signed here alone: sharing costs more than it saves

_pairs: dict[bytes, KeyPair] = {}  # in a helper: opened keys, by seed


def sign_one(
    doc: dict[str, Any], pair: KeyPair, cryptosuite: str, method: str, created: datetime
) -> dict[str, Any]:
    """One document built for this signature (owned: not copied), in any process."""
    return data_integrity.sign(
        doc,
        key=pair,
        cryptosuite=cryptosuite,
        verification_method=method,
        created=created,
        owned=True,
    )


def _sign_chunk(
    seed: bytes, cryptosuite: str, method: str, created: datetime, docs: list[bytes]
) -> tuple[int, list[bytes] | None]:
    """In a helper: (its pid, the signed documents), or None for the documents when one is
    refused: the caller signs the chunk itself and so raises what signing here raises (an
    exception's own class may not survive the trip back)."""
    pair = _pairs.get(seed)
    if pair is None:
        _pairs.clear()
        pair = _pairs[seed] = KeyPair.from_seed(seed)
    try:
        signed = [
            orjson.dumps(sign_one(orjson.loads(doc), pair, cryptosuite, method, created))
            for doc in docs
        ]
    except Exception:  # reported by signing the chunk again in the caller
        return os.getpid(), None
    return os.getpid(), signed


def _ready() -> int:
    return os.getpid()


@dataclass
class Shared:
    """How the last batch was shared: chunks signed by helpers and here."""

    helper_chunks: int = 0
    local_chunks: int = 0
    helper_pids: set[int] = field(default_factory=set)


_shared: dict[int, SigningPool] = {}
_shared_lock = Lock()


def shared_pool(processes: int) -> SigningPool | None:
    """This process's pool of `processes` helpers (None for 0), shared by every signer in
    it, so that apps made and dropped (as tests do) do not each start helpers."""
    if processes < 1:
        return None
    with _shared_lock:
        pool = _shared.get(processes)
        if pool is None:
            pool = _shared[processes] = SigningPool(processes)
        return pool


class SigningPool:
    def __init__(self, processes: int, *, chunk: int = CHUNK, min_batch: int = MIN_BATCH) -> None:
        self.processes = processes
        self.chunk = chunk
        self.min_batch = min_batch
        self.last = Shared()
        self._pool: ProcessPoolExecutor | None = None
        self._lock = Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # Spawned, not forked: the server's threads and open connections stay out.
                self._pool = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn")
                )
            return self._pool

    def warm(self) -> set[int]:
        """Start the helpers now and wait until each answers; their pids."""
        pool = self._executor()
        return {f.result() for f in [pool.submit(_ready) for _ in range(self.processes)]}

    def close(self) -> None:
        """Stop the helpers; the next large batch starts new ones."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def sign(
        self,
        documents: Sequence[dict[str, Any]],
        pair: KeyPair,
        *,
        cryptosuite: str,
        method: str,
        created: datetime,
    ) -> list[dict[str, Any]] | None:
        """The signed documents, or None when the batch is too small to share (the caller
        signs it alone). Each comes out as `data_integrity.sign` makes it."""
        if self.processes < 1 or len(documents) < self.min_batch:
            return None
        seed = pair.seed
        chunks = [
            [orjson.dumps(d) for d in documents[i : i + self.chunk]]
            for i in range(0, len(documents), self.chunk)
        ]
        done: list[list[dict[str, Any]] | None] = [None] * len(chunks)
        shared = Shared()
        futures: list[Future[tuple[int, list[bytes] | None]] | None] = []
        try:
            pool = self._executor()
            for c in chunks:
                futures.append(pool.submit(_sign_chunk, seed, cryptosuite, method, created, c))
        except (BrokenProcessPool, RuntimeError, OSError) as error:
            log.warning("signing helpers unavailable (%s): signing here", type(error).__name__)
            self.close()
        futures += [None] * (len(chunks) - len(futures))

        def here(i: int) -> None:
            done[i] = [
                sign_one(doc, pair, cryptosuite, method, created)
                for doc in documents[i * self.chunk : (i + 1) * self.chunk]
            ]
            shared.local_chunks += 1

        # From the back, take every chunk no helper has started.
        for i in reversed(range(len(chunks))):
            f = futures[i]
            if f is None or f.cancel():
                here(i)
        for i, f in enumerate(futures):
            if done[i] is not None or f is None:
                continue
            try:
                pid, signed = f.result()
            except BrokenProcessPool:
                log.warning("a signing helper died: its chunks are signed here")
                self.close()
                here(i)
                continue
            if signed is None:  # a document was refused: raise here what signing raises
                for other in futures:
                    if other is not None:
                        other.cancel()
                here(i)
                continue
            done[i] = [orjson.loads(s) for s in signed]
            shared.helper_chunks += 1
            shared.helper_pids.add(pid)
        self.last = shared
        return [doc for part in done for doc in part or ()]
