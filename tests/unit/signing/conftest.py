"""Fixtures for the signing adapter: the published vectors, a fixed key, an OB 3.0 credential
shaped like the ones Credo issues, and a guard that fails any attempt to use the network."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credo.adapters.signing import KeyPair

# The steering repository's shared/ sits beside the repository (here and in CI).
VECTORS = Path(__file__).resolve().parents[3].parent / "shared" / "vectors"
W3C = VECTORS / "w3c-vc-di-eddsa"

SEED = bytes(range(32))


def load_vector(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="session")
def w3c_key() -> KeyPair:
    pair = load_vector(W3C / "keyPair.json")
    return KeyPair.from_multibase(pair["privateKeyMultibase"], pair["publicKeyMultibase"])


@pytest.fixture(scope="session")
def key() -> KeyPair:
    return KeyPair.from_seed(SEED)


def ob_credential(**overrides: Any) -> dict[str, Any]:
    """An OpenBadgeCredential as Credo issues it (issue 3, point 1)."""
    credential: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": "https://credo.example/c/cr_0192f0a1b2c3d4e5f60718293a4b5c6d",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
            "type": ["Profile"],
            "name": "Example University",
            "url": "https://university.example",
        },
        "validFrom": "2025-03-01T00:00:00Z",
        "validUntil": "2030-03-01T00:00:00Z",
        "name": "Teamwork",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": "Ada Lovelace",
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": "sha256$" + "ab" * 32,
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": "c0ffee",
                }
            ],
            "achievement": {
                "id": "https://credo.example/groups/gr_0192f0a1b2c3d4e5f60718293a4b5c6e",
                "type": ["Achievement"],
                "name": "Teamwork",
                "description": "Works well with others.",
                "criteria": {"narrative": "Completed the teamwork course."},
                "image": {
                    "id": "https://credo.example/img/teamwork.png",
                    "type": "Image",
                },
            },
        },
        "credentialStatus": {
            "id": "https://credo.example/status/org_1/revocation#42",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "42",
            "statusListCredential": "https://credo.example/status/org_1/revocation",
        },
    }
    credential.update(copy.deepcopy(overrides))
    return credential


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Any DNS look-up or connection fails the test (and is recorded)."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise AssertionError(f"network use attempted: {args[:2]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield attempts
