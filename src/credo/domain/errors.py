"""The one error family. Every refusal the product makes is a DomainError with a stable code.

The API maps `status` to the HTTP status and the fields to problem JSON; the CLI maps them to
one line and a non-zero exit. Codes never change once published: clients branch on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class InvalidInput(DomainError):
    """A value is malformed. `errors` lists each bad field as {"field", "message"}."""

    code = "invalid_input"
    status = 422
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[dict[str, str]]) -> None:
        super().__init__(detail, errors=errors)
        self.errors = errors


class InsufficientCredits(DomainError):
    """R11: the event needs more credits than remain this billing year."""

    code = "insufficient_credits"
    status = 402
    title = "Not enough credits"

    def __init__(self, detail: str, *, credits_required: int, credits_remaining: int) -> None:
        super().__init__(
            detail, credits_required=credits_required, credits_remaining=credits_remaining
        )
        self.credits_required = credits_required
        self.credits_remaining = credits_remaining
        # Filled in by the charge path for plain-word explanations (services.credit_reports
        # .explain); not part of the problem JSON: why seats were needed (SeatReason values)
        # and when the billing year's allowance resets.
        self.reasons: tuple[str, ...] = ()
        self.resets_at: datetime | None = None
        # Set where a charge is refused: whose `credits.publish_refused` webhook event it is.
        self.organization_id: str | None = None

    @property
    def credits_short(self) -> int:
        """How many credits are missing for the event to go through."""
        return max(0, self.credits_required - self.credits_remaining)


class DepartmentCapReached(InsufficientCredits):
    """R17: the event would take more seats than its department's cap leaves this year, even
    if the organization has credits left. The problem JSON names the department."""

    code = "department_cap_reached"
    title = "Department credit cap reached"

    def __init__(
        self,
        detail: str,
        *,
        credits_required: int,
        credits_remaining: int,
        department_id: str,
        department_name: str,
        credit_cap: int | None,
    ) -> None:
        super().__init__(
            detail, credits_required=credits_required, credits_remaining=credits_remaining
        )
        self.fields["department"] = {
            "id": department_id,
            "name": department_name,
            "credit_cap": credit_cap,
        }
        self.department_id = department_id
        self.department_name = department_name


class NoActiveSubscription(InsufficientCredits):
    """R15: without an active subscription nothing that needs a seat may happen."""

    code = "no_active_subscription"
    title = "No active subscription"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"


class AlreadyPublished(Conflict):
    code = "already_published"
    title = "Already published"


class ClockBackwards(Conflict):
    code = "clock_backwards"
    title = "Test clocks only move forward"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with a different request"


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    title = "Unauthorized"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


# --- accounts and sign-in ------------------------------------------------------------------


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429
    title = "Too many sign-in attempts"


class TooManyResetRequests(TooManyAttempts):
    title = "Too many requests"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class KeyLimitedToDepartment(Forbidden):
    """A department's API key asked for what only an organization-wide key may do."""

    code = "api_key_limited_to_department"


class SsoRefused(DomainError):
    """A sign-in through an organization's identity provider was refused. `reason` (a
    domain.sso.Refusal value) and `why` (what exactly was wrong) are logged, not shown: the
    person sees the detail only."""

    code = "sso_refused"
    status = 403
    title = "Single sign-on refused"

    def __init__(
        self, reason: str, detail: str, *, why: str = "", organization_id: str | None = None
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.why = why or detail
        self.organization_id = organization_id


class SsoRequired(DomainError):
    """Password sign-in for a member of an organization that requires single sign-on."""

    code = "sso_required"
    status = 403
    title = "Single sign-on required"


class ResetLinkInvalid(DomainError):
    code = "reset_link_invalid"
    status = 410
    title = "This link no longer works"


class LastOwner(Conflict):
    code = "last_owner"
    title = "An organization needs an owner"


# --- issuing ------------------------------------------------------------------------------


class GroupArchived(Conflict):
    code = "group_archived"
    title = "The group is archived"


class DuplicateCredential(Conflict):
    code = "duplicate_credential"
    title = "Already holds a credential of this group"


class CostChanged(Conflict):
    code = "cost_changed"
    title = "The cost changed"


# --- signing, verifying and badge images (adapters raise these) ----------------------------


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


class BakingError(DomainError):
    """An image that does not carry exactly one readable credential, or one that cannot be
    baked."""

    code = "invalid_image"
    status = 422
    title = "Not a baked badge image"


class WalletProtocolError(DomainError):
    """A refusal of OpenID for Verifiable Credential Issuance (domain/oid4vci.py) in the
    protocol's own words: `error` is the OAuth 2.0 / OID4VCI code, as its clients read it."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, error=self.code, error_description=detail)


class InvalidRequest(WalletProtocolError):
    code = "invalid_request"


class UnsupportedGrantType(WalletProtocolError):
    code = "unsupported_grant_type"


class InvalidGrant(WalletProtocolError):
    code = "invalid_grant"


class InvalidToken(WalletProtocolError):
    code = "invalid_token"
    status = 401
    title = "Unauthorized"


class InvalidCredentialRequest(WalletProtocolError):
    code = "invalid_credential_request"


class UnknownConfiguration(WalletProtocolError):
    code = "unknown_credential_configuration"


class InvalidProof(WalletProtocolError):
    code = "invalid_proof"


class InvalidNonce(WalletProtocolError):
    code = "invalid_nonce"
