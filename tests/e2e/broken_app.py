"""Apps that cannot serve, for the supervisor's tests (tests/e2e/test_staying_up.py)."""

from __future__ import annotations

import os
import threading
from typing import Any


def cannot_start() -> Any:
    raise RuntimeError("this release is broken")


def dies_soon() -> Any:
    """Starts and serves, then its process dies a few seconds later, again and again."""
    from fastapi import FastAPI

    threading.Timer(3.0, lambda: os._exit(1)).start()
    return FastAPI()
