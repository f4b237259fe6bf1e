"""A per-shape cache of the JSON-LD -> RDF conversion, so that signing many documents of one
shape (a bulk publish: one credential per recipient of a group) runs JSON-LD once, not once
per document, with the same canonical N-Quads, byte for byte.

The shape. A document's *skeleton* is its JSON structure with the leaf strings left out: the
keys in order, nesting, array lengths, which leaves are strings, numbers (with their value),
booleans or null, and, whole, the values of the keys that steer JSON-LD processing itself
(`@context`, `type`, `@type`, `@language`, `@direction`, `@index` ...). Contexts, scoped
contexts and so term definitions are then fixed: what JSON-LD does with a leaf string
depends only on the skeleton, except for strings it expands as IRIs.

The plan (one per skeleton, learned). Each leaf string is one of
- LIT: it becomes a literal whose lexical form is the string as it is (datatype and
  language come from the context): any string there gives the same quads but for that term;
- IRI: it is expanded as an IRI without the vocabulary (`id`, `@type: @id` properties).
  The result is the string as it is exactly when the string is an absolute IRI whose scheme
  is not a prefix the context defines (nor `_`, a blank node): that depends only on its
  *class*, (scheme, whether `//` follows the colon), so the plan notes, per class, whether
  it was seen to stay verbatim; a string of any other class is kept in the key as it is;
- STRUCT: anything else (expanded against the vocabulary: `@vocab`-typed values, `@type`
  aliases; JSON literals; xsd:double literals, which pyld rewrites when the string reads as
  a number; dropped values; a keyword's value ...): kept in the key as it is.

The template (one per key: skeleton + the STRUCT strings + the classes of the IRI strings +
which IRI strings are equal, so that nodes JSON-LD merges by `@id` are merged alike). To
learn a plan and build a template, the document is converted once by the full algorithm
(`probe`, in safe mode) with every substitutable leaf replaced by a unique placeholder (of
the leaf's class), then each placeholder is looked for in the quads: a LIT placeholder must
be the whole lexical form of exactly one literal, an IRI placeholder the whole of every IRI
term it appears in (never an `rdf:type` object, never expanded against the vocabulary).
Anything else demotes the leaf (to STRUCT, or its class to non-verbatim) and the probe runs
again with the real value there; a probe that fails names the placeholders it tripped on
(they are demoted the same way). A template is used only once a probe confirmed every
placeholder of exactly that template.

A document whose key has a template skips JSON-LD: its strings are escaped into the
template's terms (RDFC-1.0 then labels blank nodes and sorts, as for any dataset). An IRI
string equal to an IRI the template holds as a constant would merge nodes the template kept
apart: that document takes the full path. So do documents that are not plain JSON (other
types than dict, list, str, int, float, bool, None), skeletons whose probes keep failing
while the full algorithm accepts the document (marked full-only), and loaders serving
other documents than the shipped contexts (each such loader has its own namespace).

Safe mode holds: a probe is the full algorithm in safe mode; the placeholders and the real
values it stands for pass or fail its checks alike (literals are never checked; verbatim
IRIs of one class are all absolute), so a key whose template exists is known to pass; a new
key runs the full check. Bounded: `size` skeletons (least recently used go first), each
with at most `templates_per_shape` templates. Thread-safe (one lock around the maps;
probes run outside it, with the caller's loader).
"""

from __future__ import annotations

import re
import secrets
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, Final, Protocol

from pyld import jsonld

from credo.adapters.signing import rdfc
from credo.adapters.signing.loader import DocumentLoader

Quad = rdfc.Quad
# (scheme, whether "//" follows the colon)
IriClass = tuple[str, bool]


class Probe(Protocol):
    """The full conversion of a template in safe mode, noting in `hits` every string with
    `marker` it expands as an IRI against the vocabulary."""

    def __call__(
        self, document: Any, loader: DocumentLoader | None, marker: str, hits: list[str]
    ) -> list[Quad]: ...


