"""The per-shape cache (`shapes`): whatever the document, the cached path gives exactly what
the full JSON-LD algorithm gives (the same canonical N-Quads, byte for byte, or the same
refusal), and signing through it gives the same signed document.

Thousands of generated Open Badges 3.0 credentials (names with any character, e-mails,
dates, optional fields present or absent, arrays of any length, IRIs of many forms, equal
IRIs in several places), then generated JSON-LD over a context with every kind of term
definition (type-scoped contexts, @type and @id aliases, @vocab and @json types, language
maps, lists, id / index / type maps, graph containers, prefixes, null terms), each shape
with several sets of values.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credo.adapters.signing import (
    DocumentLoader,
    KeyPair,
    Resolver,
    UndefinedTerms,
    rdfc,
    sign,
    verify,
)
from credo.adapters.signing.canonical import (
    SHAPES,
    canonize,
    canonize_variants,
    new_shape_cache,
    to_quads,
)
from credo.adapters.signing.shapes import IRI, LIT, STRUCT, ShapeCache, iri_class
from tests.hypothesis_profiles import examples
from tests.unit.signing.conftest import ob_credential

V2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
KEY = KeyPair.from_seed(b"\x09" * 32)
SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]


def outcome(compute: Callable[[], Any]) -> tuple[Any, ...]:
    """("ok", result) or ("error", type, message): what a caller would see."""
    try:
        return ("ok", compute())
    except Exception as error:
        return ("error", type(error), str(error))


def variants(quads: list[rdfc.Quad]) -> list[str]:
    canonical = rdfc.canonicalize(quads)
    if not rdfc.order_is_ambiguous(canonical):
        return [canonical]
    return [canonical, rdfc.canonicalize(quads, utf16_order=True)]


def assert_same(document: Any, cache: ShapeCache) -> tuple[Any, ...]:
    """The cached path and the full algorithm agree on `document`."""
    expected = outcome(lambda: variants(to_quads(copy.deepcopy(document))))
    got = outcome(lambda: variants(cache.quads(copy.deepcopy(document))))
    assert got == expected
    return got


# --- strategies --------------------------------------------------------------------------

# Any text JSON can carry: every code point but surrogates (control characters, quotes,
# backslashes, newlines, U+2028, emoji, private use ... included).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
NAMES = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "Ada Lovelace",
            'Zoë "Z" O\'Brien',
            "line\nbreak\r\ttab",
            "back\\slash",
            "Ω≈ç√∫ 日本語 😀",
            "\u2028\u2029\x7f\x00",
            "\ue000\U0001f600",
            "ex:looks-like-a-term",
            "https://not.an.iri.here",
            "",
        ]
    ),
)
SEGMENT = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._~%", min_size=1, max_size=12)
UNICODE_SEGMENT = st.text(st.characters(min_codepoint=0xA0, max_codepoint=0x2FFF), max_size=6)


@st.composite
def iris(draw: st.DrawFn) -> str:
    """IRIs of many forms, and strings that are not absolute IRIs at all."""
    seg = draw(SEGMENT)
    form = draw(st.integers(0, 21))
    forms: list[Callable[[], str]] = [
        lambda: f"https://credo.example/c/{seg}",
        lambda: f"http://example.org/{seg}/{draw(UNICODE_SEGMENT)}?q={seg}#frag",
        lambda: f"urn:uuid:{draw(st.uuids())}",
        lambda: f"did:key:z6Mk{seg}",
        lambda: f"did:web:{seg}.example",
        lambda: f"did:example:{seg}",
        lambda: f"mailto:{draw(st.emails())}",
        lambda: f"tag:example.org,2024:{seg}",
        lambda: f"https://例え.jp/{draw(UNICODE_SEGMENT)}",
        lambda: f"https://ex.org/a^b|c`{{{seg}}}",  # characters N-Quads escapes in IRIs
        lambda: f"https://ex.org/{seg}\n",  # pyld takes a final newline as absolute
        lambda: f"xsd:{seg}",
        lambda: f"schema:{seg}",
        lambda: f"cred:{seg}",
        lambda: f"ob:{seg}",
        lambda: f"_:{seg}",  # a blank node
        lambda: f"/relative/{seg}",
        lambda: seg,
        lambda: f"https://ex.org/with space/{seg}",
        lambda: "",
        lambda: f"@{seg}",
        lambda: f"HTTPS://CREDO.EXAMPLE/{seg}",
    ]
    return forms[form]()


# Mostly absolute IRIs: what a valid credential carries.
GOOD_IRIS = st.one_of(
    st.builds(lambda s: f"https://credo.example/c/{s}", SEGMENT),
    st.builds(lambda u: f"urn:uuid:{u}", st.uuids()),
    st.builds(lambda s: f"did:key:z6Mk{s}", SEGMENT),
    st.builds(lambda s: f"did:web:{s}.example", SEGMENT),
    st.builds(lambda s, u: f"http://example.org/{s}/{u}#x", SEGMENT, UNICODE_SEGMENT),
)
ANY_IRIS = st.one_of(GOOD_IRIS, GOOD_IRIS, GOOD_IRIS, iris())

DATES = st.one_of(
    st.datetimes(
        min_value=datetime(1970, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.sampled_from(["2025-01-01T00:00:00.123+02:00", "2025-01-01", "not a date", ""]),
)
EMAILS = st.one_of(st.emails(), st.sampled_from(["ada@example.org", "zoë@例え.jp", "a+b@x"]))


def _maybe(draw: st.DrawFn, target: dict[str, Any], key: str, strategy: Any) -> None:
    if draw(st.booleans()):
        target[key] = draw(strategy)


@st.composite
def images(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(ANY_IRIS)
    image: dict[str, Any] = {"id": draw(ANY_IRIS), "type": "Image"}
    _maybe(draw, image, "caption", NAMES)
    return image


@st.composite
def profiles(draw: st.DrawFn, iri_pool: list[str]) -> Any:
    if draw(st.integers(0, 5)) == 0:
        return draw(ANY_IRIS)
    profile: dict[str, Any] = {
        "id": draw(st.sampled_from(iri_pool)),
        "type": draw(st.sampled_from([["Profile"], "Profile"])),
        "name": draw(NAMES),
    }
    _maybe(draw, profile, "url", st.one_of(ANY_IRIS, NAMES))
    _maybe(draw, profile, "email", EMAILS)
    _maybe(draw, profile, "phone", st.from_regex(r"\+[0-9]{6,12}", fullmatch=True))
    _maybe(draw, profile, "image", images())
    _maybe(draw, profile, "description", NAMES)
    return profile


@st.composite
def identity_objects(draw: st.DrawFn) -> dict[str, Any]:
    hashed = draw(st.booleans())
    identity: dict[str, Any] = {
        "type": "IdentityObject",
        "identityHash": (
            "sha256$" + draw(st.binary(min_size=32, max_size=32)).hex() if hashed else draw(EMAILS)
        ),
        "identityType": draw(st.sampled_from(["emailAddress", "url", "name", "ext:custom"])),
        "hashed": hashed,
    }
    _maybe(draw, identity, "salt", st.text("0123456789abcdef", max_size=32))
    return identity


@st.composite
def ob_credentials(draw: st.DrawFn) -> dict[str, Any]:
    """OB 3.0 credentials of many shapes, with IRIs sometimes equal across nodes (nodes
    that JSON-LD merges) or equal to a vocabulary IRI."""
    # A few IRIs some nodes share.
    pool = draw(st.lists(ANY_IRIS, min_size=1, max_size=3))
    if draw(st.integers(0, 3)) == 0:
        pool.append("https://purl.imsglobal.org/spec/vc/ob/vocab.html#Achievement")
    credential: dict[str, Any] = {"@context": [V2, OB]}
    if draw(st.integers(0, 7)) > 0:
        credential["id"] = draw(st.one_of(ANY_IRIS, st.sampled_from(pool)))
    credential["type"] = draw(
        st.sampled_from(
            [
                ["VerifiableCredential", "OpenBadgeCredential"],
                ["VerifiableCredential", "AchievementCredential"],
            ]
        )
    )
    credential["issuer"] = draw(profiles(pool))
    credential["validFrom"] = draw(DATES)
    _maybe(draw, credential, "validUntil", DATES)
    credential["name"] = draw(NAMES)
    _maybe(draw, credential, "description", NAMES)
    _maybe(draw, credential, "awardedDate", DATES)
    achievement: dict[str, Any] = {
        "type": ["Achievement"],
        "name": draw(NAMES),
        "description": draw(NAMES),
        "criteria": {"narrative": draw(NAMES)},
    }
    if draw(st.integers(0, 5)) > 0:
        achievement["id"] = draw(st.one_of(ANY_IRIS, st.sampled_from(pool)))
    if draw(st.booleans()):
        achievement["criteria"]["id"] = draw(ANY_IRIS)
    _maybe(draw, achievement, "image", images())
    _maybe(draw, achievement, "tag", st.lists(NAMES, max_size=4))
    _maybe(draw, achievement, "humanCode", NAMES)
    _maybe(draw, achievement, "creditsAvailable", st.sampled_from([1, 2.5, "3.5", -0.0]))
    if draw(st.booleans()):
        achievement["alignment"] = [
            {
                "type": ["Alignment"],
                "targetName": draw(NAMES),
                "targetUrl": draw(ANY_IRIS),
                "targetCode": draw(NAMES),
            }
            for _ in range(draw(st.integers(0, 2)))
        ]
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": draw(st.lists(identity_objects(), max_size=3)),
        "achievement": achievement,
    }
    if draw(st.booleans()):
        subject["id"] = draw(st.one_of(ANY_IRIS, st.sampled_from(pool)))
    _maybe(draw, subject, "name", NAMES)
    _maybe(draw, subject, "activityStartDate", DATES)
    _maybe(draw, subject, "image", images())
    credential["credentialSubject"] = subject
    if draw(st.integers(0, 3)) > 0:
        credential["credentialStatus"] = {
            "id": draw(ANY_IRIS),
            "type": "BitstringStatusListEntry",
            "statusPurpose": draw(st.sampled_from(["revocation", "suspension"])),
            "statusListIndex": str(draw(st.integers(0, 131071))),
            "statusListCredential": draw(ANY_IRIS),
        }
    if draw(st.integers(0, 3)) == 0:
        credential["evidence"] = [
            {"type": ["Evidence"], "name": draw(NAMES), "id": draw(ANY_IRIS)}
            for _ in range(draw(st.integers(1, 2)))
        ]
    return credential


def _leaf_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to the leaf strings outside `@context` and `type`."""
    if isinstance(node, dict):
        return [
            p
            for k, v in node.items()
            if k not in ("@context", "type")
            for p in _leaf_paths(v, (*path, k))
        ]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaf_paths(v, (*path, i))]
    return [path] if isinstance(node, str) else []


