"""Ids: dated by the clock they are given, growing within a millisecond, unguessable."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from credo.ids import ID_PATTERN, new_id, new_ids

AT = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_ids_carry_the_given_time() -> None:
    made = new_id("cred", AT)
    assert re.match(ID_PATTERN, made)
    assert int(made[5:17], 16) == int(AT.timestamp() * 1000)


def test_ids_of_a_clock_standing_still_keep_growing_across_other_clocks() -> None:
    first = new_ids("tst", 3, AT)
    elsewhere = new_ids("tst", 2, AT + timedelta(days=300))  # a sandbox clock, say
    then = new_ids("tst", 3, AT)
    assert first == sorted(first) and then == sorted(then) and first[-1] < then[0]
    assert all(e > then[-1] for e in elsewhere)  # later time, later id


def test_neighbours_are_apart_by_random_steps() -> None:
    made = [int(i[-20:], 16) for i in new_ids("nbr", 21, AT)]
    steps = {b - a for a, b in itertools.pairwise(made)}
    assert len(steps) > 15 and min(steps) > 1  # not a counter one could walk


@given(st.lists(st.integers(0, 3), min_size=1, max_size=40))
def test_ids_sort_as_they_were_made_for_any_order_of_clocks(offsets: list[int]) -> None:
    made = [
        (AT + timedelta(milliseconds=o), new_id("prp", AT + timedelta(milliseconds=o)))
        for o in offsets
    ]
    for (t1, i1), (t2, i2) in itertools.pairwise(made):
        if t1 == t2:
            assert i1 < i2
        else:
            assert (t1 < t2) == (i1 < i2)
