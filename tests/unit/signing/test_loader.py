"""The shipped contexts and the document loader that serves them, and only them."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import pytest

from credo.adapters.signing import DocumentLoader, UnknownContext
from credo.adapters.signing.loader import default_loader, shipped_context, shipped_context_files

CONTEXTS = resources.files("credo.adapters.signing") / "contexts"

REQUIRED = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/multikey/v1",
    "https://www.w3.org/ns/did/v1",
    "https://www.w3.org/ns/credentials/examples/v2",
]


def test_the_index_lists_every_shipped_file_and_nothing_else() -> None:
    index = shipped_context_files()
    files = {
        entry.name for entry in CONTEXTS.iterdir() if entry.name not in ("index.json", "README.md")
    }
    assert set(index.values()) == files
    assert len(set(index.values())) == len(index)
    readme = (CONTEXTS / "README.md").read_text("utf-8")
    for url, name in index.items():
        assert f"| {url} | {name} |" in readme, f"{url} has no origin in the README"


@pytest.mark.parametrize("url", sorted(shipped_context_files()))
def test_every_shipped_context_is_a_context(url: str) -> None:
    document = shipped_context(url)
    assert isinstance(document, dict)
    assert "@context" in document
    # Any URL a shipped context names is shipped too.
    inner = document["@context"]
    for item in inner if isinstance(inner, list) else [inner]:
        if isinstance(item, str):
            assert item in shipped_context_files()


@pytest.mark.parametrize("url", REQUIRED)
def test_the_contexts_credo_needs_are_shipped(url: str) -> None:
    assert url in shipped_context_files()


def test_credentials_v2_has_bitstring_status_list_and_no_vocab() -> None:
    context = shipped_context("https://www.w3.org/ns/credentials/v2")["@context"]
    assert "BitstringStatusListEntry" in context
    assert "BitstringStatusListCredential" in context
    # The final v2 context dropped @vocab: undefined terms are dropped, hence refused.
    assert "@vocab" not in context


def test_unknown_urls_are_refused_at_once(no_network: list[str]) -> None:
    loader = DocumentLoader()
    with pytest.raises(UnknownContext) as refused:
        loader("https://example.com/some/context.jsonld", {})
    assert refused.value.url == "https://example.com/some/context.jsonld"
    assert no_network == []


def test_extra_documents_are_served_but_cannot_replace_contexts() -> None:
    did_document = {"@context": "https://www.w3.org/ns/did/v1", "id": "did:web:u.example"}
    loader = DocumentLoader({"did:web:u.example": did_document})
    served = loader("did:web:u.example", {})
    assert served["document"] == did_document
    assert served["documentUrl"] == "did:web:u.example"
    with pytest.raises(ValueError, match="replace"):
        DocumentLoader({"https://www.w3.org/ns/credentials/v2": {"@context": {}}})


def test_served_documents_are_copies() -> None:
    loader = DocumentLoader()
    url = "https://www.w3.org/ns/credentials/v2"
    loader(url)["document"]["@context"]["id"] = "tampered"
    assert loader(url)["document"]["@context"]["id"] == "@id"


def test_index_is_plain_json_for_other_readers() -> None:
    # The Node interop harness reads contexts/index.json and the files it names.
    index = json.loads((CONTEXTS / "index.json").read_text("utf-8"))
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in index.items())


def test_each_thread_gets_its_own_default_loader() -> None:
    here = default_loader()
    assert default_loader() is here
    with ThreadPoolExecutor(1) as pool:
        there = pool.submit(default_loader).result()
    assert there is not here
