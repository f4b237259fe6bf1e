"""The two canonical forms Data Integrity EdDSA signs: RDFC-1.0 N-Quads of a JSON-LD document
(`canonize`) and the JSON Canonicalization Scheme, RFC 8785 (`jcs`).

`canonize` runs in safe mode, like `jsonld.canonize` in Digital Bazaar's jsonld.js: where
JSON-LD would silently drop part of the document (a term no context defines, a relative IRI,
a free-floating value ...), it raises `UndefinedTerms` naming it, since a signature over the
rest would not cover it. Every context comes from the loader, which never touches the
network.

All JSON-LD processing goes through `to_quads` (the costly part: the full algorithm).
`canonize`, `canonize_variants` and `check` go through the per-shape cache (`shapes`,
`SHAPES`) unless `full=True`: a document of a shape already seen skips JSON-LD and only
has its values put into the quads the shape's template gave, byte for byte the same.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

import rfc8785
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from credo.adapters.signing import rdfc
from credo.adapters.signing.loader import DocumentLoader, default_loader
from credo.adapters.signing.shapes import ShapeCache
from credo.domain.errors import InvalidDocument, UndefinedTerms, UnknownContext

# jsonld.js turns numbers into JavaScript doubles; beyond this an integer would be signed
# differently by other implementations, so it is refused.
_MAX_SAFE_INTEGER = 2**53 - 1


class _SafeProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]
    """pyld's processor, noting what expansion drops instead of dropping it silently."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(on_property_dropped=self._dropped_property)
        self.problems = problems
        self.expanded: Any = None

    def _dropped_property(self, expanded_property: str | None) -> None:
        if expanded_property is None:
            self.problems.append(("(null)", "a property whose term is defined as null"))
        else:
            self.problems.append(
                (expanded_property, f"the term {expanded_property!r} is not defined")
            )

    def _expand(
        self,
        active_ctx: Any,
        active_property: Any,
        element: Any,
        options: Any,
        inside_list: bool = False,
        inside_index: bool = False,
        type_scoped_ctx: Any = None,
    ) -> Any:
        result = super()._expand(
            active_ctx,
            active_property,
            element,
            options,
            inside_list=inside_list,
            inside_index=inside_index,
            type_scoped_ctx=type_scoped_ctx,
        )
        if element is not None and result is None:
            where = "the document" if active_property is None else repr(active_property)
            self.problems.append(
                (str(active_property), f"a value of {where} that JSON-LD drops: {element!r:.80}")
            )
        elif isinstance(result, dict) and isinstance(element, dict) and not inside_list:
            # jsonld.js (unlike pyld) drops an object with only @id, or no properties,
            # from a @graph container: refuse it, as its safe mode does.
            container = jsonld.JsonLdProcessor.get_context_value(
                active_ctx, active_property, "@container"
            )
            in_graph = "@graph" in (container if isinstance(container, list) else [container])
            only_id = len(result) == 0 or (len(result) == 1 and "@id" in result)
            if in_graph and only_id:
                self.problems.append(
                    (str(active_property), f"an object in {active_property!r} that is empty")
                )
        return result

    def expand(self, input_: Any, options: Any) -> Any:
        self.expanded = super().expand(input_, options)
        return self.expanded


class _ProbeProcessor(_SafeProcessor):
    """The safe processor, also noting the strings containing `marker` that it expands as IRIs
    against the vocabulary (terms, `@type` values, `@vocab`-typed values): their outcome
    depends on their text, so the shape cache never substitutes them."""

    def __init__(self, problems: list[tuple[str, str]], marker: str, hits: list[str]) -> None:
        super().__init__(problems)
        self.marker = marker
        self.hits = hits

    def _expand_iri(
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        if vocab and isinstance(value, str) and self.marker in value:
            self.hits.append(value)
        return super()._expand_iri(
            active_ctx, value, base=base, vocab=vocab, local_ctx=local_ctx, defined=defined
        )


def _is_iri_or_blank(value: Any) -> bool:
    return isinstance(value, str) and bool(jsonld._is_absolute_iri(value))


def _check_expanded(node: Any, problems: list[tuple[str, str]]) -> None:
    """What expansion kept but conversion to RDF would drop: relative IRIs (no base is set,
    so they stay relative) and blank node predicates. Numbers JavaScript implementations
    would turn into other values (integers beyond 2**53) raise `InvalidDocument`."""
    if isinstance(node, list):
        for item in node:
            _check_expanded(item, problems)
        return
    if not isinstance(node, dict):
        return
    if "@value" in node:
        value = node["@value"]
        if isinstance(value, Integral) and not isinstance(value, bool):
            if abs(int(value)) > _MAX_SAFE_INTEGER:
                raise InvalidDocument(
                    f"the integer {value} is beyond 2**53: other implementations would sign "
                    "another number"
                )
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidDocument(f"the number {value} is not finite")
        return
    node_id = node.get("@id")
    if node_id is not None and not _is_iri_or_blank(node_id):
        problems.append((str(node_id), f"the id {node_id!r} is not an absolute IRI"))
    for type_ in node.get("@type", []):
        if not _is_iri_or_blank(type_):
            problems.append((str(type_), f"the type {type_!r} is not defined"))
    for key, value in node.items():
        if key in ("@id", "@type"):
            continue
        if key.startswith("_:"):
            problems.append((key, f"the property {key!r} is a blank node"))
        _check_expanded(value, problems)


def _unknown_context_in(error: BaseException) -> UnknownContext | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, UnknownContext):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _term(kind: str, value: str) -> str:
    if kind == "IRI":
        return rdfc.iri(value)
    return value  # a blank node, `_:b0`


