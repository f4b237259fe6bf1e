"""Spreadsheet uploads: map columns, validate every row, show the cost, publish in the
background."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
