"""Well-formedness of W3C Verifiable Credentials (Data Model 1.1 and 2.0) and presentations,
read as plain JSON: the rules JSON-LD processing does not enforce by itself (a required
property, a URL where one must be, a `type` on the objects that need one, date formats).
JSON-LD processing (undefined terms, invalid contexts) is the signing adapter's part.

Pure: values in, a list of problems out. A problem is `{"field", "message"}`, as in every
422 answer of the API.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_V1 = "https://www.w3.org/2018/credentials/v1"
BASE_CONTEXTS = {VC_V2: 2, VC_V1: 1}
# Deeper documents are refused before any recursive processing touches them.
MAX_DEPTH = 64
# Objects that must carry a `type` (VC Data Model 2.0, section 4.5 "Types").
TYPED_PROPERTIES = (
    "credentialStatus",
    "credentialSchema",
    "evidence",
    "refreshService",
    "termsOfUse",
)

Problem = dict[str, str]

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]+")
# XML Schema 1.1 dateTime; the time zone is what makes it a dateTimeStamp.
_DATETIME = re.compile(
    r"(-?)(\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"(Z|[+-]\d{2}:\d{2})?"
)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_LANGUAGE_VALUE_KEYS = {"@value", "@language", "@direction"}
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def is_url(value: object) -> bool:
    """An absolute URL (any scheme: https, did, urn, ...) without spaces or controls."""
    return isinstance(value, str) and len(value) <= 8192 and _URL.fullmatch(value) is not None


MAX_SAFE_INTEGER = 2**53 - 1


def _printable_key(key: object) -> str:
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8")[:100]


def _is_scalar_text(text: str) -> bool:
    """No lone surrogates: text that UTF-8 (hence RDF, JCS and JSON answers) can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_problems(value: object, prefix: str = "") -> list[Problem]:
    """What interoperable JSON (I-JSON, RFC 7493) cannot carry: numbers that are not finite
    or are integers beyond +-(2**53 - 1), text with lone surrogates. Each would be signed one
    way and read back another. Reports the first few, by path."""
    found: list[Problem] = []
    stack: list[tuple[object, str]] = [(value, prefix.rstrip("."))]
    while stack and len(found) < 5:
        node, path = stack.pop()
        where = path or "document"
        if isinstance(node, bool) or node is None:
            continue
        if isinstance(node, int) and abs(node) > MAX_SAFE_INTEGER:
            found.append({"field": where, "message": "integers must be within +-(2**53 - 1)"})
        elif isinstance(node, float) and not math.isfinite(node):
            found.append({"field": where, "message": "numbers must be finite"})
        elif isinstance(node, str) and not _is_scalar_text(node):
            found.append({"field": where, "message": "text must not hold lone surrogates"})
        elif isinstance(node, Mapping):
            for key, child in node.items():
                name = _printable_key(key)
                inner = f"{path}.{name}" if path else name
                if not isinstance(key, str) or not _is_scalar_text(key):
                    found.append({"field": inner, "message": "a key must be text (no surrogates)"})
                stack.append((child, inner))
        elif isinstance(node, list):
            stack.extend((child, f"{path}.{i}" if path else str(i)) for i, child in enumerate(node))
    return found


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON `value` nests objects and arrays more than `limit` levels (iteratively,
    so a hostile document cannot exhaust the stack here)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_datetime(text: object, *, require_zone: bool) -> datetime | None:
    """An XML Schema dateTime as an aware UTC datetime; None when `text` is not one (or has
    no time zone while `require_zone`). Years beyond 1..9999 clamp to EARLIEST / LATEST; a
    value without a zone is read as UTC."""
    if not isinstance(text, str):
        return None
    m = _DATETIME.fullmatch(text)
    if m is None:
        return None
    sign, year_s, month_s, day_s, hour_s, minute_s, second_s, fraction, zone = m.groups()
    if len(year_s) > 4 and year_s.startswith("0"):
        return None
    year = int(year_s) * (-1 if sign else 1)
    month, day, hour, minute, second = (
        int(v) for v in (month_s, day_s, hour_s, minute_s, second_s)
    )
    if not 1 <= month <= 12 or minute > 59 or second > 59:
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 29 if month == 2 and leap else _MONTH_DAYS[month - 1]
    if not 1 <= day <= days:
        return None
    if hour == 24:
        if minute or second or (fraction and int(fraction[1:])):
            return None
    elif hour > 23:
        return None
    offset = timedelta(0)
    if zone is None:
        if require_zone:
            return None
    elif zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zm > 59 or zh > 14 or (zh == 14 and zm):
            return None
        offset = timedelta(hours=zh, minutes=zm) * (-1 if zone[0] == "-" else 1)
    if year < 1:
        return EARLIEST
    if year > 9999:
        return LATEST
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        local = datetime(year, month, day, 0, minute, second, micro, tzinfo=UTC)
        return local + timedelta(hours=hour) - offset
    except OverflowError:
        return EARLIEST if year < 5000 else LATEST


