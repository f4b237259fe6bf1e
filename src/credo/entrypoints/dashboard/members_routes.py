"""Members, roles, API keys and password resets."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
