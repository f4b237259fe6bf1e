"""A key's use is due to be written at most once a minute per key in a process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from credo.services.tenancy.key_use import KeyUse

T0 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_a_use_is_due_once_a_minute_per_key() -> None:
    uses = KeyUse()
    assert uses.due("a", T0)
    assert not uses.due("a", T0)
    assert not uses.due("a", T0 + timedelta(seconds=59.999))
    assert uses.due("b", T0 + timedelta(seconds=30))  # each key has its own minute
    assert uses.due("a", T0 + timedelta(minutes=1))
    assert not uses.due("a", T0 + timedelta(seconds=119))
    assert not uses.due("b", T0 + timedelta(seconds=89))
    assert uses.due("b", T0 + timedelta(seconds=90))


def test_a_clock_set_back_records_again() -> None:
    uses = KeyUse()
    assert uses.due("a", T0)
    assert uses.due("a", T0 - timedelta(hours=1))
    assert not uses.due("a", T0 - timedelta(minutes=59, seconds=30))


def test_one_of_many_threads_at_once_is_told_to_write() -> None:
    uses = KeyUse()
    with ThreadPoolExecutor(8) as pool:
        told = list(pool.map(lambda _: uses.due("a", T0), range(200)))
    assert told.count(True) == 1


def test_a_full_map_starts_again_rather_than_grow() -> None:
    uses = KeyUse(size=3)
    for key in "abc":
        assert uses.due(key, T0)
    assert uses.due("d", T0)  # the map was full: emptied, so "a" is written again
    assert uses.due("a", T0)
    assert not uses.due("d", T0)
