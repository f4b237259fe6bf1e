"""Canonical forms: JCS (RFC 8785), RDFC-1.0 and canonical N-Quads, and the safe mode that
refuses what JSON-LD would silently drop."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credo.adapters.signing import (
    CanonicalizationLimit,
    InvalidDocument,
    UndefinedTerms,
    UnknownContext,
)
from credo.adapters.signing.canonical import canonize, jcs, to_quads
from credo.adapters.signing.rdfc import Quad, canonicalize, iri, literal, order_is_ambiguous
from tests.hypothesis_profiles import examples
from tests.unit.signing.conftest import ob_credential
from tests.unit.signing.nquads import parse

V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"

# --- JCS ---------------------------------------------------------------------------------


def test_jcs_rfc8785_example() -> None:
    # RFC 8785, section 3.2.3 (the input's numbers as JSON would parse them).
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert jcs(value) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740991, "9007199254740991"),
        (-9007199254740991, "-9007199254740991"),
    ],
)
def test_jcs_numbers_serialize_as_ecmascript_does(number: float, text: str) -> None:
    assert jcs(number) == text.encode()


@pytest.mark.parametrize("number", [2**53, -(2**53), float("nan"), float("inf")])
def test_jcs_refuses_numbers_javascript_cannot_hold(number: float) -> None:
    with pytest.raises(InvalidDocument):
        jcs({"n": number})


def test_jcs_sorts_keys_by_utf16_code_units() -> None:
    # RFC 8785, section 3.2.3: the emoji (a surrogate pair) sorts before U+FB33.
    value = {
        "\u20ac": 1,
        "\r": 2,
        "\ufb33": 3,
        "1": 4,
        "\U0001f600": 5,
        "\u0080": 6,
        "\u00f6": 7,
    }
    order = [2, 4, 6, 7, 1, 5, 3]
    assert jcs(value) == ("{" + ",".join(_pair(value, n) for n in order) + "}").encode()


def _pair(value: dict[str, int], n: int) -> str:
    key = next(k for k, v in value.items() if v == n)
    escaped = "\\r" if key == "\r" else key
    return f'"{escaped}":{n}'


# --- canonical N-Quads and RDFC-1.0 ------------------------------------------------------------


def test_literals_and_iris_use_canonical_escapes() -> None:
    assert (
        literal('\b\t\n\f\r"\\\x00\x1f\x7f é') == '"\\b\\t\\n\\f\\r\\"\\\\\\u0000\\u001F\\u007F é"'
    )
    assert literal("x", language="en") == '"x"@en'
    assert literal("1", "http://www.w3.org/2001/XMLSchema#integer") == (
        '"1"^^<http://www.w3.org/2001/XMLSchema#integer>'
    )
    assert iri("urn:x:a b<c>") == "<urn:x:a\\u0020b\\u003Cc\\u003E>"


def test_control_characters_in_a_credential_are_escaped() -> None:
    credential = ob_credential(name="tab\there, bell\x07, nul\x00")
    assert '"tab\\there, bell\\u0007, nul\\u0000"' in canonize(credential)


def test_blank_nodes_get_canonical_labels() -> None:
    nquads = canonize(ob_credential())
    assert "_:c14n0" in nquads
    assert "_:b0" not in nquads


def test_a_circle_needs_deep_inspection_within_the_work_limit() -> None:
    circle = parse("_:e0 <urn:ex:next> _:e1 .\n_:e1 <urn:ex:next> _:e0 .\n")
    expected = "_:c14n0 <urn:ex:next> _:c14n1 .\n_:c14n1 <urn:ex:next> _:c14n0 .\n"
    assert canonicalize(circle, max_work_factor=2) == expected
    # rdf-canonize's default (work factor 1) refuses it, and so does Credo's.
    with pytest.raises(CanonicalizationLimit):
        canonicalize(circle)


def _clique(n: int) -> list[Quad]:
    return [(f"_:n{a}", "<urn:ex:p>", f"_:n{b}", "") for a in range(n) for b in range(n) if a != b]


def test_a_poison_clique_is_refused_quickly() -> None:
    # The RDFC-1.0 test suite's poison example is a 10-node clique: without a limit it runs
    # for hours. (The whole W3C rdf-canon suite, 64 evaluation tests, passed when run with
    # the per-test work factors; it is not vendored here.)
    with pytest.raises(CanonicalizationLimit):
        canonicalize(_clique(10))
    with pytest.raises(CanonicalizationLimit):
        canonicalize(_clique(10), max_work_factor=3)


def test_duplicate_quads_count_once() -> None:
    quads = parse("<urn:s> <urn:p> _:o .\n<urn:s> <urn:p> _:o .\n")
    assert canonicalize(quads) == "<urn:s> <urn:p> _:c14n0 .\n"


def test_named_graphs_are_canonicalized() -> None:
    quads = parse('_:s <urn:p> "v" _:g .\n_:g <urn:p> <urn:o> .\n')
    assert canonicalize(quads) == ('_:c14n0 <urn:p> <urn:o> .\n_:c14n1 <urn:p> "v" _:c14n0 .\n')


_LABELS = [f"_:n{i}" for i in range(6)]
_TERMS = st.sampled_from([*_LABELS, "<urn:ex:a>", "<urn:ex:b>", '"v"', '"w"@en'])


@st.composite
def _datasets(draw: st.DrawFn) -> list[Quad]:
    quads = draw(
        st.lists(
            st.tuples(
                st.sampled_from([*_LABELS, "<urn:ex:a>"]),
                st.sampled_from(["<urn:ex:p>", "<urn:ex:q>"]),
                _TERMS,
                st.sampled_from(["", "", "<urn:ex:g>", "_:n5"]),
            ),
            max_size=12,
        )
    )
    return quads


@settings(max_examples=examples(150), deadline=None)
@given(_datasets(), st.randoms(use_true_random=False))
def test_canonical_form_ignores_blank_node_labels_and_order(
    quads: list[Quad], rnd: random.Random
) -> None:
    relabel = dict(zip(_LABELS, rnd.sample([f"_:x{i}" for i in range(6)], 6), strict=True))
    renamed = [tuple(relabel.get(t, t) for t in quad) for quad in quads]
    rnd.shuffle(renamed)
    expected = canonicalize(quads, max_work_factor=None)
    assert canonicalize(renamed, max_work_factor=None) == expected  # type: ignore[arg-type]


# --- safe mode: undefined terms ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "term"),
    [
        ({"favoriteColor": "blue"}, "favoriteColor"),
        ({"type": ["VerifiableCredential", "OpenBadgeCredential", "MyBadge"]}, "MyBadge"),
        ({"id": "not-an-absolute-iri"}, "not-an-absolute-iri"),
        ({"issuer": {"id": "https://u.example", "type": ["Profile"], "motto": "x"}}, "motto"),
    ],
)
def test_undefined_terms_are_named(change: dict[str, Any], term: str) -> None:
    with pytest.raises(UndefinedTerms) as refused:
        to_quads(ob_credential(**change))
    assert term in refused.value.terms
    assert term in str(refused.value)
    assert refused.value.code == "undefined_terms"
    assert refused.value.status == 422


def test_an_undefined_term_deep_inside_is_named() -> None:
    credential = ob_credential()
    credential["credentialSubject"]["achievement"]["criteria"]["level"] = "gold"
    with pytest.raises(UndefinedTerms) as refused:
        to_quads(credential)
    assert refused.value.terms == ["level"]


def test_a_term_defined_as_null_is_refused() -> None:
    credential = ob_credential(secret="x")
    credential["@context"] = [*credential["@context"], {"secret": None}]
    with pytest.raises(UndefinedTerms, match="null"):
        to_quads(credential)


def test_vc_1_1_undefined_terms_are_refused() -> None:
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": "did:example:issuer",
        "issuanceDate": "2020-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "alumniOf": "Example University"},
    }
    with pytest.raises(UndefinedTerms) as refused:
        to_quads(credential)
    assert refused.value.terms == ["alumniOf"]


def test_terms_defined_by_a_vocabulary_are_accepted() -> None:
    # The W3C "undefined terms" context maps every other term to an explicit vocabulary.
    credential = ob_credential(favoriteColor="blue")
    credential["@context"] = [*credential["@context"], V2.replace("v2", "undefined-terms/v2")]
    assert "https://www.w3.org/ns/credentials/undefined-term#favoriteColor" in canonize(credential)


def test_an_empty_document_is_refused() -> None:
    with pytest.raises(UndefinedTerms):
        to_quads({"@context": [V2]})
    with pytest.raises(InvalidDocument):
        to_quads(["not", "an", "object"])


def test_invalid_json_ld_is_an_invalid_document() -> None:
    with pytest.raises(InvalidDocument, match="invalid JSON-LD"):
        to_quads({"@context": [V2], "@id": 5})


# --- unknown contexts -----------------------------------------------------------------------


def test_unknown_remote_contexts_are_refused_without_network(no_network: list[str]) -> None:
    credential = ob_credential()
    credential["@context"] = [*credential["@context"], "https://evil.example/context.jsonld"]
    with pytest.raises(UnknownContext) as refused:
        canonize(credential)
    assert refused.value.url == "https://evil.example/context.jsonld"
    assert refused.value.code == "unknown_context"
    assert no_network == []


def test_unknown_scoped_contexts_are_refused_too(no_network: list[str]) -> None:
    credential = ob_credential(extra={"x": 1})
    credential["@context"] = [
        *credential["@context"],
        {"extra": {"@id": "urn:ex:extra", "@context": "https://evil.example/scoped"}},
    ]
    with pytest.raises(UnknownContext):
        canonize(credential)
    assert no_network == []


def test_shipped_contexts_need_no_network(no_network: list[str]) -> None:
    assert canonize({"@context": [V2, EXAMPLES], "id": "urn:ex:1", "name": "x"})
    assert no_network == []


# Text whose order by code point and by UTF-16 code unit may disagree: ASCII, a character
# in U+E000..U+FFFF and one beyond U+FFFF, in blank node labels too.
_WIDE = st.text(st.sampled_from(["a", "z", "\ue000", "\uff01", "\U0001f600", "\U00010000"]))


@st.composite
def _wide_datasets(draw: st.DrawFn) -> list[Quad]:
    labels = [f"_:{draw(_WIDE)}n{i}" for i in range(4)]
    term = st.one_of(
        st.sampled_from(labels),
        _WIDE.map(lambda t: iri(f"urn:ex:{t}")),
        _WIDE.map(literal),
    )
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from([*labels, "<urn:ex:s>"]), st.just("<urn:ex:p>"), term, st.just("")
            ),
            max_size=8,
        )
    )


@settings(max_examples=examples(300), deadline=None)
@given(_wide_datasets())
def test_orders_can_differ_only_when_the_canonical_text_says_so(quads: list[Quad]) -> None:
    """What canonize_variants relies on: when the canonical N-Quads do not hold both kinds
    of character, sorting by UTF-16 code units gives the same canonical form."""
    canonical = canonicalize(quads, max_work_factor=None)
    if not order_is_ambiguous(canonical):
        assert canonicalize(quads, max_work_factor=None, utf16_order=True) == canonical


def test_an_order_that_differs_is_found() -> None:
    quads = [("<urn:ex:s>", "<urn:ex:p>", literal(t), "") for t in ("\U0001f600", "\uff01")]
    canonical = canonicalize(quads)
    assert order_is_ambiguous(canonical)
    assert canonicalize(quads, utf16_order=True) != canonical
