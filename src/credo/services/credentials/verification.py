"""Verifying credentials and presentations, every check named (the W3C VC API's
`/credentials/verify` and `/presentations/verify`, and `credo verify`).

A credential gets five checks, always all of them, in this order:

- `structure`: a well-formed VC 2.0 (or 1.1) credential (`domain.vcdm`);
- `signature`: its Data Integrity proof(s) verify (did:key resolved locally);
- `issuer`: a proof's verification method belongs to the issuer (the method's controller
  is the issuer's id; for a DID other than did:key, the signature check already required
  its controller document to list the method); the other proofs of a proof set or chain
  (an endorsement, a witness) need only verify;
- `status`: each BitstringStatusListEntry whose list is one of ours (under `base_url`) is
  read from our own database, never over HTTP; any other status is reported unchecked
  (`ok` null, with a warning): nothing is fetched from the network;
- `validity`: the validity period against now: an expired credential fails this check, and
  only this one, so it reads "expired", not "forged".

`ok` is True (passed), False (failed: an error) or None (not checked: a warning when it
matters). A result is verified when no check failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from credo.domain import vcdm
from credo.domain.errors import NotFound
from credo.domain.openbadges import bit_at, decode_bits, parse_status_list_url
from credo.services.context import ServiceContext
from credo.services.credentials import status as status_lists
from credo.services.credentials.ports import ProofOutcome
from credo.services.ports import UnitOfWork
from credo.services.tenancy import dids

STRUCTURE = "structure"
SIGNATURE = "signature"
ISSUER = "issuer"
STATUS = "status"
VALIDITY = "validity"
HOLDER = "holder"
CHALLENGE = "challenge"
DOMAIN = "domain"
CREDENTIALS = "credentials"
CREDENTIAL_CHECKS = (STRUCTURE, SIGNATURE, ISSUER, STATUS, VALIDITY)
MAX_PRESENTED = 100  # credentials verified per presentation

# Problem types: the VC Data Model 2.0 (section 7.1), Data Integrity and Bitstring Status
# List error types where one fits.
_VCDM = "https://www.w3.org/TR/vc-data-model#"
_STATUS_LIST = "https://www.w3.org/ns/credentials/status-list#"
_TYPES = {
    STRUCTURE: (_VCDM + "MALFORMED_VALUE_ERROR", "Malformed credential"),
    SIGNATURE: ("https://w3id.org/security#PROOF_VERIFICATION_ERROR", "Invalid proof"),
    ISSUER: (_VCDM + "CRYPTOGRAPHIC_SECURITY_ERROR", "Proof not made by the issuer"),
    STATUS: (_STATUS_LIST + "STATUS_VERIFICATION_ERROR", "Status check failed"),
    VALIDITY: (_VCDM + "RANGE_ERROR", "Outside its validity period"),
    HOLDER: (_VCDM + "CRYPTOGRAPHIC_SECURITY_ERROR", "Proof not made by the holder"),
    CHALLENGE: ("https://w3id.org/security#INVALID_CHALLENGE_ERROR", "Challenge mismatch"),
    DOMAIN: ("https://w3id.org/security#INVALID_DOMAIN_ERROR", "Domain mismatch"),
    CREDENTIALS: (_VCDM + "CRYPTOGRAPHIC_SECURITY_ERROR", "A credential did not verify"),
}


@dataclass(frozen=True, slots=True)
class Check:
    check: str
    ok: bool | None
    detail: str
    title: str | None = None  # a more precise title for its error ("Credential expired")


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What the caller expects of a presentation's proof (VC API `options`)."""

    challenge: str | None = None
    domain: str | None = None
    proof_purpose: str = "authentication"