class FullConversion(Protocol):
    def __call__(self, document: Any, *, loader: DocumentLoader | None = None) -> list[Quad]: ...


# Keys whose whole value is part of the skeleton: they steer JSON-LD processing.
STRUCTURAL_KEYS: Final = frozenset(
    {
        "@context",
        "type",
        "@type",
        "@language",
        "@direction",
        "@index",
        "@base",
        "@vocab",
        "@version",
        "@protected",
        "@propagate",
        "@import",
        "@prefix",
        "@container",
    }
)

RDF_TYPE: Final = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
# Literal datatypes whose lexical form pyld derives from the string's content: a string
# typed xsd:double that reads as a number is written in canonical double form ("3.5E0").
CONTENT_DEPENDENT_SUFFIXES: Final = frozenset({"^^<http://www.w3.org/2001/XMLSchema#double>"})

# Placeholders: "<marker><n>z", or "<scheme>:[//]<marker><n>z" for a leaf of that IRI class.
# The marker is random per process, so a document cannot forge one.
MARKER: Final = "q" + secrets.token_hex(8) + "n"
_PLACEHOLDER_ID = re.compile(re.escape(MARKER) + r"(\d+)z")

UNKNOWN, LIT, IRI, STRUCT = 0, 1, 2, 3
_MAX_ROUNDS = 8
_NO_CACHE: Final = object()


