"""The recipient's credential page and its private management link."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["public"])
