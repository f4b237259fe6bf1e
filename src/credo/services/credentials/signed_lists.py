"""A per-process cache of signed status list credentials."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class SignedLists:
    """Signed status list credentials by version, per process: a list is signed again only
    when its bits (or its issuer's identifiers) change, not on every request. Verifiers
    fetch lists far more often than credentials are revoked."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._docs: OrderedDict[tuple[str, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: tuple[str, ...]) -> dict[str, Any] | None:
        with self._lock:
            doc = self._docs.get(version)
            if doc is not None:
                self._docs.move_to_end(version)
            return doc

    def put(self, version: tuple[str, ...], doc: dict[str, Any]) -> None:
        with self._lock:
            self._docs[version] = doc
            while len(self._docs) > self._size:
                self._docs.popitem(last=False)
