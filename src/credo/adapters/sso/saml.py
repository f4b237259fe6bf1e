"""SAML 2.0 (pysaml2): Credo as a service provider for each organization's identity provider.

AuthnRequests go by HTTP-Redirect, unsigned; responses come back by HTTP-POST to the
organization's assertion consumer service. An assertion must be signed by a certificate of
the identity provider's metadata (xmlsec1 checks the signature, pysaml2 checks that the
signed element is the assertion it reads, which defeats XML signature wrapping); its
audience must be our entity ID, its recipient our ACS address, its times must hold
(pysaml2 reads the system clock for them, with a minute's skew allowed), and it must answer
a request of ours unless the organization allows unsolicited responses."""

from __future__ import annotations

import calendar
import shutil
from datetime import UTC, datetime, timedelta
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.response import UnsolicitedResponse
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS
from saml2.time_util import str_to_time

from credo.domain.errors import InvalidInput, SsoRefused
from credo.domain.sso import Refusal
from credo.services.people.sso_ports import Identity, SamlServiceProvider

SKEW_SECONDS = 60
# Where identity providers put the e-mail address: friendly names pysaml2 maps the common
# attribute URIs to, and the claim URI Microsoft Entra ID and AD FS send.
EMAIL_ATTRIBUTES = (
    "mail",
    "email",
    "emailAddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
)
NAME_ATTRIBUTES = (
    "displayName",
    "cn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
)
MAX_RESPONSE = 1_000_000  # characters of base64


def _refuse(reason: Refusal, why: str) -> SsoRefused:
    return SsoRefused(reason.value, "the identity provider's answer could not be accepted", why=why)


def xmlsec_binary() -> str:
    found = shutil.which("xmlsec1")
    if found is None:
        raise RuntimeError(
            "SAML single sign-on needs the xmlsec1 program (apt-get install xmlsec1)"
        )
    return found


def _config(sp: SamlServiceProvider | None, metadata: str, entity_id: str = "") -> SPConfig:
    conf = SPConfig()
    settings: dict[str, Any] = {
        "entityid": sp.entity_id if sp else entity_id or "urn:credo:metadata-check",
        "xmlsec_binary": xmlsec_binary(),
        "accepted_time_diff": SKEW_SECONDS,
        "allow_unknown_attributes": True,
        "metadata": {"inline": [metadata]},
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [
                        (sp.acs_url if sp else "https://localhost/acs", BINDING_HTTP_POST)
                    ]
                },
                "allow_unsolicited": bool(sp and sp.allow_unsolicited),
                "authn_requests_signed": False,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "name_id_format": NAMEID_FORMAT_EMAILADDRESS,
            }
        },
    }
    conf.load(settings)
    return conf