def data_model(doc: Mapping[str, Any]) -> int | None:
    """2 or 1 by the first context (VC Data Model 2.0 or 1.1); None when it is neither."""
    context = doc.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    return BASE_CONTEXTS.get(first) if isinstance(first, str) else None


def issuer_id(doc: Mapping[str, Any]) -> str | None:
    issuer = doc.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def types_of(node: Mapping[str, Any]) -> list[str]:
    value = node.get("type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    return []


def as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class _Report:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.problems: list[Problem] = []

    def __call__(self, field: str, message: str) -> None:
        name = f"{self.prefix}{field}" if field else self.prefix.rstrip(".")
        self.problems.append({"field": name or "document", "message": message})


Bad = Callable[[str, str], None]


def _check_contexts(doc: Mapping[str, Any], bad: Bad) -> int | None:
    if "@context" not in doc:
        bad("@context", "is required")
        return None
    context = doc["@context"]
    items = context if isinstance(context, list) else [context]
    if not items:
        bad("@context", "must not be empty")
        return None
    version = data_model(doc)
    if version is None:
        bad("@context", f"must start with {VC_V2!r} (or {VC_V1!r} for a VC 1.1 credential)")
    for i, item in enumerate(items):
        if isinstance(item, str):
            if not is_url(item):
                bad(f"@context.{i}", "must be a URL")
        elif not isinstance(item, Mapping):
            bad(f"@context.{i}", "must be a URL or a context object")
    return version


def _check_types(node: Mapping[str, Any], required: str | None, field: str, bad: Bad) -> None:
    value = node.get("type")
    if value is None:
        bad(field, "is required")
        return
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(t, str) and t for t in values):
        bad(field, "must be a term or a URL, or a list of them")
        return
    if required is not None and required not in values:
        bad(field, f"must include {required!r}")


def _check_id(node: Mapping[str, Any], field: str, bad: Bad, *, required: bool = False) -> None:
    if "id" not in node:
        if required:
            bad(field, "is required")
        return
    if not is_url(node["id"]):
        bad(field, "must be a URL (one string)")


def _check_language_values(node: Mapping[str, Any], name: str, field: str, bad: Bad) -> None:
    if name not in node:
        return
    for i, value in enumerate(as_list(node[name])):
        where = f"{field}.{i}" if isinstance(node[name], list) else field
        if isinstance(value, str):
            continue
        if not isinstance(value, Mapping) or not isinstance(value.get("@value"), str):
            bad(where, "must be a string or a language value object with '@value'")
            continue
        extra = sorted(set(value) - _LANGUAGE_VALUE_KEYS)
        if extra:
            bad(where, f"a language value object holds only @value, @language, @direction: {extra}")
        if "@language" in value and not isinstance(value["@language"], str):
            bad(f"{where}.@language", "must be a language tag")
        if "@direction" in value and value["@direction"] not in ("ltr", "rtl"):
            bad(f"{where}.@direction", "must be 'ltr' or 'rtl'")


def _check_issuer(doc: Mapping[str, Any], bad: Bad) -> None:
    if "issuer" not in doc:
        bad("issuer", "is required")
        return
    issuer = doc["issuer"]
    if isinstance(issuer, Mapping):
        if not is_url(issuer.get("id")):
            bad("issuer.id", "must be a URL")
        for name in ("name", "description"):
            _check_language_values(issuer, name, f"issuer.{name}", bad)
    elif not is_url(issuer):
        bad("issuer", "must be a URL or an object whose id is a URL")


def _check_subjects(doc: Mapping[str, Any], bad: Bad) -> None:
    if "credentialSubject" not in doc:
        bad("credentialSubject", "is required")
        return
    value = doc["credentialSubject"]
    subjects = value if isinstance(value, list) else [value]
    if not subjects:
        bad("credentialSubject", "must not be empty")
    for i, subject in enumerate(subjects):
        where = f"credentialSubject.{i}" if isinstance(value, list) else "credentialSubject"
        if not isinstance(subject, Mapping):
            bad(where, "must be an object")
        elif not subject:
            bad(where, "must make at least one claim")
        elif "id" in subject:
            _check_id(subject, f"{where}.id", bad)


def _check_dates(doc: Mapping[str, Any], version: int | None, bad: Bad) -> None:
    if version == 1:
        names, zone = ("issuanceDate", "expirationDate"), False
        if "issuanceDate" not in doc:
            bad("issuanceDate", "is required in a VC 1.1 credential")
    else:
        names, zone = ("validFrom", "validUntil"), True
    parsed: dict[str, datetime] = {}
    for name in names:
        if name not in doc:
            continue
        when = parse_datetime(doc[name], require_zone=zone)
        if when is None:
            kind = "dateTimeStamp (with a time zone)" if zone else "dateTime"
            bad(name, f"must be an XML Schema {kind}, such as 2026-01-20T00:00:00Z")
        else:
            parsed[name] = when
    start, end = (parsed.get(n) for n in names)
    if start is not None and end is not None and end < start:
        bad(names[1], f"must not be before {names[0]}")