class _Token:
    """Skeleton tokens: equal only to themselves, so never to a key or a scalar."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


_STR = _Token("str")
_DICT = _Token("{")
_LIST = _Token("[")
_END = _Token("end")
_NULL = _Token("null")
_TRUE = _Token("true")
_FALSE = _Token("false")
_INT = _Token("int")
_FLOAT = _Token("float")


class _Unsupported(Exception):
    """Not plain JSON: the full algorithm decides what it makes of it."""


def _walk(node: Any, out: list[Any], leaves: list[str], frozen: bool) -> None:
    """Append `node`'s skeleton tokens to `out` and its leaf strings to `leaves` (in a
    structural value, strings are skeleton tokens themselves)."""
    kind = type(node)
    if kind is str:
        if frozen:
            out.append(node)
        else:
            out.append(_STR)
            leaves.append(node)
    elif kind is dict:
        out.append(_DICT)
        for key, value in node.items():
            if type(key) is not str:
                raise _Unsupported
            out.append(key)
            _walk(value, out, leaves, frozen or key in STRUCTURAL_KEYS)
        out.append(_END)
    elif kind is list:
        out.append(_LIST)
        for item in node:
            _walk(item, out, leaves, frozen)
        out.append(_END)
    elif node is None:
        out.append(_NULL)
    elif node is True:
        out.append(_TRUE)
    elif node is False:
        out.append(_FALSE)
    elif kind is int:
        out.append((_INT, node))
    elif kind is float:
        out.append((_FLOAT, repr(node)))  # repr: -0.0 is not 0.0 for JSON-LD
    else:
        raise _Unsupported


def _rebuild(node: Any, leaves: Iterator[str], frozen: bool = False) -> Any:
    """`node` with its leaf strings replaced, in `_walk` order, by `leaves`."""
    kind = type(node)
    if kind is str:
        return node if frozen else next(leaves)
    if kind is dict:
        return {
            key: _rebuild(value, leaves, frozen or key in STRUCTURAL_KEYS)
            for key, value in node.items()
        }
    if kind is list:
        return [_rebuild(item, leaves, frozen) for item in node]
    return node


def iri_class(value: str) -> IriClass | None:
    """The class deciding whether JSON-LD keeps `value` verbatim as an IRI (not against the
    vocabulary): None when it cannot (no scheme, a blank node, not an absolute IRI)."""
    colon = value.find(":")
    if colon <= 0:
        return None
    scheme = value[:colon]
    if scheme == "_" or not jsonld._is_absolute_iri(value):
        return None
    return (scheme, value.startswith("//", colon + 1))


def placeholder(n: int, cls: IriClass | None) -> str:
    body = f"{MARKER}{n}z"
    if cls is None:
        return body
    scheme, slashes = cls
    return f"{scheme}:{'//' if slashes else ''}{body}"


def _ids(text: str) -> set[int]:
    return {int(found) for found in _PLACEHOLDER_ID.findall(text)} if MARKER in text else set()


class _Group:
    """One placeholder of a template: the leaves it stands for (several for equal IRIs)."""

    __slots__ = ("cls", "kind", "placeholder", "positions")

    def __init__(self, kind: int, cls: IriClass | None, leader: int) -> None:
        self.kind = kind
        self.cls = cls
        self.placeholder = placeholder(leader, cls)
        self.positions = [leader]


class Plan:
    """What each leaf string of a skeleton is (UNKNOWN, LIT, IRI, STRUCT) and, for IRI
    leaves, which classes stay verbatim. Immutable: learning makes a new plan."""

    __slots__ = ("_complete", "_iri", "_struct", "classes", "full_only", "kinds")

    def __init__(
        self,
        kinds: tuple[int, ...],
        classes: tuple[Mapping[IriClass, bool], ...],
        full_only: bool = False,
    ) -> None:
        self.kinds = kinds
        self.classes = classes
        self.full_only = full_only
        self._struct = tuple(i for i, kind in enumerate(kinds) if kind == STRUCT)
        self._iri = tuple(i for i, kind in enumerate(kinds) if kind == IRI)
        self._complete = not full_only and UNKNOWN not in kinds

    @classmethod
    def initial(cls, leaves: int) -> Plan:
        return cls((UNKNOWN,) * leaves, ({},) * leaves)

    def key(self, leaves: list[str]) -> tuple[Any, ...] | None:
        """The template key of a document with these leaves, or None when the plan does not
        know enough yet (a leaf or an IRI class not seen)."""
        if not self._complete:
            return None
        key: list[Any] = [leaves[i] for i in self._struct]
        seen: dict[str, int] = {}
        classes = self.classes
        for i in self._iri:
            value = leaves[i]
            cls = iri_class(value)
            verbatim = None if cls is None else classes[i].get(cls, None)
            if cls is None or verbatim is False:
                key.append((0, value))
            elif verbatim is None:
                return None
            else:
                first = seen.setdefault(value, i)
                key.append(cls if first == i else (1, first))
        return tuple(key)

    def template(self, leaves: list[str]) -> tuple[list[str], dict[int, _Group]]:
        """The leaves of the probe document and its placeholders (by leader index)."""
        out: list[str] = []
        groups: dict[int, _Group] = {}
        seen: dict[str, int] = {}
        for i, value in enumerate(leaves):
            kind = self.kinds[i]
            if kind == STRUCT:
                out.append(value)
                continue
            cls = iri_class(value)
            if kind == IRI:
                if cls is None or self.classes[i].get(cls) is False:
                    out.append(value)
                    continue
                leader = seen.setdefault(value, i)
                group = groups.get(leader)
                if group is None:
                    group = groups[leader] = _Group(IRI, cls, leader)
                else:
                    group.positions.append(i)
                out.append(group.placeholder)
            else:
                group = groups[i] = _Group(kind, cls, i)
                out.append(group.placeholder)
        return out, groups

    def learn(
        self, groups: Mapping[int, _Group], verdicts: Mapping[int, str | None], vocab: set[int]
    ) -> Plan:
        """A plan updated by a probe: verdicts[leader] is "L" (an exact literal), "I" (an
        exact IRI) or None (anything else); `vocab` the leaders expanded against the
        vocabulary."""
        kinds = list(self.kinds)
        classes = [dict(c) for c in self.classes]
        for leader in set(verdicts) | (vocab & groups.keys()):
            group = groups[leader]
            verdict = verdicts.get(leader)
            for i in group.positions:
                kind = kinds[i]
                if leader in vocab:
                    kinds[i] = STRUCT
                elif kind == UNKNOWN:
                    if verdict == "L":
                        kinds[i] = LIT
                    else:
                        kinds[i] = IRI
                        if group.cls is not None:
                            classes[i][group.cls] = verdict == "I"
                elif kind == LIT:
                    if verdict != "L":
                        kinds[i] = STRUCT
                elif kind == IRI and group.cls is not None:
                    if verdict == "L":
                        kinds[i] = STRUCT
                    else:
                        classes[i][group.cls] = verdict == "I"
        return Plan(tuple(kinds), tuple(classes))

    def as_full_only(self) -> Plan:
        return Plan(self.kinds, self.classes, full_only=True)


def _classify(
    quads: list[Quad], groups: Mapping[int, _Group], hits: list[str]
) -> tuple[dict[int, str | None], dict[int, str], set[int]]:
    """Where each placeholder ended up: verdicts by leader ("L", "I" or None), the literal
    suffix (`@lang`, `^^<datatype>` or "") of each "L", and the leaders found in `hits`."""
    vocab = {i for hit in hits for i in _ids(hit)}
    bad = set(vocab)
    literal_at: dict[int, list[str]] = {leader: [] for leader in groups}
    iri_count: dict[int, int] = dict.fromkeys(groups, 0)
    for s, p, o, g in quads:
        if MARKER in p:
            bad |= _ids(p)
        for position, term in ((0, s), (2, o), (3, g)):
            if MARKER not in term:
                continue
            found = _ids(term)
            if len(found) == 1:
                (leader,) = found
                group = groups.get(leader)
                if group is not None:
                    ph = group.placeholder
                    if term == f"<{ph}>" and not (position == 2 and p == RDF_TYPE):
                        iri_count[leader] += 1
                        continue
                    if position == 2 and term.startswith(f'"{ph}"'):
                        suffix = term[len(ph) + 2 :]
                        if MARKER not in suffix and suffix not in CONTENT_DEPENDENT_SUFFIXES:
                            literal_at[leader].append(suffix)
                            continue
            bad |= found
    verdicts: dict[int, str | None] = {}
    suffixes: dict[int, str] = {}
    for leader in groups:
        literals, iris = literal_at[leader], iri_count[leader]
        if leader in bad:
            verdicts[leader] = None
        elif len(literals) == 1 and iris == 0:
            verdicts[leader] = "L"
            suffixes[leader] = literals[0]
        elif iris > 0 and not literals and groups[leader].cls is not None:
            verdicts[leader] = "I"
        else:
            verdicts[leader] = None
    return verdicts, suffixes, vocab


class Template:
    """The quads of one key, with slots for the leaf strings: literal slots first (leaf
    index, suffix of the term), then IRI slots (leaf index)."""

    __slots__ = ("constant_iris", "fixed", "iris", "literals", "variable")

    def __init__(
        self, quads: list[Quad], groups: Mapping[int, _Group], suffixes: Mapping[int, str]
    ) -> None:
        slot: dict[str, int] = {}
        literals: list[tuple[int, str]] = []
        iris: list[int] = []
        for leader, suffix in suffixes.items():
            slot[f'"{groups[leader].placeholder}"{suffix}'] = len(literals)
            literals.append((leader, suffix))
        for leader, group in groups.items():
            if leader not in suffixes:
                slot[f"<{group.placeholder}>"] = len(literals) + len(iris)
                iris.append(leader)
        fixed: list[Quad] = []
        variable: list[tuple[str | int, str, str | int, str | int]] = []
        constant_iris: set[str] = set()
        for s, p, o, g in quads:
            if s in slot or o in slot or g in slot:
                variable.append((slot.get(s, s), p, slot.get(o, o), slot.get(g, g)))
            else:
                fixed.append((s, p, o, g))
            for term in (s, o, g):
                if term.startswith("<") and term not in slot:
                    constant_iris.add(term)
        self.fixed = tuple(fixed)
        self.variable = tuple(variable)
        self.literals = tuple(literals)
        self.iris = tuple(iris)
        self.constant_iris = frozenset(constant_iris)

    def quads(self, leaves: list[str]) -> list[Quad] | None:
        """The document's quads, or None when one of its IRIs is also a constant IRI of the
        template (JSON-LD could merge nodes the template keeps apart: not this template)."""
        literal, iri = rdfc.literal, rdfc.iri
        terms = [literal(leaves[i]) + suffix for i, suffix in self.literals]
        constant = self.constant_iris
        for i in self.iris:
            term = iri(leaves[i])
            if term in constant:
                return None
            terms.append(term)
        out = list(self.fixed)
        for s, p, o, g in self.variable:
            out.append(
                (
                    s if isinstance(s, str) else terms[s],
                    p,
                    o if isinstance(o, str) else terms[o],
                    g if isinstance(g, str) else terms[g],
                )
            )
        return out


class _Shape:
    __slots__ = ("plan", "templates")

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.templates: OrderedDict[tuple[Any, ...], Template] = OrderedDict()


class ShapeCache:
    """See the module documentation. `quads(document, loader=...)` is `full(document,
    loader=...)` with the JSON-LD work done once per shape."""

    def __init__(
        self,
        *,
        probe: Probe,
        full: FullConversion,
        size: int = 256,
        templates_per_shape: int = 64,
    ) -> None:
        self._probe = probe
        self._full = full
        self.size = size
        self.templates_per_shape = templates_per_shape
        self._lock = threading.Lock()
        self._shapes: OrderedDict[tuple[Any, ...], _Shape] = OrderedDict()
        self._namespaces: weakref.WeakKeyDictionary[Any, object] = weakref.WeakKeyDictionary()
        self.hits = 0
        self.compiles = 0
        self.fallbacks = 0

    def clear(self) -> None:
        with self._lock:
            self._shapes.clear()
            self.hits = self.compiles = self.fallbacks = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "shapes": len(self._shapes),
                "templates": sum(len(s.templates) for s in self._shapes.values()),
                "hits": self.hits,
                "compiles": self.compiles,
                "fallbacks": self.fallbacks,
            }

    def _namespace(self, loader: DocumentLoader | None) -> object | None:
        """None for the shipped contexts alone (shared by every such loader); a token of its
        own for a loader serving other documents too."""
        if loader is None or (type(loader) is DocumentLoader and not loader._extra):
            return None
        with self._lock:
            try:
                token = self._namespaces.get(loader)
                if token is None:
                    token = self._namespaces[loader] = object()
            except TypeError:  # not weakly referenceable: no caching
                return _NO_CACHE
            return token

    def _fallback(self, document: Any, loader: DocumentLoader | None) -> list[Quad]:
        with self._lock:
            self.fallbacks += 1
        return self._full(document, loader=loader)

    def quads(self, document: Any, *, loader: DocumentLoader | None = None) -> list[Quad]:
        if type(document) is not dict:
            return self._fallback(document, loader)
        namespace = self._namespace(loader)
        if namespace is _NO_CACHE:
            return self._fallback(document, loader)
        tokens: list[Any] = [namespace]
        leaves: list[str] = []
        try:
            _walk(document, tokens, leaves, False)
        except (_Unsupported, RecursionError):
            return self._fallback(document, loader)
        skeleton = tuple(tokens)
        with self._lock:
            shape = self._shapes.get(skeleton)
            if shape is not None:
                self._shapes.move_to_end(skeleton)
                plan = shape.plan
        if shape is not None:
            if plan.full_only:
                return self._fallback(document, loader)
            key = plan.key(leaves)
            if key is not None:
                with self._lock:
                    template = shape.templates.get(key)
                    if template is not None:
                        shape.templates.move_to_end(key)
                        self.hits += 1
                if template is not None:
                    quads = template.quads(leaves)
                    return quads if quads is not None else self._fallback(document, loader)
        else:
            plan = Plan.initial(len(leaves))
        return self._compile(skeleton, document, leaves, plan, loader)

    def _compile(
        self,
        skeleton: tuple[Any, ...],
        document: dict[str, Any],
        leaves: list[str],
        plan: Plan,
        loader: DocumentLoader | None,
    ) -> list[Quad]:
        with self._lock:
            self.compiles += 1
        template: Template | None = None
        key: tuple[Any, ...] | None = None
        for _round in range(_MAX_ROUNDS):
            probe_leaves, groups = plan.template(leaves)
            hits: list[str] = []
            try:
                quads = self._probe(_rebuild(document, iter(probe_leaves)), loader, MARKER, hits)
            except Exception as error:
                culprits = (_ids(str(error)) | {i for h in hits for i in _ids(h)}) & set(groups)
                if not culprits:
                    break
                vocab = {i for h in hits for i in _ids(h)}
                plan = plan.learn(groups, dict.fromkeys(culprits), vocab)
                continue
            verdicts, suffixes, vocab = _classify(quads, groups, hits)
            learned = plan.learn(groups, verdicts, vocab)
            confirmed = all(verdicts[leader] is not None for leader in groups)
            if confirmed and learned.template(leaves)[0] == probe_leaves:
                plan = learned
                key = plan.key(leaves)
                if key is not None:
                    template = Template(quads, groups, suffixes)
                break
            plan = learned
        self._store(skeleton, plan, key, template)
        if template is not None:
            substituted = template.quads(leaves)
            if substituted is not None:
                return substituted
            return self._fallback(document, loader)
        # The probes could not settle: the full algorithm decides. If it accepts the
        # document, this skeleton is not worth probing again.
        accepted = self._fallback(document, loader)
        self._store(skeleton, plan.as_full_only(), None, None)
        return accepted

    def _store(
        self,
        skeleton: tuple[Any, ...],
        plan: Plan,
        key: tuple[Any, ...] | None,
        template: Template | None,
    ) -> None:
        with self._lock:
            shape = self._shapes.get(skeleton)
            if shape is None:
                shape = self._shapes[skeleton] = _Shape(plan)
                while len(self._shapes) > self.size:
                    self._shapes.popitem(last=False)
            else:
                self._shapes.move_to_end(skeleton)
                merged = _merge(shape.plan, plan)
                if merged.kinds != shape.plan.kinds:
                    shape.templates.clear()  # their keys meant something else
                shape.plan = merged
            # A template's key is read with the kinds of the plan it was made with.
            if template is not None and key is not None and shape.plan.kinds == plan.kinds:
                shape.templates[key] = template
                while len(shape.templates) > self.templates_per_shape:
                    shape.templates.popitem(last=False)


def _merge(old: Plan, new: Plan) -> Plan:
    """What two plans of one skeleton learned (concurrent compiles, or a compile that
    stopped early): known kinds over UNKNOWN, the more cautious kind where they differ
    (STRUCT over IRI over LIT), the classes either saw verbatim."""
    if old.full_only or new.full_only:
        return old if old.full_only else new
    kinds: list[int] = []
    classes: list[Mapping[IriClass, bool]] = []
    for old_kind, new_kind, old_classes, new_classes in zip(
        old.kinds, new.kinds, old.classes, new.classes, strict=True
    ):
        kinds.append(max(old_kind, new_kind))
        classes.append({**old_classes, **new_classes})
    return Plan(tuple(kinds), tuple(classes))


__all__ = ["MARKER", "FullConversion", "Plan", "Probe", "ShapeCache", "Template", "iri_class"]