def _replace(document: Any, path: tuple[Any, ...], value: str) -> None:
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _same_shape_variants(
    draw: Callable[[st.SearchStrategy[Any]], Any], document: Any, count: int
) -> list[Any]:
    """`count` documents of `document`'s skeleton with other strings in its leaves (half of
    them redrawn from `values`, like values, half anything)."""
    paths = _leaf_paths(document)
    out = []
    for _ in range(count):
        variant = copy.deepcopy(document)
        for path in paths:
            if draw(st.booleans()):
                _replace(variant, path, draw(st.one_of(NAMES, ANY_IRIS)))
        out.append(variant)
    return out


# --- OB 3.0 credentials ------------------------------------------------------------------


@settings(
    max_examples=examples(2500),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ob_credentials())
def test_cached_nquads_equal_the_full_algorithm(credential: dict[str, Any]) -> None:
    expected = outcome(lambda: canonize_variants(credential, full=True))
    assert outcome(lambda: canonize_variants(credential)) == expected
    # Again: the second time surely comes from a template.
    assert outcome(lambda: canonize_variants(credential)) == expected


@settings(
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ob_credentials(), st.data())
def test_many_credentials_of_one_shape(credential: dict[str, Any], data: st.DataObject) -> None:
    """What a bulk does: one shape, other values each time, through one cache."""
    cache = new_shape_cache()
    documents = [credential, *_same_shape_variants(data.draw, credential, 6)]
    for document in documents:
        assert_same(document, cache)


