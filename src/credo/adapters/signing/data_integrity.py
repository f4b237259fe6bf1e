"""W3C Data Integrity proofs with the EdDSA cryptosuites `eddsa-rdfc-2022` and
`eddsa-jcs-2022` ("Data Integrity EdDSA Cryptosuites v1.0", sections 3.2 and 3.3).

Signing: hashData = SHA-256(canonical proof configuration) + SHA-256(canonical document),
signed with pure Ed25519; `proofValue` is the signature as multibase base58btc. For
`eddsa-rdfc-2022` both are RDFC-1.0 N-Quads and the proof configuration carries the
document's `@context`; for `eddsa-jcs-2022` both are RFC 8785 JSON, and the proof itself
carries a copy of the document's `@context`.

JSON-LD processing goes through the per-shape cache (see `shapes`): `full=True` on `sign`,
`verify` or `hash_data` forces the full algorithm instead (the same bytes either way).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson

from credo.adapters.signing import multibase
from credo.adapters.signing.canonical import canonize_variants, check, jcs
from credo.adapters.signing.keys import (
    DID_KEY_PREFIX,
    KeyPair,
    parse_did_key,
    public_key_bytes,
    verify_signature,
)
from credo.adapters.signing.loader import (
    CREDENTIALS_V2,
    DATA_INTEGRITY_V1,
    DATA_INTEGRITY_V2,
    DocumentLoader,
)
from credo.adapters.signing.resolvers import PublicKeyResolver
from credo.domain.errors import (
    InvalidDocument,
    InvalidKey,
    SigningError,
)

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
EDDSA_JCS_2022 = "eddsa-jcs-2022"
CRYPTOSUITES = (EDDSA_RDFC_2022, EDDSA_JCS_2022)

# XML Schema dateTime (the time zone is optional there; a leap second is allowed).
_XSD_DATETIME = re.compile(
    r"^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?$"
)


class Check(StrEnum):
    """The checks `verify` runs, in order; a failed result names the first that failed."""

    STRUCTURE = "structure"  # a proof is there, with the properties it must have
    CRYPTOSUITE = "cryptosuite"  # DataIntegrityProof with a supported cryptosuite
    PROOF_PURPOSE = "proof_purpose"  # the purpose the verifier expects
    PROOF_DATES = "proof_dates"  # `created` and `expires` are dates; not expired
    VERIFICATION_METHOD = "verification_method"  # resolves to a key allowed for the purpose
    CONTEXT = "context"  # eddsa-jcs-2022: the document's @context starts with the proof's
    CANONICALIZATION = "canonicalization"  # the document canonicalizes, in safe mode
    SIGNATURE = "signature"  # the Ed25519 signature is valid


@dataclass(frozen=True)
class VerificationResult:
    """`ok` is True only when every check passed for every proof; otherwise `failed_check`
    is the first check that failed and `messages` says why."""

    ok: bool
    failed_check: Check | None = None
    messages: tuple[str, ...] = ()
    verification_method: str | None = None
    cryptosuite: str | None = None


@lru_cache(maxsize=64)
def _utc_seconds(value: datetime) -> str:
    # A bulk signs 10,000 documents at one time: formatted once.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def xsd_datetime(value: datetime | str) -> str:
    """A proof date: an aware datetime becomes UTC to the second (`2023-02-24T23:36:38Z`, as
    Digital Bazaar's libraries write it); a string must already be an XML Schema dateTime."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("proof dates must be aware datetimes")
        return _utc_seconds(value)
    if isinstance(value, str) and _XSD_DATETIME.match(value):
        return value
    raise InvalidDocument(f"{value!r} is not an XML Schema dateTime")


def _contexts(document: Mapping[str, Any]) -> list[Any]:
    context = document.get("@context")
    if context is None:
        return []
    return list(context) if isinstance(context, list) else [context]


_SCALARS = (str, int, float, bool, type(None))


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (what is signed must not change under the caller), several
    times faster than copy.deepcopy, which a bulk of 10,000 signatures notices. Anything
    but dicts, lists and scalars is left to deepcopy."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    if isinstance(value, _SCALARS):
        return value
    return copy.deepcopy(value)


def with_suite_context(document: dict[str, Any]) -> dict[str, Any]:
    """The document as it will be signed: DataIntegrityProof must be defined by its contexts,
    so when neither credentials v2 nor data-integrity v1/v2 is there (a VC 1.1 credential),
    data-integrity v2 is appended, as Digital Bazaar's libraries do."""
    contexts = _contexts(document)
    if not contexts:
        raise InvalidDocument("a document to sign with Data Integrity has an @context")
    if any(c in (CREDENTIALS_V2, DATA_INTEGRITY_V2, DATA_INTEGRITY_V1) for c in contexts):
        return document
    return {**document, "@context": [*contexts, DATA_INTEGRITY_V2]}


def _sha256(data: bytes | str) -> bytes:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).digest()


