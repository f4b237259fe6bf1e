"""Cursor pagination (api.md, Lists): ids sort by creation, the cursor is the last id."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from credo.ids import ID_PATTERN

Cursor = Annotated[str | None, StringConstraints(pattern=ID_PATTERN)]
Limit = Annotated[int, Field(ge=1, le=1000)]


def page(name: str, items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """`items` holds up to limit + 1 rows; the extra one only tells that more follow."""
    more = len(items) > limit
    items = items[:limit]
    return {name: items, "next_cursor": items[-1]["id"] if more and items else None}
