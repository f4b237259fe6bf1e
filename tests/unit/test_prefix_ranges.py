"""A prefix search is a range: text <= s < successor(text) holds exactly for the strings s
that start with text, in code point order (the order of PostgreSQL's "C" collation and of
SQLite's binary one)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from credo.adapters.db.credential_search import _successor

# Characters near the edges the successor has to step over: the last before the
# surrogates, the last code point, and ordinary ones.
EDGES = st.sampled_from(["a", "z", "\ud7ff", "\ue000", "\U0010ffff", "é", "中"])
TEXT = st.text(st.one_of(EDGES, st.characters(exclude_categories=["Cs"])), max_size=6)


@given(TEXT, TEXT)
def test_the_range_holds_exactly_the_strings_with_the_prefix(prefix: str, s: str) -> None:
    after = _successor(prefix)
    in_range = prefix <= s and (after is None or s < after)
    assert in_range == s.startswith(prefix)


@given(TEXT)
def test_the_successor_is_encodable(prefix: str) -> None:
    after = _successor(prefix)
    if after is not None:
        after.encode("utf-8")


def test_no_successor_when_every_character_is_the_last() -> None:
    assert _successor("\U0010ffff\U0010ffff") is None
    assert _successor("a\U0010ffff") == "b"
    assert _successor("\ud7ff") == "\ue000"
