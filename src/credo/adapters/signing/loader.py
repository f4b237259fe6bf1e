"""The JSON-LD document loader: it serves the contexts shipped in `contexts/` (see its README
and `index.json`) and, optionally, documents passed in; any other URL raises `UnknownContext`
at once. It never touches the network."""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from credo.domain.errors import UnknownContext

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
DATA_INTEGRITY_V1 = "https://w3id.org/security/data-integrity/v1"
OB_V3P0_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

_CONTEXTS = resources.files("credo.adapters.signing") / "contexts"


@cache
def shipped_context_files() -> dict[str, str]:
    """URL -> file name in `contexts/`, from `contexts/index.json`."""
    index: dict[str, str] = json.loads((_CONTEXTS / "index.json").read_text("utf-8"))
    return index


@cache
def _shipped(url: str) -> Any:
    name = shipped_context_files()[url]
    return json.loads((_CONTEXTS / name).read_text("utf-8"))


def shipped_context(url: str) -> Any:
    """A fresh copy of a shipped context document; `UnknownContext` for any other URL."""
    if url not in shipped_context_files():
        raise UnknownContext(url)
    return copy.deepcopy(_shipped(url))


class _BoundedCache:
    """The mapping pyld's ContextResolver caches resolved contexts in. Bounded: inline
    contexts of hostile documents are cached too, keyed by their canonical JSON."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return default

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class DocumentLoader:
    """A pyld document loader (`loader(url, options)`), serving the shipped contexts and the
    `extra` documents (URL -> JSON), e.g. a DID document. Extra documents may not replace a
    shipped context. Each loader keeps its own cache of processed contexts, so reuse one,
    within one thread: pyld's caches are not thread-safe."""

    def __init__(self, extra: Mapping[str, Any] | None = None) -> None:
        extra = dict(extra or {})
        clash = sorted(set(extra) & set(shipped_context_files()))
        if clash:
            raise ValueError(f"extra documents may not replace shipped contexts: {clash}")
        self._extra = extra
        self.context_cache = _BoundedCache(256)

    def document(self, url: str) -> Any:
        """A fresh copy of the document at `url`; `UnknownContext` if it is not known here."""
        if url in self._extra:
            return copy.deepcopy(self._extra[url])
        return shipped_context(url)

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": self.document(url),
            # pyld caches a remote context only when its document is tagged static.
            "tag": "static",
        }


_per_thread = threading.local()


def default_loader() -> DocumentLoader:
    """This thread's loader of the shipped contexts (its context cache is what makes repeated
    signing of the same shape fast; one per thread, as pyld's caches are not thread-safe)."""
    loader: DocumentLoader | None = getattr(_per_thread, "loader", None)
    if loader is None:
        loader = _per_thread.loader = DocumentLoader()
    return loader