@dataclass
class Verification:
    checks: list[Check]
    credentials: list[Verification] | None = None  # a presentation's, in order
    extra_warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return all(c.ok is not False for c in self.checks) and all(
            v.verified for v in self.credentials or []
        )

    def errors(self) -> list[dict[str, Any]]:
        """Each failed check; a presentation's failed credentials are listed by their own
        failed checks (with `credential`: its index) rather than by `credentials`."""
        found = [_problem(c) for c in self.checks if c.ok is False and c.check != CREDENTIALS]
        for i, cred in enumerate(self.credentials or []):
            found.extend({**e, "credential": i} for e in cred.errors())
        if not found:  # e.g. too many credentials to verify: `credentials` says so itself
            found = [_problem(c) for c in self.checks if c.ok is False]
        return found

    def warnings(self) -> list[dict[str, Any]]:
        found = list(self.extra_warnings)
        for i, cred in enumerate(self.credentials or []):
            found.extend({**w, "credential": i} for w in cred.warnings())
        return found

    def as_dict(self) -> dict[str, Any]:
        """The VC API verification result: `verified`, `checks`, `warnings`, `errors`; a
        presentation's also lists each credential's own result."""
        body: dict[str, Any] = {
            "verified": self.verified,
            "checks": [{"check": c.check, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "warnings": self.warnings(),
            "errors": self.errors(),
        }
        if self.credentials is not None:
            body["credentials"] = [c.as_dict() for c in self.credentials]
        return body

    def summary(self) -> str:
        """One line: verified, or the first failure."""
        if self.verified:
            return "verified: " + ", ".join(c.check for c in self.checks if c.ok)
        first = self.errors()[0]
        where = f"credential {first['credential']}: " if "credential" in first else ""
        return f"not verified: {where}{first['check']}: {first['detail']}"


def _problem(c: Check) -> dict[str, Any]:
    kind, title = _TYPES[c.check]
    return {"check": c.check, "type": kind, "title": c.title or title, "detail": c.detail}


def _warning(check: str, detail: str) -> dict[str, Any]:
    return {"check": check, "title": "Not checked", "detail": detail}


class _StatusLists:
    """Our own status lists, built from our database once per verification (unsigned: the
    database is what we trust, and reading it needs no signing key), and our own
    organizations' did:web documents (`controller`), likewise."""

    def __init__(self, uow: UnitOfWork, ctx: ServiceContext) -> None:
        self._uow = uow
        self._ctx = ctx
        self._lists: dict[tuple[str, str, int], dict[str, Any] | None] = {}
        self._controllers: dict[str, dict[str, Any] | None] = {}

    def controller(self, did: str) -> dict[str, Any] | None:
        """The DID document of one of our did:web DIDs, else None (nothing is fetched)."""
        if did not in self._controllers:
            self._controllers[did] = dids.resolve(self._uow, did)
        return self._controllers[did]

    def get(self, key_id: str, purpose: str, list_no: int) -> dict[str, Any] | None:
        where = (key_id, purpose, list_no)
        if where not in self._lists:
            try:
                doc = status_lists.unsigned_status_list(
                    self._uow, self._ctx, key_id, purpose, list_no
                )[2]
            except NotFound:
                doc = None
            self._lists[where] = doc
        return self._lists[where]


def verify_credential(
    uow: UnitOfWork, ctx: ServiceContext, credential: object, *, now: datetime | None = None
) -> Verification:
    """Every check of one credential; never raises for a bad document."""
    return _credential(credential, ctx, _StatusLists(uow, ctx), now or ctx.clock.now())


def verify_presentation(
    uow: UnitOfWork,
    ctx: ServiceContext,
    presentation: object,
    options: VerifyOptions | None = None,
    *,
    now: datetime | None = None,
) -> Verification:
    """The presentation's own checks (structure, its proof if it has one, holder, challenge,
    domain) and each credential it carries, verified as `verify_credential` does."""
    options = options or VerifyOptions()
    now = now or ctx.clock.now()
    lists = _StatusLists(uow, ctx)
    problems = vcdm.presentation_problems(presentation)
    structure = _structure_check(problems, "a well-formed verifiable presentation")
    if not isinstance(presentation, Mapping) or vcdm.too_deep(presentation):
        skipped = "not checked: the presentation is not a JSON document that can be read"
        checks = [structure] + [
            Check(name, None, skipped)
            for name in (SIGNATURE, HOLDER, CHALLENGE, DOMAIN, CREDENTIALS)
        ]
        return Verification(checks, credentials=[])
    checks = [structure]
    warnings: list[dict[str, Any]] = []
    proofs = [p for p in vcdm.as_list(presentation.get("proof")) if isinstance(p, Mapping)]
    if "proof" in presentation:
        outcome = ctx.verifier.verify_proof(
            presentation, proof_purpose=options.proof_purpose, now=now, lookup=lists.controller
        )
        checks.append(_signature_check(outcome))
        methods = outcome.methods
    else:
        detail = "no proof: the presentation is not signed, so its holder is not authenticated"
        checks.append(Check(SIGNATURE, None, detail))
        warnings.append(_warning(SIGNATURE, detail))
        methods = ()
    checks.append(_holder_check(presentation, methods))
    checks.append(_expected(CHALLENGE, options.challenge, proofs))
    checks.append(_expected(DOMAIN, options.domain, proofs))
    carried = vcdm.as_list(presentation.get("verifiableCredential"))
    if len(carried) > MAX_PRESENTED:
        detail = f"a presentation may carry at most {MAX_PRESENTED} credentials to verify here"
        checks.append(Check(CREDENTIALS, False, detail))
        return Verification(checks, credentials=[], extra_warnings=warnings)
    results = [_credential(c, ctx, lists, now) for c in carried]
    failed = [i for i, r in enumerate(results) if not r.verified]
    if not results:
        checks.append(Check(CREDENTIALS, True, "the presentation carries no credential"))
    elif failed:
        checks.append(
            Check(CREDENTIALS, False, f"credential(s) {failed} of {len(results)} did not verify")
        )
    else:
        checks.append(Check(CREDENTIALS, True, f"all {len(results)} credential(s) verified"))
    return Verification(checks, credentials=results, extra_warnings=warnings)


def verify_document(
    uow: UnitOfWork, ctx: ServiceContext, document: object, *, now: datetime | None = None
) -> Verification:
    """A presentation if its type says so, else a credential."""
    if isinstance(document, Mapping) and "VerifiablePresentation" in vcdm.types_of(document):
        return verify_presentation(uow, ctx, document, now=now)
    return verify_credential(uow, ctx, document, now=now)


def _structure_check(problems: list[dict[str, str]], what: str) -> Check:
    if not problems:
        return Check(STRUCTURE, True, what)
    text = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:10])
    more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
    return Check(STRUCTURE, False, text + more)