def _check_typed_objects(doc: Mapping[str, Any], bad: Bad) -> None:
    for name in TYPED_PROPERTIES:
        if name not in doc:
            continue
        value = doc[name]
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            where = f"{name}.{i}" if isinstance(value, list) else name
            if not isinstance(item, Mapping):
                bad(where, "must be an object")
                continue
            _check_types(item, None, f"{where}.type", bad)
            _check_id(item, f"{where}.id", bad, required=name == "credentialSchema")


def _check_related_resources(doc: Mapping[str, Any], bad: Bad) -> None:
    """VC 2.0 section 5.3: `relatedResource` is one or more objects, each with a URL `id`
    unique among them and a `digestSRI` or `digestMultibase` string. (A digest is not
    compared with the resource: that needs the resource's exact bytes, and nothing is
    fetched from the network.)"""
    if "relatedResource" not in doc:
        return
    value = doc["relatedResource"]
    items = value if isinstance(value, list) else [value]
    if not items:
        bad("relatedResource", "must be one or more objects")
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"relatedResource.{i}" if isinstance(value, list) else "relatedResource"
        if not isinstance(item, Mapping):
            bad(where, "must be an object")
            continue
        _check_id(item, f"{where}.id", bad, required=True)
        rid = item.get("id")
        if isinstance(rid, str):
            if rid in seen:
                bad(f"{where}.id", "must be unique among the related resources")
            seen.add(rid)
        digests = [k for k in ("digestSRI", "digestMultibase") if k in item]
        if not digests:
            bad(where, "needs a digestSRI or a digestMultibase")
        for k in digests:
            if not (isinstance(item[k], str) and item[k]):
                bad(f"{where}.{k}", "must be a non-empty string")


def credential_problems(doc: object, prefix: str = "") -> list[Problem]:
    """What makes `doc` not a well-formed VC 2.0 (or 1.1) credential; [] when it is one.
    `prefix` is put before every field name (e.g. "credential.")."""
    bad = _Report(prefix)
    if not isinstance(doc, Mapping):
        bad("", "a credential is a JSON object")
        return bad.problems
    if too_deep(doc):
        bad("", f"nests more than {MAX_DEPTH} levels")
        return bad.problems
    bad.problems.extend(json_problems(doc, prefix))
    version = _check_contexts(doc, bad)
    _check_types(doc, "VerifiableCredential", "type", bad)
    _check_id(doc, "id", bad)
    _check_issuer(doc, bad)
    _check_subjects(doc, bad)
    _check_dates(doc, version, bad)
    _check_typed_objects(doc, bad)
    _check_related_resources(doc, bad)
    for name in ("name", "description"):
        _check_language_values(doc, name, name, bad)
    return bad.problems


def presentation_problems(doc: object, prefix: str = "") -> list[Problem]:
    """What makes `doc` not a well-formed verifiable presentation, leaving the credentials it
    carries to `credential_problems` (each is verified on its own)."""
    bad = _Report(prefix)
    if not isinstance(doc, Mapping):
        bad("", "a presentation is a JSON object")
        return bad.problems
    if too_deep(doc):
        bad("", f"nests more than {MAX_DEPTH} levels")
        return bad.problems
    bad.problems.extend(json_problems(doc, prefix))
    _check_contexts(doc, bad)
    _check_types(doc, "VerifiablePresentation", "type", bad)
    _check_id(doc, "id", bad)
    if "holder" in doc:
        holder = doc["holder"]
        if isinstance(holder, Mapping):
            if not is_url(holder.get("id")):
                bad("holder.id", "must be a URL")
        elif not is_url(holder):
            bad("holder", "must be a URL or an object whose id is a URL")
    value = doc.get("verifiableCredential")
    for i, item in enumerate(as_list(value)):
        where = f"verifiableCredential.{i}" if isinstance(value, list) else "verifiableCredential"
        if not isinstance(item, Mapping):
            bad(where, "must be a credential object")
    return bad.problems


def holder_id(doc: Mapping[str, Any]) -> str | None:
    holder = doc.get("holder")
    if isinstance(holder, Mapping):
        holder = holder.get("id")
    return holder if isinstance(holder, str) else None


def validity_dates(doc: Mapping[str, Any]) -> tuple[object, object]:
    """The raw (start, end) of a credential's validity period, by its data model."""
    if data_model(doc) == 1:
        return doc.get("issuanceDate"), doc.get("expirationDate")
    return doc.get("validFrom"), doc.get("validUntil")


def xsd_now(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
