"""Identifiers: a prefix naming the kind, then 32 hex digits holding a 48-bit millisecond
timestamp and 80 random bits (the ULID layout), so ids sort by creation and serve as list
cursors."""

from __future__ import annotations

import os
import time

ID_PATTERN = r"^[a-z]{2,6}_[0-9a-f]{32}$"


def new_id(prefix: str) -> str:
    return new_ids(prefix, 1)[0]


def new_ids(prefix: str, n: int) -> list[str]:
    """`n` ids at once, for bulks: one clock read and one call for randomness."""
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big").hex()
    noise = os.urandom(10 * n).hex()
    return [f"{prefix}_{stamp}{noise[20 * i : 20 * i + 20]}" for i in range(n)]
