"""End-to-end fixtures: `live_server`, a real `credo serve` process per module and database."""

from __future__ import annotations

from tests.e2e.server import live_server as live_server