def to_quads(document: Any, *, loader: DocumentLoader | None = None) -> list[rdfc.Quad]:
    """The RDF dataset of a JSON-LD document, as quads of N-Quads terms (see `rdfc`), by the
    full algorithm (no cache). Raises `UndefinedTerms` where JSON-LD would drop something,
    `UnknownContext` for a context not shipped, `InvalidDocument` for invalid JSON-LD."""
    problems: list[tuple[str, str]] = []
    return _to_quads(document, loader, _SafeProcessor(problems), problems)


def _probe_quads(
    document: Any, loader: DocumentLoader | None, marker: str, hits: list[str]
) -> list[rdfc.Quad]:
    """`to_quads`, noting in `hits` the strings with `marker` expanded against the
    vocabulary (see `_ProbeProcessor`), for the shape cache's templates."""
    problems: list[tuple[str, str]] = []
    return _to_quads(document, loader, _ProbeProcessor(problems, marker, hits), problems)


def _to_quads(
    document: Any,
    loader: DocumentLoader | None,
    processor: _SafeProcessor,
    problems: list[tuple[str, str]],
) -> list[rdfc.Quad]:
    if not isinstance(document, dict):
        raise InvalidDocument("a JSON-LD document to sign is a JSON object")
    loader = loader or default_loader()
    options = {
        "documentLoader": loader,
        "contextResolver": ContextResolver(loader.context_cache, loader),
        # No base IRI, as jsonld.js canonizes: relative IRIs stay relative and are refused
        # (pyld would otherwise resolve them against http://example.org/base/).
        "base": None,
        "processingMode": "json-ld-1.1",
        "produceGeneralizedRdf": False,
    }
    try:
        dataset = processor.to_rdf(document, options)
    except jsonld.JsonLdError as error:
        unknown = _unknown_context_in(error)
        if unknown is not None:
            raise UnknownContext(unknown.url) from None
        raise InvalidDocument(f"invalid JSON-LD: {_jsonld_message(error)}") from None
    _check_expanded(processor.expanded, problems)
    if problems:
        terms = list(dict.fromkeys(term for term, _ in problems))
        raise UndefinedTerms(terms, list(dict.fromkeys(why for _, why in problems)))
    quads: list[rdfc.Quad] = []
    for graph_name, triples in dataset.items():
        graph = (
            ""
            if graph_name == "@default"
            else _term("blank node" if graph_name.startswith("_:") else "IRI", graph_name)
        )
        for triple in triples:
            s, p, o = triple["subject"], triple["predicate"], triple["object"]
            if o["type"] == "literal":
                obj = rdfc.literal(o["value"], o["datatype"], o.get("language"))
            else:
                obj = _term(o["type"], o["value"])
            quads.append((_term(s["type"], s["value"]), _term(p["type"], p["value"]), obj, graph))
    return quads


def _jsonld_message(error: BaseException) -> str:
    parts: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(parts) < 4:
        message = seen.args[0] if seen.args else type(seen).__name__
        code = getattr(seen, "code", None)
        parts.append(f"{message} ({code})" if code else str(message))
        seen = seen.__cause__
    return "; ".join(parts)


def new_shape_cache(*, size: int = 256, templates_per_shape: int = 64) -> ShapeCache:
    """An empty shape cache over this module's conversion (see `shapes`)."""
    return ShapeCache(
        probe=_probe_quads, full=to_quads, size=size, templates_per_shape=templates_per_shape
    )


# The shape cache behind `canonize`, `canonize_variants` and `check` (see `shapes`).
SHAPES = new_shape_cache()


def _quads(document: Any, loader: DocumentLoader | None, full: bool) -> list[rdfc.Quad]:
    if full:
        return to_quads(document, loader=loader)
    return SHAPES.quads(document, loader=loader)


def check(document: Any, *, loader: DocumentLoader | None = None, full: bool = False) -> None:
    """Raise as `to_quads` does for a document JSON-LD cannot sign whole (undefined terms,
    unknown contexts, invalid JSON-LD); a shape that passed once passes again."""
    _quads(document, loader, full)


def canonize(document: Any, *, loader: DocumentLoader | None = None, full: bool = False) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document, in safe mode (see `to_quads`).
    `full=True` runs the full JSON-LD algorithm instead of the shape cache (same result)."""
    return rdfc.canonicalize(_quads(document, loader, full))


def canonize_variants(
    document: Any, *, loader: DocumentLoader | None = None, full: bool = False
) -> list[str]:
    """`[canonize(document)]`, plus, when it differs, the N-Quads JavaScript implementations
    produce (they sort by UTF-16 code units; RDFC-1.0 says code points). They can differ only
    for text mixing characters beyond U+FFFF with characters in U+E000..U+FFFF. `full` as
    for `canonize`."""
    quads = _quads(document, loader, full)
    canonical = rdfc.canonicalize(quads)
    if not rdfc.order_is_ambiguous(canonical):
        return [canonical]
    javascript = rdfc.canonicalize(quads, utf16_order=True)
    return [canonical] if javascript == canonical else [canonical, javascript]


def jcs(value: Any) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme, UTF-8 bytes. Numbers JavaScript cannot hold
    exactly (integers beyond 2**53, NaN, infinities) are refused with `InvalidDocument`."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as error:
        raise InvalidDocument(f"cannot canonicalize as JSON (RFC 8785): {error}") from None
    except TypeError as error:
        raise InvalidDocument(f"not JSON: {error}") from None
