"""What the signing adapter refuses. Each is a DomainError with a stable code, so the API can
answer a refused `POST /credentials/issue` with problem JSON as it is."""

from __future__ import annotations

from collections.abc import Sequence

from credo.domain.errors import DomainError


class SigningError(DomainError):
    code = "signing_error"
    status = 422
    title = "Cannot sign or verify this document"


class UnknownContext(SigningError):
    """A document names a JSON-LD context that is not shipped with Credo. Nothing is ever
    fetched from the network: the context is refused at once."""

    code = "unknown_context"
    title = "Unknown JSON-LD context"

    def __init__(self, url: str) -> None:
        super().__init__(
            f"the JSON-LD context {url!r} is not one Credo ships; it is never fetched",
            url=url,
        )
        self.url = url


class UndefinedTerms(SigningError):
    """JSON-LD would silently drop part of the document (a term its contexts do not define, a
    relative IRI, ...), so that part would not be covered by an `eddsa-rdfc-2022` signature.
    `terms` names what would be dropped; `problems` says why, one line each."""

    code = "undefined_terms"
    title = "Undefined JSON-LD terms"

    def __init__(self, terms: Sequence[str], problems: Sequence[str]) -> None:
        shown = ", ".join(repr(t) for t in terms)
        super().__init__(
            f"the document uses what its JSON-LD contexts do not define ({shown}); "
            "it would be dropped from what is signed: " + "; ".join(problems),
            terms=list(terms),
            problems=list(problems),
        )
        self.terms = list(terms)
        self.problems = list(problems)


class InvalidDocument(SigningError):
    """The document cannot be signed or canonicalized as given (not an object, already has a
    proof, invalid JSON-LD, a number JCS cannot represent, ...)."""

    code = "invalid_document"
    title = "Invalid document"


class CanonicalizationLimit(InvalidDocument):
    """RDF canonicalization gave up: the document's blank nodes need more work than the
    RDFC-1.0 limit allows (a "poison" dataset, see RDFC-1.0 section on dataset poisoning)."""

    code = "canonicalization_limit"
    title = "Document too complex to canonicalize"


class InvalidKey(SigningError):
    """A key, a multibase value, a did:key or a verification method id is malformed or is not
    an Ed25519 key."""

    code = "invalid_key"
    title = "Invalid key"


class KeyResolutionError(SigningError):
    """A verification method could not be resolved to a public key it is allowed to use."""

    code = "key_resolution_failed"
    title = "Verification method not resolved"