def _signature_check(outcome: ProofOutcome) -> Check:
    detail = outcome.detail
    if not outcome.ok and outcome.step not in (None, STRUCTURE, SIGNATURE):
        detail = f"{outcome.step}: {detail}"
    return Check(SIGNATURE, outcome.ok, detail)


def _controller(method: str) -> str:
    return method.partition("#")[0]


def _credential(
    credential: object, ctx: ServiceContext, lists: _StatusLists, now: datetime
) -> Verification:
    structure = _structure_check(
        vcdm.credential_problems(credential), "a well-formed verifiable credential"
    )
    if not isinstance(credential, Mapping) or vcdm.too_deep(credential):
        skipped = "not checked: the credential is not a JSON document that can be read"
        return Verification([structure] + [Check(n, None, skipped) for n in CREDENTIAL_CHECKS[1:]])
    warnings: list[dict[str, Any]] = []
    outcome = ctx.verifier.verify_proof(
        credential, proof_purpose="assertionMethod", now=now, lookup=lists.controller
    )
    signature = _signature_check(outcome)
    status = _status_check(credential, ctx, lists, warnings)
    checks = [
        structure,
        signature,
        _issuer_check(credential, outcome.methods),
        status,
        _validity_check(credential, now),
    ]
    return Verification(checks, extra_warnings=warnings)


def _issuer_check(credential: Mapping[str, Any], methods: tuple[str, ...]) -> Check:
    issuer = vcdm.issuer_id(credential)
    if issuer is None:
        return Check(ISSUER, False, "the credential names no issuer")
    if not methods:
        return Check(ISSUER, None, "not checked: no proof names a verification method")
    # A proof set or chain may carry others' proofs too (an endorsement, a witness): each
    # must verify (the signature check), and at least one must be the issuer's.
    if not any(_controller(m) == issuer for m in methods):
        return Check(
            ISSUER,
            False,
            f"no proof is the issuer's ({issuer}): the proof's verification method is "
            f"{sorted(methods)[0]}",
        )
    return Check(ISSUER, True, f"a proof's verification method belongs to the issuer {issuer}")


def _holder_check(presentation: Mapping[str, Any], methods: tuple[str, ...]) -> Check:
    holder = vcdm.holder_id(presentation)
    if holder is None:
        return Check(HOLDER, None, "the presentation names no holder")
    if not methods:
        return Check(HOLDER, None, f"not checked: no proof shows that {holder} presented it")
    strangers = sorted({m for m in methods if _controller(m) != holder})
    if strangers:
        return Check(
            HOLDER, False, f"the proof's verification method {strangers[0]} is not the holder's"
        )
    return Check(HOLDER, True, f"presented by the holder {holder}")


def _expected(name: str, expected: str | None, proofs: list[Mapping[str, Any]]) -> Check:
    """A presentation proof's `challenge` or `domain` (a string, or for `domain` a list of
    them) against what the caller expects."""
    given = [p.get(name) for p in proofs if p.get(name) is not None]
    if expected is None:
        if given:
            return Check(name, None, f"not checked: the proof has a {name}; none was expected")
        return Check(name, None, f"no {name} expected")
    if not proofs:
        return Check(name, False, f"the {name} {expected!r} was expected, but there is no proof")
    for proof in proofs:
        value = proof.get(name)
        if not (value == expected or (isinstance(value, list) and expected in value)):
            return Check(name, False, f"every proof must carry the {name} {expected!r}")
    return Check(name, True, f"the proof carries the expected {name}")


