"""Signing a large batch on more than one core: helper processes take chunks of the batch
from its front while the calling process signs chunks from its back, until they meet.

Nothing is signed twice: each helper is given two chunks at a time, from the front, and
more as it returns them, so at the end this process waits for at most two chunks per
helper (the first batch after start also waits for the helpers to start). A helper that
dies leaves its chunks to this process, and the pool is made anew for the next batch.
Documents travel as JSON bytes, and so do the signed ones, so both sides pay orjson's price
rather than pickle's for nested dictionaries.

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
                self._pool.shutdown(wait=False)
                self._pool = None

    def sign(
        self,
        documents: Sequence[dict[str, Any]],
        pair: KeyPair,
        *,
        cryptosuite: str,
        method: str,
        created: datetime,
    ) -> list[bytes] | None:
        """The signed documents as JSON (orjson's), or None when the batch is too small to
        share (the caller signs it alone). JSON, because that is what a helper sends back
        and what is stored: decoding a helper's half to objects and encoding it again was
        main-process work while the helpers sat idle."""
        if self.processes < 1 or len(documents) < self.min_batch:
            return None
        seed = pair.seed
        chunks = [documents[i : i + self.chunk] for i in range(0, len(documents), self.chunk)]
        done: list[list[bytes] | None] = [None] * len(chunks)
        shared = Shared()
        given: dict[Future[tuple[int, list[bytes] | None]], int] = {}
        pool: ProcessPoolExecutor | None = None
        front, back = 0, len(chunks) - 1  # the next chunk for helpers; the next one here

        def here(i: int) -> None:
            done[i] = [
                orjson.dumps(sign_one(doc, pair, cryptosuite, method, created)) for doc in chunks[i]
            ]
            shared.local_chunks += 1

        def give() -> None:
            """Keep each helper two chunks ahead, from the front, while chunks are left."""
            nonlocal front, pool
            while pool is not None and len(given) < 2 * self.processes and front <= back:
                docs = [orjson.dumps(d) for d in chunks[front]]
                try:
                    f = pool.submit(_sign_chunk, seed, cryptosuite, method, created, docs)
                except (BrokenProcessPool, RuntimeError, OSError) as error:
                    log.warning(
                        "signing helpers unavailable (%s): signing here", type(error).__name__
                    )
                    self.close()
                    pool = None
                    return
                given[f] = front
                front += 1

        def take(f: Future[tuple[int, list[bytes] | None]]) -> None:
            nonlocal pool
            i = given.pop(f)
            try:
                pid, signed = f.result()
            except BrokenProcessPool:
                log.warning("a signing helper died: its chunks are signed here")
                self.close()
                pool = None
                here(i)
                return
            if signed is None:  # a document was refused: raise here what signing raises
                here(i)
                return
            done[i] = signed
            shared.helper_chunks += 1
            shared.helper_pids.add(pid)

        try:
            pool = self._executor()
        except (RuntimeError, OSError) as error:
            log.warning("signing helpers unavailable (%s): signing here", type(error).__name__)
        give()
        # From the back, every chunk not given to a helper; between chunks, collect what the
        # helpers finished and give them more.
        while front <= back:
            here(back)
            back -= 1
            for f in [f for f in given if f.done()]:
                take(f)
            give()
        # Futures are never cancelled: on Python 3.11 a future cancelled while its pool
        # breaks kills the pool's manager thread, and the pool's other futures never end.
        for f in list(given):
            take(f)
        self.last = shared
        return [doc for part in done for doc in part or ()]
