"""Badge images of credentials: PNG and SVG, baked with the signed credential."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["public"])