@settings(
    max_examples=examples(400),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ob_credentials(), st.sampled_from(SUITES), DATES)
def test_signed_output_equals_the_full_algorithms(
    credential: dict[str, Any], cryptosuite: str, created: str
) -> None:
    created = created if created[:4].isdigit() and "T" in created else "2025-01-01T00:00:00Z"

    def signed(full: bool) -> dict[str, Any]:
        return sign(
            credential,
            key=KEY,
            cryptosuite=cryptosuite,
            verification_method=KEY.verification_method,
            created=created,
            full=full,
        )

    expected = outcome(lambda: signed(True))
    assert outcome(lambda: signed(False)) == expected
    if expected[0] == "ok":
        document = expected[1]
        assert verify(document, resolve=Resolver()).ok
        assert verify(document, resolve=Resolver(), full=True).ok


def test_a_bulk_of_one_shape_compiles_once() -> None:
    cache = new_shape_cache()
    credentials = []
    for n in range(300):
        credential = ob_credential(id=f"https://credo.example/c/cr_{n:05d}")
        credential["credentialSubject"]["name"] = f'Recipient "{n}"\nŽ😀'
        credential["credentialSubject"]["identifier"][0]["identityHash"] = f"sha256${n:064x}"
        credentials.append(credential)
    for credential in credentials:
        assert cache.quads(credential) == cache.quads(credential)
        assert rdfc.canonicalize(cache.quads(credential)) == canonize(credential, full=True)
    stats = cache.stats()
    assert stats["compiles"] == 1
    assert stats["fallbacks"] == 0
    assert stats["shapes"] == 1 and stats["templates"] == 1