def hash_data(
    document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    *,
    loader: DocumentLoader | None = None,
    full: bool = False,
) -> bytes:
    """The 64 bytes an EdDSA Data Integrity proof signs: SHA-256 of the canonical proof
    configuration, then SHA-256 of the canonical document. `document` has no `proof`;
    `proof_options` is the proof without `proofValue` (for eddsa-jcs-2022, with the
    `@context` the proof carries)."""
    return _hash_data_candidates(document, proof_options, loader, full)[0]


def _hash_data_candidates(
    document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    loader: DocumentLoader | None,
    full: bool,
) -> list[bytes]:
    """The hash data as RDFC-1.0 defines it, then, only if it differs, as JavaScript
    implementations compute it (they sort N-Quads by UTF-16 code units, not code points:
    it matters only when the text mixes characters beyond U+FFFF with U+E000..U+FFFF)."""
    cryptosuite = proof_options.get("cryptosuite")
    if proof_options.get("type") != DATA_INTEGRITY_PROOF or cryptosuite not in CRYPTOSUITES:
        raise InvalidDocument("the proof is not an EdDSA DataIntegrityProof")
    if "created" in proof_options:
        xsd_datetime(proof_options["created"])
    if cryptosuite == EDDSA_JCS_2022:
        return [_sha256(jcs(proof_options)) + _sha256(jcs(document))]
    config = {**proof_options, "@context": document.get("@context")}
    configs = _config_hashes(config, loader, full)
    documents = canonize_variants(document, loader=loader, full=full)
    candidates = [configs[0] + _sha256(documents[0])]
    if len(configs) > 1 or len(documents) > 1:
        candidates.append(configs[-1] + _sha256(documents[-1]))
    return candidates


# The proof configurations of a bulk are one configuration 10,000 times (same date, key,
# purpose and context): each is canonicalized once, by its exact JSON.
_CONFIGS: dict[bytes, list[bytes]] = {}


