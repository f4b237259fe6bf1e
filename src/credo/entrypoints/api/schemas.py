"""Request bodies. Wrong types and unknown fields are refused, never coerced: strings stay
strings, booleans booleans, and dates come only as ISO strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
)

from credo.domain.billing import MAX_CUSTOM_ALLOWANCE
from credo.services.recipients.addresses import MalformedEmail, recipient_key

MAX_BULK = 10_000
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _address(value: str) -> str:
    """A malformed address is reported with the body's other bad fields; the services
    check it again (their callers are not only this API)."""
    try:
        recipient_key(value)
    except MalformedEmail as exc:
        raise ValueError(str(exc)) from None
    return value


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a string (YYYY-MM-DD or RFC 3339)")
    return value


def _sane_date(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


def _sane_time(value: datetime) -> datetime:
    _sane_date(value.date())
    return value


Name = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
Text = Annotated[StrictStr, StringConstraints(max_length=5000), AfterValidator(_no_nul)]
Email = Annotated[
    StrictStr,
    StringConstraints(max_length=400),
    AfterValidator(_no_nul),
    AfterValidator(_address),
]
Day = Annotated[date, BeforeValidator(_text_only), AfterValidator(_sane_date)]
Moment = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(_sane_time)]
Months = Annotated[StrictInt, Field(ge=1, le=1200)]
Plan = Literal["launch-250", "connect", "growth", "enterprise"]
Credits = Annotated[StrictInt, Field(ge=1, le=MAX_CUSTOM_ALLOWANCE)]
# A DNS host name; services.dids checks it (422) and stores it in IDNA ASCII form.
DomainName = Annotated[StrictStr, StringConstraints(max_length=1000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganizationIn(Body):
    name: Name
    plan: Plan
    credits: Credits | None = None
    sandbox: StrictBool = False
    anchor: Day | None = None
    cryptosuite: Literal["eddsa-rdfc-2022", "eddsa-jcs-2022"] = "eddsa-rdfc-2022"
    domain: DomainName | None = None


class OrganizationPatch(Body):
    """`domain`: the organization's did:web host name; null drops it (did:key again)."""

    domain: DomainName | None


class SubscriptionIn(Body):
    plan: Plan
    credits: Credits | None = None


class CancelIn(Body):
    when: Literal["now", "year_end"] = "year_end"


# A group's design: checked field by field by domain.designs (422 names `design.<field>`).
DesignIn = dict[str, Any]


RefId = Annotated[StrictStr, StringConstraints(max_length=64), AfterValidator(_no_nul)]
# A department's cap: seats per billing year (null: no cap).
Cap = Annotated[StrictInt, Field(ge=0, le=10_000_000)]


class GroupIn(Body):
    name: Name
    description: Text | None = None
    criteria: Text | None = None
    expires_after_months: Months | None = None
    design: DesignIn | None = None
    department_id: RefId | None = None


class DepartmentIn(Body):
    name: Name
    credit_cap: Cap | None = None


class DepartmentPatch(Body):
    """Only the fields given change; a null credit_cap removes the cap."""

    name: Name | None = None
    credit_cap: Cap | None = None

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("must not be null")
        return value


class GroupPatch(Body):
    """Only the fields given change; null clears description, criteria and expiry, and
    restores the default design. A design object is merged over the stored one."""

    name: Name | None = None
    description: Text | None = None
    criteria: Text | None = None
    expires_after_months: Months | None = None
    design: DesignIn | None = None
    department_id: RefId | None = None  # null: out of every department

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("must not be null")
        return value


class RecipientIn(Body):
    name: Name
    email: Email


class RecipientPatch(Body):
    name: Name | None = None
    email: Email | None = None


class CredentialIn(Body):
    group_id: Annotated[StrictStr, StringConstraints(max_length=64)]
    recipient: RecipientIn
    issued_on: Day | None = None
    expires_on: Day | None = None
    publish: StrictBool = True
    dry_run: StrictBool = False


class BulkItem(Body):
    recipient: RecipientIn
    issued_on: Day | None = None
    expires_on: Day | None = None


class BulkIn(Body):
    group_id: Annotated[StrictStr, StringConstraints(max_length=64)]
    credentials: Annotated[list[BulkItem], Field(min_length=1, max_length=MAX_BULK)]
    publish: StrictBool = True
    dry_run: StrictBool = False


class CredentialPatch(Body):
    recipient: RecipientPatch | None = None
    issued_on: Day | None = None
    expires_on: Day | None = None
    dry_run: StrictBool = False


class RevokeIn(Body):
    reason: Text | None = None


class PublishIn(Body):
    dry_run: StrictBool = False


class ClockIn(Body):
    now: Moment


# --- the W3C VC API: its bodies use the VC API's camelCase names --------------------------


class VcApiOptions(BaseModel):
    """VC API `options`. Unknown options (such as `checks`, which test suites send) are
    accepted and ignored: every check always runs."""

    model_config = ConfigDict(extra="ignore")
    challenge: Annotated[StrictStr, StringConstraints(max_length=1000)] | None = None
    domain: Annotated[StrictStr, StringConstraints(max_length=1000)] | None = None
    expected_proof_purpose: (
        Annotated[StrictStr, StringConstraints(min_length=1, max_length=100)] | None
    ) = Field(None, alias="expectedProofPurpose")


class VerifyCredentialIn(Body):
    verifiable_credential: dict[str, Any] = Field(alias="verifiableCredential")
    options: VcApiOptions | None = None


class VerifyPresentationIn(Body):
    verifiable_presentation: dict[str, Any] = Field(alias="verifiablePresentation")
    options: VcApiOptions | None = None


class IssueCredentialIn(Body):
    credential: dict[str, Any]
    # IssueCredentialOptions (credentialId, mandatoryPointers, ...): accepted; only
    # `credentialStatus: false` is read (issue without a status entry).
    options: dict[str, Any] | None = None


class StatusChangeIn(BaseModel):
    """One entry of a VC API status update. `type` (BitstringStatusListEntry) is accepted
    and not checked: the purpose alone says which of Credo's two lists changes."""

    model_config = ConfigDict(extra="ignore")
    type: Annotated[StrictStr, StringConstraints(max_length=100)] | None = None
    status_purpose: Literal["revocation", "suspension"] = Field(alias="statusPurpose")


class UpdateStatusIn(BaseModel):
    """VC API `POST /credentials/status`. `status` false lifts a suspension."""

    model_config = ConfigDict(extra="ignore")
    credential_id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=2000)] = Field(
        alias="credentialId"
    )
    credential_status: Annotated[list[StatusChangeIn], Field(min_length=1, max_length=2)] = Field(
        alias="credentialStatus"
    )
    status: StrictBool = True


WebhookUrl = Annotated[StrictStr, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
EventName = Annotated[StrictStr, StringConstraints(max_length=60)]


class WebhookIn(Body):
    url: WebhookUrl
    events: Annotated[list[EventName], Field(min_length=1, max_length=50)]
    description: Annotated[StrictStr, StringConstraints(max_length=500)] | None = None


class WebhookPatch(Body):
    url: WebhookUrl | None = None
    events: Annotated[list[EventName], Field(min_length=1, max_length=50)] | None = None
    description: Annotated[StrictStr, StringConstraints(max_length=500)] | None = None
    enabled: StrictBool | None = None