def test_the_plan_of_an_ob_credential() -> None:
    cache = new_shape_cache()
    credential = ob_credential()
    cache.quads(credential)
    ((shape,),) = [tuple(cache._shapes.values())]
    kinds = dict(zip(_leaf_paths_all(credential), shape.plan.kinds, strict=True))
    assert kinds[("id",)] == IRI
    assert kinds[("issuer", "id")] == IRI
    assert kinds[("issuer", "name")] == LIT
    assert kinds[("issuer", "url")] == LIT  # an xsd:anyURI literal
    assert kinds[("credentialSubject", "name")] == LIT
    assert kinds[("credentialStatus", "statusListCredential")] == IRI  # @type: @id
    assert kinds[("validFrom",)] == LIT
    assert STRUCT not in shape.plan.kinds


def _leaf_paths_all(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths to the leaf strings in the order the skeleton lists them."""
    skip = ("@context", "type")
    if isinstance(node, dict):
        return [p for k, v in node.items() if k not in skip for p in _leaf_paths_all(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaf_paths_all(v, (*path, i))]
    return [path] if isinstance(node, str) else []


@pytest.mark.parametrize(
    "change",
    [
        {"id": "urn:uuid:0b7e2c9e-8d1f-4c0a-9a51-5b2f0f9c1d2e"},  # another IRI class
        {"id": "did:example:same", "issuer": {"id": "did:example:same", "name": "Org"}},
        # a node id equal to a vocabulary IRI the template holds as a constant
        {"id": "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Achievement"},
        {"id": "_:b0"},  # a blank node
        {"id": "xsd:string"},
        {"id": "https://ex.org/final-newline\n"},
        {"id": "https://ex.org/{needs}|escaping^`"},
        {"name": None},
        {"name": ["Teamwork", "Teamwork"]},  # duplicate values count once
        {"name": ""},
    ],
)
def test_edge_values_agree(change: dict[str, Any]) -> None:
    cache = new_shape_cache()
    assert_same(ob_credential(), cache)
    changed = ob_credential(**change)
    assert_same(changed, cache)
    assert_same(changed, cache)


@pytest.mark.parametrize(
    "value", ["relative/path", "", "https://ex.org/a b", "@keyword", "c:\\windows"]
)
def test_ids_that_are_not_iris_are_refused_like_the_full_algorithm(value: str) -> None:
    cache = new_shape_cache()
    assert_same(ob_credential(), cache)
    result = assert_same(ob_credential(id=value), cache)
    if value != "c:\\windows":  # (an IRI with the scheme "c")
        assert result[0] == "error"  # UndefinedTerms, or pyld's TypeError for "@keyword"
    # The shape still serves good documents from its template.
    before = cache.stats()["hits"]
    assert_same(ob_credential(id="https://credo.example/c/again"), cache)
    assert cache.stats()["hits"] == before + 1


def test_a_new_shape_runs_the_undefined_term_check() -> None:
    cache = new_shape_cache()
    credential = ob_credential()
    credential["credentialSubject"]["nickname"] = "Ada"
    for _ in range(2):
        with pytest.raises(UndefinedTerms, match="nickname"):
            cache.quads(credential)
    assert cache.stats()["templates"] == 0


def test_vocab_typed_values_are_part_of_the_key() -> None:
    """proofPurpose is `@type: @vocab`: its value is a term, never substituted."""
    cache = new_shape_cache()
    for purpose in ["assertionMethod", "authentication", "capabilityInvocation", "nope"]:
        config = {
            "@context": [V2],
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2025-01-01T00:00:00Z",
            "verificationMethod": KEY.verification_method,
            "proofPurpose": purpose,
        }
        assert_same(config, cache)
    ((shape,),) = [tuple(cache._shapes.values())]
    assert shape.plan.kinds[-1] == STRUCT


def test_shapes_are_bounded() -> None:
    cache = new_shape_cache(size=3, templates_per_shape=2)
    for n in range(8):
        credential = ob_credential()
        credential["credentialSubject"]["achievement"]["tag"] = ["x"] * n
        assert_same(credential, cache)
    for scheme in ["https://a", "urn:b", "did:c", "tag:d", "http://e"]:
        assert_same(ob_credential(id=f"{scheme}/1"), cache)
    stats = cache.stats()
    assert stats["shapes"] <= 3
    assert all(len(shape.templates) <= 2 for shape in cache._shapes.values())


def test_the_full_path_leaves_the_cache_alone(key: KeyPair) -> None:
    credential = ob_credential(id="https://credo.example/c/full-only-test-7f3a")
    credential["credentialSubject"]["achievement"]["tag"] = ["full", "only", "path", "x", "y"]
    before = SHAPES.stats()
    signed = sign(
        credential,
        key=key,
        cryptosuite="eddsa-rdfc-2022",
        verification_method=key.verification_method,
        created="2025-01-01T00:00:00Z",
        full=True,
    )
    assert verify(signed, resolve=Resolver(), full=True).ok
    after = SHAPES.stats()
    assert (after["compiles"], after["hits"]) == (before["compiles"], before["hits"])


def test_loaders_with_other_documents_have_their_own_templates() -> None:
    url = "https://contexts.example/v1"

    def loader(iri: str) -> DocumentLoader:
        return DocumentLoader({url: {"@context": {"thing": {"@id": iri, "@type": "@id"}}}})

    document = {"@context": [V2, url], "id": "https://ex.org/1", "thing": "https://ex.org/2"}
    cache = new_shape_cache()
    one, two = loader("https://one.example/thing"), loader("https://two.example/thing")
    assert cache.quads(document, loader=one) == to_quads(document, loader=one)
    assert cache.quads(document, loader=two) == to_quads(document, loader=two)
    assert cache.quads(document, loader=one) != cache.quads(document, loader=two)


def test_signing_from_many_threads_agrees_with_the_full_algorithm() -> None:
    credentials = []
    for n in range(160):
        credential = ob_credential(id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}")
        credential["credentialSubject"]["name"] = f"Name {n} ✓"
        if n % 3 == 0:
            credential["credentialSubject"]["achievement"]["tag"] = [f"t{n}"] * (n % 4)
        if n % 5 == 0:
            credential["issuer"]["id"] = f"https://issuer{n % 2}.example"
        credentials.append(credential)
    expected = [canonize(c, full=True) for c in credentials]
    cache = new_shape_cache()
    failures: list[str] = []

    def work(offset: int) -> None:
        for i in range(offset, offset + len(credentials)):
            n = i % len(credentials)
            if rdfc.canonicalize(cache.quads(credentials[n])) != expected[n]:
                failures.append(f"credential {n}")

    threads = [threading.Thread(target=work, args=(k * 20,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_iri_classes() -> None:
    assert iri_class("https://ex.org/x") == ("https", True)
    assert iri_class("did:key:z6Mk") == ("did", False)
    assert iri_class("_:b0") is None
    assert iri_class("relative") is None
    assert iri_class("https://ex.org/a b") is None
    assert iri_class(":x") is None


# --- any JSON-LD ---------------------------------------------------------------------------

FUZZ_CONTEXT: dict[str, Any] = {
    "@version": 1.1,
    "ex": "https://ex.org/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "kind": "@type",
    "ident": "@id",
    "val": "@value",
    "lang": "@language",
    "label": "ex:label",
    "ref": {"@id": "ex:ref", "@type": "@id"},
    "refs": {"@id": "ex:refs", "@type": "@id", "@container": "@list"},
    "status": {"@id": "ex:status", "@type": "@vocab"},
    "Active": "ex:Active",
    "data": {"@id": "ex:data", "@type": "@json"},
    "title": {"@id": "ex:title", "@container": "@language"},
    "note": {"@id": "ex:note", "@language": "fr"},
    "when": {"@id": "ex:when", "@type": "xsd:dateTime"},
    "count": {"@id": "ex:count", "@type": "xsd:integer"},
    "dbl": {"@id": "ex:dbl", "@type": "xsd:double"},
    "items": {"@id": "ex:items", "@container": "@list"},
    "byId": {"@id": "ex:byId", "@container": "@id"},
    "byIndex": {"@id": "ex:byIndex", "@container": "@index"},
    "byType": {"@id": "ex:byType", "@container": "@type"},
    "graph": {"@id": "ex:graph", "@container": "@graph"},
    "Thing": {"@id": "ex:Thing", "@context": {"extra": {"@id": "ex:extra", "@type": "@id"}}},
    "Other": "ex:Other",
    "child": {"@id": "ex:child", "@context": {"deep": "ex:deep", "ex2": "https://ex2.org/"}},
    "nothing": None,
}
GOOD_KEYS = [k for k in FUZZ_CONTEXT if not k.startswith("@") and k not in ("ex", "xsd")]
ODD_KEYS = [
    "@id",
    "@type",
    "@value",
    "@language",
    "@list",
    "extra",
    "deep",
    "ex:free",
    "ex2:x",
    "undefinedKey",
    "id",
    "type",
    "name",
]
# Mostly keys the context defines (documents JSON-LD accepts), some that may be refused.
FUZZ_KEYS = st.one_of(*[st.sampled_from(GOOD_KEYS)] * 5, st.sampled_from(ODD_KEYS))
FUZZ_STRINGS = st.one_of(
    NAMES,
    iris(),
    GOOD_IRIS,
    st.sampled_from(
        ["Active", "Thing", "Other", "ex:Active", "nothing", "en", "ltr", "_:b1", "2.50", "1e3"]
    ),
)
FUZZ_SCALARS = st.one_of(
    *[FUZZ_STRINGS] * 6,
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([1.5, -0.0, 1e21, 2**60]),
)


def fuzz_values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return FUZZ_SCALARS
    inner = fuzz_values(depth - 1)
    return st.one_of(
        FUZZ_SCALARS,
        st.lists(inner, max_size=3),
        st.dictionaries(FUZZ_KEYS, inner, max_size=4),
    )


@st.composite
def fuzz_documents(draw: st.DrawFn) -> dict[str, Any]:
    body = draw(st.dictionaries(FUZZ_KEYS, fuzz_values(2), max_size=6))
    context = [V2, FUZZ_CONTEXT] if draw(st.booleans()) else FUZZ_CONTEXT
    return {"@context": context, **body}


@settings(
    max_examples=examples(1000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fuzz_documents(), st.data())
def test_any_json_ld_agrees_with_the_full_algorithm(
    document: dict[str, Any], data: st.DataObject
) -> None:
    cache = new_shape_cache()
    for variant in [document, *_same_shape_variants(data.draw, document, 3), document]:
        assert_same(variant, cache)


@pytest.mark.parametrize(
    "documents",
    [
        # type-scoped context through an @type alias
        [{"kind": "Thing", "extra": "https://ex.org/e"}, {"kind": "Other", "label": "x"}],
        [{"kind": "Thing", "extra": "https://ex.org/e"}, {"kind": "Other", "extra": "y"}],
        # @vocab-typed: a term, a compact IRI, an absolute IRI
        [{"status": "Active"}, {"status": "ex:Gone"}, {"status": "https://ex.org/x"}],
        # JSON literals hold their strings verbatim, escaped as JSON
        [{"data": {"a": "x"}}, {"data": {"a": 'q"\n'}}, {"data": "just text"}],
        # language maps and a default language
        [{"title": {"en": "Hi", "fr": "Salut"}, "note": "n"}, {"title": {"en": "A", "fr": "B"}}],
        # value objects through aliases
        [{"label": {"val": "v", "lang": "en"}}, {"label": {"val": "w", "lang": "de"}}],
        # prefixes: compact IRIs expand, others stay
        [{"ident": "ex:one", "ref": "ex:two"}, {"ident": "ex:three", "ref": "https://x.org/4"}],
        [{"ref": ["https://a.org/1", "https://a.org/1"]}, {"ref": ["https://a.org/1", "ex:2"]}],
        # lists, index / id / type maps, graphs
        [{"refs": ["https://a.org/1", "https://a.org/2"]}, {"refs": ["urn:x:1", "urn:x:1"]}],
        [{"byIndex": {"k": {"label": "v"}}}, {"byIndex": {"k": {"label": "w"}}}],
        [
            {"byId": {"https://a.org/n": {"label": "v"}}},
            {"byId": {"https://a.org/n": {"label": "w"}}},
        ],
        [{"byType": {"Thing": "https://a.org/t"}}, {"byType": {"Thing": "ex:t"}}],
        [{"graph": {"ident": "https://a.org/g", "label": "in"}}, {"graph": {"label": "x"}}],
        # the same node twice: merged by JSON-LD, alike in the template
        [
            {"ident": "https://a.org/n", "child": {"ident": "https://a.org/m", "deep": "1"}},
            {"ident": "https://a.org/n", "child": {"ident": "https://a.org/n", "deep": "1"}},
            {"ident": "https://a.org/n", "child": {"ident": "ex:n", "deep": "1"}},
        ],
        # nodes merged by @id with conflicting indexes: refused alike
        [
            {
                "byIndex": {
                    "a": {"ident": f"https://a.org/{one}", "label": "p"},
                    "b": {"ident": f"{two}", "label": "q"},
                }
            }
            for one, two in [
                ("1", "https://a.org/2"),
                ("1", "https://a.org/1"),
                ("ns", "https://a.org/ns"),
                ("x", "ex:1"),
                ("x", "https://ex.org/ns#1"),
            ]
        ]
        + [
            {
                "byIndex": {
                    "a": {"ident": "ex:1", "label": "p"},
                    "b": {"ident": "https://ex.org/ns#1", "label": "q"},
                }
            }
        ],
        # numbers and booleans
        [{"count": 1, "label": True}, {"count": 1.0, "label": False}, {"count": -0.0}],
        # pyld writes strings typed xsd:double that read as numbers in canonical form
        [{"dbl": "abc"}, {"dbl": "3.5"}, {"dbl": " 1e3"}, {"dbl": "nan"}, {"dbl": "x"}],
        # a term defined as null
        [{"label": "x"}, {"nothing": "x"}],
    ],
)
def test_term_definitions_of_every_kind(documents: list[dict[str, Any]]) -> None:
    cache = new_shape_cache()
    for body in documents:
        for context in ([V2, FUZZ_CONTEXT], FUZZ_CONTEXT):
            assert_same({"@context": context, **body}, cache)
