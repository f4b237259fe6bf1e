"""Signing adapter: W3C Data Integrity proofs with Ed25519 (`eddsa-rdfc-2022`,
`eddsa-jcs-2022`), fully offline.

- `data_integrity`: `sign`, `verify`, `VerificationResult`, `Check`.
- `keys`: `KeyPair`, Multikey encodings, did:key ids and documents.
- `resolvers`: from a verification method id to its public key (`Resolver`).
- `canonical`: RDFC-1.0 N-Quads of JSON-LD in safe mode (`canonize`), JCS (`jcs`).
- `rdfc`: the RDFC-1.0 algorithm itself, over N-Quads terms.
- `shapes`: the per-shape cache: JSON-LD runs once per document shape, not per document.
- `loader`: the JSON-LD document loader of the contexts shipped in `contexts/`.
- `errors`: what is refused, as DomainErrors with stable codes.
"""

from credo.adapters.signing.data_integrity import (
    CRYPTOSUITES,
    EDDSA_JCS_2022,
    EDDSA_RDFC_2022,
    Check,
    VerificationResult,
    sign,
    verify,
)
from credo.adapters.signing.keys import KeyPair, did_key_document
from credo.adapters.signing.loader import DocumentLoader
from credo.adapters.signing.resolvers import Resolver, resolve_did_key
from credo.domain.errors import (
    CanonicalizationLimit,
    InvalidDocument,
    InvalidKey,
    KeyResolutionError,
    SigningError,
    UndefinedTerms,
    UnknownContext,
)

__all__ = [
    "CRYPTOSUITES",
    "EDDSA_JCS_2022",
    "EDDSA_RDFC_2022",
    "CanonicalizationLimit",
    "Check",
    "DocumentLoader",
    "InvalidDocument",
    "InvalidKey",
    "KeyPair",
    "KeyResolutionError",
    "Resolver",
    "SigningError",
    "UndefinedTerms",
    "UnknownContext",
    "VerificationResult",
    "did_key_document",
    "resolve_did_key",
    "sign",
    "verify",
]