class Pysaml2:
    def idp_entity_id(self, metadata: str) -> str:
        problem = [{"field": "metadata", "message": ""}]
        try:
            conf = _config(None, metadata)
            idps = list(conf.metadata.identity_providers())
        except Exception as exc:  # pysaml2 raises many kinds on malformed XML
            problem[0]["message"] = f"could not be read as SAML metadata ({type(exc).__name__})"
            raise InvalidInput("the metadata is not usable", problem) from None
        if len(idps) != 1:
            problem[0]["message"] = "must describe exactly one identity provider"
            raise InvalidInput("the metadata is not usable", problem)
        entity_id = str(idps[0])
        if not conf.metadata.certs(entity_id, "idpsso", "signing"):
            problem[0]["message"] = "names no signing certificate"
            raise InvalidInput("the metadata is not usable", problem)
        try:
            conf.metadata.single_sign_on_service(entity_id, BINDING_HTTP_REDIRECT)
        except Exception:
            problem[0]["message"] = "has no HTTP-Redirect single sign-on service"
            raise InvalidInput("the metadata is not usable", problem) from None
        if len(entity_id) > 500:
            problem[0]["message"] = "names an entity ID longer than 500 characters"
            raise InvalidInput("the metadata is not usable", problem)
        return entity_id

    def metadata(self, sp: SamlServiceProvider) -> str:
        return str(entity_descriptor(_config(sp, sp.idp_metadata)))

    def authn_request(self, sp: SamlServiceProvider, *, relay_state: str) -> tuple[str, str]:
        try:
            client = Saml2Client(config=_config(sp, sp.idp_metadata))
            request_id, info = client.prepare_for_authenticate(
                entityid=sp.idp_entity_id, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT
            )
            location = dict(info["headers"])["Location"]
        except Exception as exc:  # stored metadata pysaml2 no longer takes, xmlsec1 missing
            raise _refuse(Refusal.PROVIDER, f"AuthnRequest: {type(exc).__name__}") from None
        return str(request_id), str(location)

    def identity(
        self,
        sp: SamlServiceProvider,
        *,
        saml_response: str,
        request_id: str | None,
        now: datetime,
    ) -> Identity:
        if not saml_response or len(saml_response) > MAX_RESPONSE:
            raise _refuse(Refusal.ASSERTION, "no SAMLResponse, or a too large one")
        client = Saml2Client(config=_config(sp, sp.idp_metadata))
        outstanding = {request_id: "/"} if request_id else {}
        try:
            response = client.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST, outstanding=outstanding
            )
        except UnsolicitedResponse as exc:
            if request_id is None:
                raise _refuse(Refusal.UNSOLICITED, f"unsolicited: {str(exc)[:200]}") from None
            raise _refuse(Refusal.ASSERTION, "InResponseTo names another request") from None
        except Exception as exc:  # pysaml2's refusals share no base class
            raise _refuse(Refusal.ASSERTION, f"{type(exc).__name__}: {str(exc)[:300]}") from None
        if response is None or response.assertion is None:
            # pysaml2 answers None for a response it refused without raising (a Destination
            # that is not our ACS, among others); it logs which.
            raise _refuse(Refusal.ASSERTION, "response refused (Destination, or no assertion)")
        if request_id is None and response.in_response_to and not sp.allow_unsolicited:
            raise _refuse(Refusal.UNSOLICITED, "a response to no request of ours")
        if request_id is not None and response.in_response_to != request_id:
            raise _refuse(Refusal.ASSERTION, "InResponseTo names another request")
        issuer = response.issuer()
        if issuer != sp.idp_entity_id:
            raise _refuse(Refusal.ASSERTION, f"issuer {str(issuer)[:200]!r}")
        assertion = response.assertion
        self._check_recipient(assertion, sp)
        identity = response.get_identity() or {}
        email = _first(identity, EMAIL_ATTRIBUTES)
        name_id = response.name_id
        if email is None and name_id is not None and name_id.format == NAMEID_FORMAT_EMAILADDRESS:
            email = str(name_id.text or "").strip() or None
        if email is None:
            raise _refuse(Refusal.EMAIL, "no e-mail attribute nor e-mail NameID")
        until = _not_on_or_after(assertion, now)
        return Identity(
            email=email,
            name=_first(identity, NAME_ATTRIBUTES) or "",
            once=("assertion", f"{issuer}|{assertion.id}"[:200]),
            once_until=until + timedelta(seconds=SKEW_SECONDS),
        )

    @staticmethod
    def _check_recipient(assertion: Any, sp: SamlServiceProvider) -> None:
        """The bearer confirmation must name our ACS (SAML profiles 4.1.4.2): pysaml2 checks
        the Response's Destination; the assertion's Recipient is checked here too."""
        confirmations = getattr(assertion.subject, "subject_confirmation", None) or []
        for confirmation in confirmations:
            data = confirmation.subject_confirmation_data
            if data is not None and data.recipient == sp.acs_url:
                return
        raise _refuse(Refusal.ASSERTION, "no subject confirmation names our ACS as recipient")


def _first(identity: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        values = identity.get(name)
        if isinstance(values, list) and values and isinstance(values[0], str) and values[0]:
            return values[0].strip()
    return None


def _not_on_or_after(assertion: Any, now: datetime) -> datetime:
    """When the assertion stops being acceptable: the end of its conditions or of its
    subject confirmation, else a day on (kept that long against replay)."""
    ends = []
    if assertion.conditions is not None and assertion.conditions.not_on_or_after:
        ends.append(assertion.conditions.not_on_or_after)
    for confirmation in getattr(assertion.subject, "subject_confirmation", None) or []:
        data = confirmation.subject_confirmation_data
        if data is not None and data.not_on_or_after:
            ends.append(data.not_on_or_after)
    if not ends:
        return now + timedelta(days=1)
    return max(datetime.fromtimestamp(calendar.timegm(str_to_time(text)), tz=UTC) for text in ends)