def _config_hashes(
    config: Mapping[str, Any], loader: DocumentLoader | None, full: bool
) -> list[bytes]:
    if loader is not None or full:  # another loader may read contexts otherwise
        return [_sha256(c) for c in canonize_variants(config, loader=loader, full=full)]
    try:
        key = orjson.dumps(config, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # not plain JSON: canonicalize (and refuse) as ever
        return [_sha256(c) for c in canonize_variants(config, loader=loader, full=full)]
    found = _CONFIGS.get(key)
    if found is None:
        found = [_sha256(c) for c in canonize_variants(config, loader=loader, full=full)]
        if len(_CONFIGS) >= 256:
            _CONFIGS.clear()
        _CONFIGS[key] = found
    return found


@lru_cache(maxsize=256)
def _is_did_key_of(verification_method: str, public_key: bytes) -> bool:
    """Whether a did:key verification method names this raw public key (remembered: a bulk
    signs with one key, and base58 is slow in Python)."""
    return public_key_bytes(parse_did_key(verification_method)) == public_key


def sign(
    document: Mapping[str, Any],
    *,
    key: KeyPair,
    cryptosuite: str,
    verification_method: str,
    created: datetime | str | None,
    proof_purpose: str = "assertionMethod",
    loader: DocumentLoader | None = None,
    full: bool = False,
    owned: bool = False,
) -> dict[str, Any]:
    """A new document: a copy of `document` with a Data Integrity `proof`. `owned`: the
    caller hands the document over and never changes it again, so it is not copied (the
    issuer signing documents it has just built; signing itself changes nothing in it).

    Refuses (`UndefinedTerms`) a document where JSON-LD would drop a term, with either
    cryptosuite; `UnknownContext` for a context Credo does not ship; `InvalidDocument` for a
    document that already has a proof or cannot be canonicalized; `InvalidKey` when a did:key
    `verification_method` is not `key`'s. `created` None leaves it out of the proof.
    `full=True` runs the full JSON-LD algorithm, not the shape cache (same result).
    """
    if not isinstance(document, Mapping):
        raise InvalidDocument("a document to sign is a JSON object")
    if "proof" in document:
        raise InvalidDocument("the document already has a proof")
    if cryptosuite not in CRYPTOSUITES:
        raise InvalidDocument(f"unsupported cryptosuite {cryptosuite!r}")
    if verification_method.startswith(DID_KEY_PREFIX) and not _is_did_key_of(
        verification_method, public_key_bytes(key.public_key)
    ):
        raise InvalidKey("the did:key verification method is not this key's")
    unsecured = with_suite_context(dict(document) if owned else json_copy(dict(document)))
    proof: dict[str, Any] = {"type": DATA_INTEGRITY_PROOF, "cryptosuite": cryptosuite}
    if created is not None:
        proof["created"] = xsd_datetime(created)
    proof["verificationMethod"] = verification_method
    proof["proofPurpose"] = proof_purpose
    if cryptosuite == EDDSA_JCS_2022:
        check(unsecured, loader=loader, full=full)  # refuse undefined terms here too
        if "@context" in unsecured:
            proof["@context"] = copy.deepcopy(unsecured["@context"])
    candidates = _hash_data_candidates(unsecured, proof, loader, full)
    if len(candidates) > 1:
        raise InvalidDocument(
            "this document's text mixes characters beyond U+FFFF (such as emoji) with "
            "characters in U+E000..U+FFFF in a way that JavaScript verifiers canonicalize "
            "differently from RDFC-1.0: its eddsa-rdfc-2022 signature would not verify "
            "everywhere (eddsa-jcs-2022 is not affected)"
        )
    signature = key.sign(candidates[0])
    proof["proofValue"] = multibase.encode(signature)
    return {**unsecured, "proof": proof}


def _fail(check: Check, message: str, proof: Mapping[str, Any] | None) -> VerificationResult:
    proof = proof or {}
    method = proof.get("verificationMethod")
    suite = proof.get("cryptosuite")
    return VerificationResult(
        ok=False,
        failed_check=check,
        messages=(message,),
        verification_method=method if isinstance(method, str) else None,
        cryptosuite=suite if isinstance(suite, str) else None,
    )


def verify(
    document: Any,
    *,
    resolve: PublicKeyResolver,
    proof_purpose: str = "assertionMethod",
    now: datetime | None = None,
    loader: DocumentLoader | None = None,
    full: bool = False,
) -> VerificationResult:
    """Verify every Data Integrity proof on `document`. Never raises for a bad document: the
    result names the first check that failed. `resolve(verification_method)` gives the
    public key (see `resolvers`); `now`, when given, makes an expired proof fail. `full`
    as for `sign`."""
    if not isinstance(document, Mapping):
        return _fail(Check.STRUCTURE, "the document is not a JSON object", None)
    proofs = document.get("proof")
    if proofs is None:
        return _fail(Check.STRUCTURE, "the document has no proof", None)
    proof_list = proofs if isinstance(proofs, list) else [proofs]
    if not proof_list:
        return _fail(Check.STRUCTURE, "the document has no proof", None)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    results = []
    for proof in proof_list:
        chained = _chained(unsecured, proof, proof_list)
        if isinstance(chained, VerificationResult):
            results.append(chained)
            continue
        results.append(_verify_proof(chained, proof, resolve, proof_purpose, now, loader, full))
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        return failed
    return VerificationResult(
        ok=True,
        messages=tuple(m for r in results for m in r.messages),
        verification_method=results[0].verification_method,
        cryptosuite=results[0].cryptosuite,
    )


def _chained(
    unsecured: dict[str, Any], proof: Any, proofs: list[Any]
) -> dict[str, Any] | VerificationResult:
    """The document a proof of a proof set or chain was made on (Data Integrity, "Verify
    Proof Sets and Chains"): without `previousProof`, the document without proofs; with it,
    the document carrying the proof(s) it names (one, or a list when `previousProof` is a
    list), each of which must be in the set (it is verified on its own as well)."""
    if not isinstance(proof, Mapping) or "previousProof" not in proof:
        return unsecured
    previous = proof["previousProof"]
    names = previous if isinstance(previous, list) else [previous]
    if not names or not all(isinstance(n, str) and n for n in names):
        return _fail(Check.STRUCTURE, "previousProof must be a proof id or a list of them", proof)
    by_id = {p.get("id"): p for p in proofs if isinstance(p, Mapping) and p is not proof}
    missing = [n for n in names if n not in by_id]
    if missing:
        return _fail(Check.STRUCTURE, f"previousProof {missing[0]!r} is not in the proofs", proof)
    matching = [by_id[n] for n in names]
    return {**unsecured, "proof": matching if isinstance(previous, list) else matching[0]}


def _verify_proof(
    unsecured: dict[str, Any],
    proof: Any,
    resolve: PublicKeyResolver,
    proof_purpose: str,
    now: datetime | None,
    loader: DocumentLoader | None,
    full: bool,
) -> VerificationResult:
    if not isinstance(proof, Mapping):
        return _fail(Check.STRUCTURE, "a proof is not a JSON object", None)
    for name in ("type", "verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(name), str):
            return _fail(Check.STRUCTURE, f"the proof has no {name} string", proof)
    suite = proof.get("cryptosuite")
    if proof["type"] != DATA_INTEGRITY_PROOF or suite not in CRYPTOSUITES:
        return _fail(
            Check.CRYPTOSUITE,
            f"unsupported proof: type {proof['type']!r}, cryptosuite {suite!r}",
            proof,
        )
    if proof["proofPurpose"] != proof_purpose:
        return _fail(
            Check.PROOF_PURPOSE,
            f"the proof purpose is {proof['proofPurpose']!r}, not {proof_purpose!r}",
            proof,
        )
    for name in ("created", "expires"):
        if name in proof and not (
            isinstance(proof[name], str) and _XSD_DATETIME.match(proof[name])
        ):
            return _fail(Check.PROOF_DATES, f"the proof's {name} is not a dateTime", proof)
    if now is not None and isinstance(proof.get("expires"), str):
        expires = _parse_datetime(proof["expires"])
        if expires is not None and now >= expires:
            return _fail(Check.PROOF_DATES, f"the proof expired at {proof['expires']}", proof)
    try:
        signature = multibase.decode(proof["proofValue"], max_chars=100)
    except SigningError as error:
        return _fail(Check.SIGNATURE, f"the proofValue is malformed: {error.detail}", proof)
    if len(signature) != 64:
        return _fail(Check.SIGNATURE, "the proofValue is not a 64-byte signature", proof)
    try:
        public_key = resolve(proof["verificationMethod"])
    except (SigningError, ValueError, LookupError) as error:
        detail = error.detail if isinstance(error, SigningError) else str(error)
        return _fail(Check.VERIFICATION_METHOD, f"verification method: {detail}", proof)
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if suite == EDDSA_JCS_2022 and "@context" in options:
        proof_contexts = _contexts(options)
        if _contexts(unsecured)[: len(proof_contexts)] != proof_contexts:
            return _fail(
                Check.CONTEXT,
                "the document's @context does not start with the proof's @context",
                proof,
            )
        unsecured = {**unsecured, "@context": options["@context"]}
    try:
        candidates = _hash_data_candidates(unsecured, options, loader, full)
    except SigningError as error:
        return _fail(Check.CANONICALIZATION, error.detail, proof)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        # pyld on hostile input: fail closed, saying what broke.
        return _fail(Check.CANONICALIZATION, f"{type(error).__name__}: {error}", proof)
    if not any(verify_signature(public_key, signature, data) for data in candidates):
        return _fail(Check.SIGNATURE, "the signature does not match the document", proof)
    message = f"{suite} proof by {proof['verificationMethod']} verified"
    if len(candidates) > 1 and not verify_signature(public_key, signature, candidates[0]):
        message += " (with N-Quads in UTF-16 order, as JavaScript implementations sort them)"
    return VerificationResult(
        ok=True,
        messages=(message,),
        verification_method=proof["verificationMethod"],
        cryptosuite=suite,
    )


def _parse_datetime(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
