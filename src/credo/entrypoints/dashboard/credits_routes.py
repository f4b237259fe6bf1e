"""Credits: the balance, seats per month, the ledger and its CSV export."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
