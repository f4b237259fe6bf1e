"""Credentials: one from a form, the list with search and filters, bulk actions with their cost."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