def _validity_check(credential: Mapping[str, Any], now: datetime) -> Check:
    raw_start, raw_end = vcdm.validity_dates(credential)
    zone = vcdm.data_model(credential) != 1
    start = vcdm.parse_datetime(raw_start, require_zone=zone) if raw_start is not None else None
    end = vcdm.parse_datetime(raw_end, require_zone=zone) if raw_end is not None else None
    if (raw_start is not None and start is None) or (raw_end is not None and end is None):
        return Check(VALIDITY, False, "a validity date is not an XML Schema dateTime")
    if start is not None and now < start:
        return Check(
            VALIDITY, False, f"not yet valid: valid from {raw_start}", "Credential not yet valid"
        )
    if end is not None and now >= end:
        return Check(VALIDITY, False, f"expired: valid until {raw_end}", "Credential expired")
    if end is not None:
        return Check(VALIDITY, True, f"valid until {raw_end}")
    return Check(VALIDITY, True, "valid, with no end date")


def _status_check(
    credential: Mapping[str, Any],
    ctx: ServiceContext,
    lists: _StatusLists,
    warnings: list[dict[str, Any]],
) -> Check:
    entries = vcdm.as_list(credential.get("credentialStatus"))
    if not entries:
        return Check(STATUS, True, "no credentialStatus: nothing can revoke or suspend it")
    issuer = vcdm.issuer_id(credential)
    verdicts = [_entry(e, issuer, ctx, lists) for e in entries]
    failed = [v for v in verdicts if v.ok is False]
    unchecked = [v for v in verdicts if v.ok is None]
    for v in unchecked:
        warnings.append(_warning(STATUS, v.detail))
    detail = "; ".join(v.detail for v in verdicts)
    if failed:
        titles = {v.title for v in failed if v.title}
        return Check(STATUS, False, detail, titles.pop() if len(titles) == 1 else None)
    return Check(STATUS, None if unchecked else True, detail)


def _entry(entry: object, issuer: str | None, ctx: ServiceContext, lists: _StatusLists) -> Check:
    if not isinstance(entry, Mapping):
        return Check(STATUS, False, "a credentialStatus entry is not an object")
    kinds = vcdm.types_of(entry)
    if "BitstringStatusListEntry" not in kinds:
        return Check(STATUS, None, f"unchecked: status of type {kinds} is not supported here")
    url = entry.get("statusListCredential")
    purpose = entry.get("statusPurpose")
    index_text = entry.get("statusListIndex")
    if not (isinstance(url, str) and isinstance(purpose, str) and isinstance(index_text, str)):
        return Check(
            STATUS,
            False,
            "a BitstringStatusListEntry needs statusPurpose, statusListIndex and "
            "statusListCredential strings",
        )
    if not index_text.isdigit() or len(index_text) > 12:
        return Check(STATUS, False, f"statusListIndex {index_text[:40]!r} is not an integer")
    if not url.startswith(ctx.base_url + "/"):
        return Check(
            STATUS,
            None,
            f"unchecked: the {purpose} list {url[:200]} is not this server's; "
            "nothing is fetched from the network",
        )
    where = parse_status_list_url(ctx.base_url, url)
    doc = lists.get(*where) if where is not None else None
    if doc is None:
        return Check(STATUS, False, f"there is no status list {url[:200]}")
    subject = doc.get("credentialSubject", {})
    if subject.get("statusPurpose") != purpose:
        listed = subject.get("statusPurpose")
        return Check(STATUS, False, f"{url} is a {listed} list, not a {purpose} list")
    if doc.get("issuer") != issuer:
        return Check(STATUS, False, f"the status list {url} is not the credential issuer's")
    bits = decode_bits(str(subject.get("encodedList", "")))
    index = int(index_text)
    if bits is None or index >= len(bits) * 8:
        return Check(STATUS, False, f"statusListIndex {index} is beyond the list {url}")
    word = {"revocation": "revoked", "suspension": "suspended"}.get(purpose, f"{purpose} set")
    if bit_at(bits, index):
        return Check(
            STATUS, False, f"{word} ({purpose} list {url}, index {index})", f"Credential {word}"
        )
    return Check(STATUS, True, f"not {word} ({purpose} list {url}, index {index})")
