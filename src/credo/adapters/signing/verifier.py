"""The ProofVerifier port's adapter: Data Integrity proofs checked offline, did:key resolved
locally and any other verification method from the controller documents given here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from credo.adapters.signing import data_integrity
from credo.adapters.signing.resolvers import Resolver
from credo.services.credentials.ports import ProofOutcome


class DataIntegrityVerifier:
    def __init__(self, documents: Mapping[str, Any] | None = None) -> None:
        """`documents`: controller documents (a did:web document, ...) by id; did:key needs
        none. Nothing else is ever resolved."""
        self._documents = dict(documents or {})

    def verify_proof(
        self,
        document: Mapping[str, Any],
        *,
        proof_purpose: str,
        now: datetime,
        lookup: Callable[[str], Mapping[str, Any] | None] | None = None,
    ) -> ProofOutcome:
        methods = _methods(document)
        resolver = Resolver(self._documents, relationship=proof_purpose, lookup=lookup)
        try:
            result = data_integrity.verify(
                document, resolve=resolver, proof_purpose=proof_purpose, now=now
            )
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
            # `verify` fails closed on what it knows of; a JSON-LD processor bug on hostile
            # input must not escape as a server error either.
            detail = f"{type(error).__name__}: {error}"
            return ProofOutcome(False, detail, "canonicalization", methods)
        step = result.failed_check.value if result.failed_check is not None else None
        detail = "; ".join(result.messages) or ("verified" if result.ok else "not verified")
        return ProofOutcome(result.ok, detail, step, methods)


def _methods(document: Mapping[str, Any]) -> tuple[str, ...]:
    proofs = document.get("proof")
    found = []
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        if isinstance(proof, Mapping) and isinstance(proof.get("verificationMethod"), str):
            found.append(proof["verificationMethod"])
    return tuple(found)
