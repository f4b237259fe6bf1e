"""Identifiers: a prefix naming the kind, then 32 hex digits holding a 48-bit millisecond
timestamp and 80 bits that are random, so ids sort by creation and serve as list cursors
while no one can guess another credential's id from their own.

The timestamp is the injected clock's: services pass `now`, the context's clock (or, for
what is dated by an organization's own time, its sandbox clock). Ids of one kind made in
one process for the same millisecond only grow: each takes a random step above the last
(a clock that stands still, as a test's does, makes them all in one millisecond)."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from datetime import datetime

ID_PATTERN = r"^[a-z]{2,6}_[0-9a-f]{32}$"

_RANDOM_BITS = 80
_STEP_BYTES = 5  # a random step of 1 .. 2**40 between ids of one millisecond
_KEPT = 256  # (kind, millisecond) pairs remembered
_lock = threading.Lock()
_last: OrderedDict[tuple[str, int], int] = OrderedDict()


def new_id(prefix: str, now: datetime) -> str:
    return new_ids(prefix, 1, now)[0]


def new_ids(prefix: str, n: int, now: datetime) -> list[str]:
    """`n` ids at once, for bulks: one call for randomness."""
    ms = int(now.timestamp() * 1000)
    noise = os.urandom(_STEP_BYTES * n + _RANDOM_BITS // 8)
    steps = [
        1 + int.from_bytes(noise[_STEP_BYTES * i : _STEP_BYTES * (i + 1)], "big") for i in range(n)
    ]
    fresh = int.from_bytes(noise[_STEP_BYTES * n :], "big") >> 2  # leaves room for steps
    out = []
    with _lock:
        current = _last.pop((prefix, ms), fresh)
        for step in steps:
            current += step
            if current >= 1 << _RANDOM_BITS:  # this millisecond is spent: take the next
                _last[(prefix, ms)] = current
                ms, current = ms + 1, _last.pop((prefix, ms + 1), 0) + step
            out.append(f"{prefix}_{ms:012x}{current:020x}")
        _last[(prefix, ms)] = current
        while len(_last) > _KEPT:
            _last.popitem(last=False)
    return out
