"""A small N-Quads parser for the tests: lines to quads of canonical N-Quads terms."""

from __future__ import annotations

import re

from credo.adapters.signing.rdfc import Quad, iri, literal

_TERM = re.compile(
    r'\s*(?:<(?P<iri>[^>]*)>|(?P<bnode>_:\S+)|"(?P<lit>(?:[^"\\]|\\.)*)"'
    r"(?:\^\^<(?P<dt>[^>]*)>|@(?P<lang>[a-zA-Z]+(?:-[a-zA-Z0-9]+)*))?)"
)
_ESCAPE = re.compile(r'\\(?:([tbnrf"\'\\])|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))')
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return _ECHAR[m.group(1)]
        return chr(int(m.group(2) or m.group(3), 16))

    return _ESCAPE.sub(one, text)


def parse(text: str) -> list[Quad]:
    quads: list[Quad] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        terms: list[str] = []
        pos = 0
        while True:
            m = _TERM.match(line, pos)
            if not m:
                break
            pos = m.end()
            if m.group("iri") is not None:
                terms.append(iri(_unescape(m.group("iri"))))
            elif m.group("bnode") is not None:
                terms.append(m.group("bnode"))
            else:
                value = _unescape(m.group("lit"))
                if m.group("lang"):
                    terms.append(literal(value, language=m.group("lang")))
                elif m.group("dt"):
                    terms.append(literal(value, _unescape(m.group("dt"))))
                else:
                    terms.append(literal(value))
        assert line[pos:].strip() == ".", f"cannot parse N-Quads line: {line!r}"
        assert len(terms) in (3, 4), line
        quads.append((terms[0], terms[1], terms[2], terms[3] if len(terms) == 4 else ""))
    return quads
