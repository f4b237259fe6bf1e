"""RDF Dataset Canonicalization (W3C RDFC-1.0) and canonical N-Quads.

A quad is four strings already in N-Quads form: subject, predicate, object and graph name
(`""` for the default graph), e.g. `("_:b0", "<https://schema.org/name>", '"Ada"', "")`. Blank
nodes are the terms starting with `_:`. Keeping terms serialized makes hashing and the final
serialization string joins.

The algorithm follows the specification step by step (section numbers in comments), with
the two liberties Digital Bazaar's `rdf-canonize` takes and the specification permits: the
"simple" loop of step 5 runs once (first-degree hashes never change), and blank nodes with
unique first-degree hashes are labelled in hash order directly. Poisoned datasets are refused:
Hash N-Degree Quads may run at most (number of blank nodes with shared hashes) **
`max_work_factor` times, like `rdf-canonize`'s default, else `CanonicalizationLimit`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from itertools import permutations

from credo.domain.errors import CanonicalizationLimit

Quad = tuple[str, str, str, str]

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

# Canonical N-Quads (RDF 1.2 N-Quads, "canonical form", as RDFC-1.0 requires): in literals,
# \b \t \n \f \r " and \ use ECHAR, other control characters UCHAR; in IRIs, the characters
# N-Quads forbids use UCHAR. Hex digits upper case.
_LITERAL_ESCAPES = {chr(c): f"\\u{c:04X}" for c in [*range(0x20), 0x7F]}
_LITERAL_ESCAPES.update(
    {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
)
_LITERAL_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')
_IRI_NEEDS_ESCAPE = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_IRI_UNESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def iri(value: str) -> str:
    if _IRI_NEEDS_ESCAPE.search(value):
        value = _IRI_NEEDS_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04X}", value)
    return f"<{value}>"


def literal(value: str, datatype: str = XSD_STRING, language: str | None = None) -> str:
    if _LITERAL_NEEDS_ESCAPE.search(value):
        value = _LITERAL_NEEDS_ESCAPE.sub(lambda m: _LITERAL_ESCAPES[m.group()], value)
    if language:
        return f'"{value}"@{language}'
    if datatype in (XSD_STRING, RDF_LANGSTRING):
        return f'"{value}"'
    return f'"{value}"^^{iri(datatype)}'


def serialize(subject: str, predicate: str, object_: str, graph: str) -> str:
    if graph:
        return f"{subject} {predicate} {object_} {graph} .\n"
    return f"{subject} {predicate} {object_} .\n"


def _iri_value(term: str) -> str:
    """The IRI inside an `<...>` term, unescaped (Hash Related Blank Node hashes the raw
    predicate IRI)."""
    inner = term[1:-1]
    if "\\" not in inner:
        return inner
    return _IRI_UNESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), inner)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Issuer:
    """4.5 Issue Identifier: `issued` maps old to new identifiers in issue order."""

    __slots__ = ("counter", "issued", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.counter = 0
        self.issued: dict[str, str] = {}

    def issue(self, old: str) -> str:
        new = self.issued.get(old)
        if new is None:
            new = f"{self.prefix}{self.counter}"
            self.counter += 1
            self.issued[old] = new
        return new

    def copy(self) -> _Issuer:
        twin = _Issuer(self.prefix)
        twin.counter = self.counter
        twin.issued = dict(self.issued)
        return twin


class _Canonicalizer:
    def __init__(self, quads: list[Quad], max_work_factor: int | None, utf16_order: bool) -> None:
        self.quads = quads
        self.sort_key = _utf16 if utf16_order else None
        self.max_work_factor = max_work_factor
        self.remaining = 0
        self.canonical = _Issuer("_:c14n")
        # 4.4.3 (2) blank node to quads map; a dict used as an insertion-ordered set.
        self.quads_of: dict[str, dict[Quad, None]] = {}
        self.first_degree: dict[str, str] = {}
        for quad in quads:
            for term in (quad[0], quad[2], quad[3]):
                if term.startswith("_:"):
                    self.quads_of.setdefault(term, {})[quad] = None

    def run(self) -> str:
        # 4.4.3 (5.3) first-degree hashes
        by_hash: dict[str, list[str]] = {}
        for node in self.quads_of:
            digest = self.hash_first_degree(node)
            self.first_degree[node] = digest
            by_hash.setdefault(digest, []).append(node)
        # (5.4) unique hashes get canonical identifiers in hash order
        shared: list[list[str]] = []
        for digest in sorted(by_hash):
            nodes = by_hash[digest]
            if len(nodes) > 1:
                shared.append(nodes)
            else:
                self.canonical.issue(nodes[0])
        if self.max_work_factor is None:
            self.remaining = -1  # never reaches 0: no limit
        else:
            self.remaining = sum(len(nodes) for nodes in shared) ** self.max_work_factor
        # (6) the rest, by N-degree hashes
        for nodes in shared:
            paths: list[tuple[str, _Issuer]] = []
            for node in nodes:
                if node in self.canonical.issued:
                    continue
                issuer = _Issuer("_:b")
                issuer.issue(node)
                paths.append(self.hash_n_degree(node, issuer))
            paths.sort(key=lambda result: result[0])
            for _digest, issuer in paths:
                for existing in issuer.issued:
                    self.canonical.issue(existing)
        # (7) relabel, serialize, sort in code point order (UTF-8 byte order)
        label = self.canonical.issued
        lines = [
            serialize(
                label.get(s, s) if s.startswith("_:") else s,
                p,
                label.get(o, o) if o.startswith("_:") else o,
                label.get(g, g) if g.startswith("_:") else g,
            )
            for s, p, o, g in self.quads
        ]
        lines.sort(key=self.sort_key)
        return "".join(lines)

    def hash_first_degree(self, node: str) -> str:
        """4.6 Hash First Degree Quads."""
        lines = []
        for s, p, o, g in self.quads_of[node]:
            lines.append(
                serialize(
                    ("_:a" if s == node else "_:z") if s.startswith("_:") else s,
                    p,
                    ("_:a" if o == node else "_:z") if o.startswith("_:") else o,
                    ("_:a" if g == node else "_:z") if g.startswith("_:") else g,
                )
            )
        lines.sort(key=self.sort_key)
        return _sha256("".join(lines))

    def hash_related(self, related: str, quad: Quad, issuer: _Issuer, position: str) -> str:
        """4.7 Hash Related Blank Node."""
        label = self.canonical.issued.get(related) or issuer.issued.get(related)
        if label is None:
            label = self.first_degree[related]
        predicate = "" if position == "g" else f"<{_iri_value(quad[1])}>"
        return _sha256(position + predicate + label)

    def hash_n_degree(self, node: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """4.8 Hash N-Degree Quads; returns the hash and the issuer it chose."""
        if self.remaining == 0:
            raise CanonicalizationLimit(
                "the document's blank nodes need more canonicalization work than allowed"
            )
        self.remaining -= 1
        # (1-3) hash to related blank nodes map
        related_by_hash: dict[str, list[str]] = {}
        for quad in self.quads_of[node]:
            for term, position in ((quad[0], "s"), (quad[2], "o"), (quad[3], "g")):
                if term.startswith("_:") and term != node:
                    digest = self.hash_related(term, quad, issuer, position)
                    related_by_hash.setdefault(digest, []).append(term)
        canonical = self.canonical.issued
        data = hashlib.sha256()
        # (5)
        for digest in sorted(related_by_hash):
            data.update(digest.encode("ascii"))
            chosen_path = ""
            chosen_issuer: _Issuer | None = None
            for permutation in permutations(related_by_hash[digest]):
                issuer_copy = issuer.copy()
                path = ""
                recursion: list[str] = []
                skip = False
                for related in permutation:
                    if related in canonical:
                        path += canonical[related]
                    else:
                        if related not in issuer_copy.issued:
                            recursion.append(related)
                        path += issuer_copy.issue(related)
                    # (5.4.4.3) a longer or larger path can never be chosen
                    if chosen_path and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, result_issuer = self.hash_n_degree(related, issuer_copy)
                    path += issuer_copy.issue(related)
                    path += f"<{result_hash}>"
                    issuer_copy = result_issuer
                    if chosen_path and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path = path
                    chosen_issuer = issuer_copy
            data.update(chosen_path.encode("utf-8"))
            assert chosen_issuer is not None  # the first permutation is always chosen
            issuer = chosen_issuer
        return data.hexdigest(), issuer


def _utf16(line: str) -> bytes:
    return line.encode("utf-16-be", "surrogatepass")


def canonicalize(
    quads: Iterable[Quad], *, max_work_factor: int | None = 1, utf16_order: bool = False
) -> str:
    """The canonical N-Quads of a dataset (RDFC-1.0 with SHA-256). `max_work_factor=None`
    lifts the poison-dataset limit (only for trusted input). `utf16_order` sorts N-Quads by
    UTF-16 code units, as JavaScript implementations (rdf-canonize) do, instead of by code
    points as RDFC-1.0 says; see `order_is_ambiguous`."""
    # A dataset is a set: duplicate quads count once.
    return _Canonicalizer(list(dict.fromkeys(quads)), max_work_factor, utf16_order).run()


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_HIGH_BMP = re.compile("[\ue000-\uffff]")


def order_is_ambiguous(canonical: str) -> bool:
    """True when sorting by UTF-16 code units could differ from code point order: only when
    the text holds both a character beyond U+FFFF and one in U+E000..U+FFFF. `canonical`
    is the dataset's canonical N-Quads: every term that is sorted is in it, as it is
    (N-Quads escapes only ASCII characters; the input's blank node labels, which it does
    not keep, never decide an order). Then `canonicalize(..., utf16_order=True)` may give
    another result."""
    if canonical.isascii():  # nearly every credential: one pass in C, no regex
        return False
    return bool(_ASTRAL.search(canonical) and _HIGH_BMP.search(canonical))
