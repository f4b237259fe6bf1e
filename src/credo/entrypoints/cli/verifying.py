"""`credo verify`: a credential or presentation, from a file, a baked badge or a URL."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from credo.entrypoints.cli.common import CommandError, app, escape, opened, out

if TYPE_CHECKING:
    from credo.services.credentials import verification


VERIFY_TIMEOUT = 15.0  # seconds to fetch a credential given by URL
MAX_DOCUMENT = 16 * 1024 * 1024


@app.command()
def verify(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="A JSON file, a badge image with a credential baked in (PNG or SVG), or the "
            "URL of either.",
        ),
    ],
) -> None:
    """Verify a credential or presentation and print every check. Exits 0 when it
    verifies, 1 when it does not, 2 when SOURCE is not a credential or cannot be read.
    Nothing but SOURCE is fetched: status lists are checked only when this server issued
    them."""
    from credo.services.credentials import verification

    document = _read_document(source)
    with opened() as credo:
        result = credo.runner.read(
            lambda uow: verification.verify_document(uow, credo.ctx, document)
        )
    _print_verification(result)
    raise typer.Exit(0 if result.verified else 1)


def _read_document(source: str) -> Any:
    """The credential or presentation at a path or URL, as JSON or baked into a PNG or SVG
    badge image there; a `CommandError` (exit 2) saying why when there is none."""
    from credo.adapters.images import baking
    from credo.domain.errors import BakingError

    raw = _read_bytes(source)
    if not raw.strip():
        raise CommandError(f"{source} is not a credential: it is empty")
    if baking.is_image(raw):
        try:
            document: Any = baking.credential_from_image(raw)
        except BakingError as exc:
            raise CommandError(f"cannot read {source}: {exc}") from None
    else:
        document = _parse_json(source, raw)
    # A VC API answer ({"verifiableCredential": ...}) holds the credential.
    if isinstance(document, dict) and "@context" not in document:
        for name in ("verifiableCredential", "verifiablePresentation"):
            if isinstance(document.get(name), dict):
                return document[name]
    if not isinstance(document, dict):
        kind = _JSON_KINDS.get(type(document), "a value")
        raise CommandError(f"{source} is not a credential: its JSON is {kind}, not an object")
    if not document.keys() & _CREDENTIAL_KEYS:
        raise CommandError(f"{source} is not a credential: its JSON has no @context, type or proof")
    return document


def _read_bytes(source: str) -> bytes:
    import httpx

    def unreadable(reason: str) -> CommandError:
        return CommandError(f"cannot read {source}: {reason}")

    try:
        if source.startswith(("http://", "https://")):
            with httpx.Client(timeout=VERIFY_TIMEOUT, follow_redirects=True) as client:
                r = client.get(source, headers={"Accept": "application/vc, application/json"})
            if r.status_code != 200:
                raise unreadable(f"it answered HTTP {r.status_code}")
            raw = r.content
        else:
            with open(source, "rb") as f:
                raw = f.read(MAX_DOCUMENT + 1)
    except OSError as exc:
        # "No such file or directory", not "[Errno 2] No such file or directory: 'x'".
        raise unreadable(_sentence(exc.strerror) if exc.strerror else _one_line(exc)) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise unreadable(_one_line(exc)) from None
    if len(raw) > MAX_DOCUMENT:
        raise unreadable(f"it is larger than {MAX_DOCUMENT // (1024 * 1024)} MiB")
    return raw


def _parse_json(source: str, raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise CommandError(f"cannot read {source}: its JSON is nested too deeply") from None
    except json.JSONDecodeError as exc:
        if raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
            where = f"line {exc.lineno}, column {exc.colno}"
            raise CommandError(
                f"cannot read {source}: its JSON is malformed at {where} ({_sentence(exc.msg)})"
            ) from None
    except ValueError:  # not UTF-8 (or -16, -32) text
        pass
    other = next((kind for magic, kind in _OTHER_FORMATS if raw.startswith(magic)), None)
    if other:
        raise CommandError(
            f"{source} is not a credential: it is {other}, and badges carry credentials "
            "in PNG or SVG images"
        )
    raise CommandError(
        f"{source} is not a credential: it is neither JSON nor a PNG or SVG badge image"
    )


# Every credential and presentation has a context and a type; a signed one, a proof.
_CREDENTIAL_KEYS = {"@context", "type", "proof"}
_JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}
# Files people mistake for badges or credentials, by their first bytes.
_OTHER_FORMATS = [
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
]


def _sentence(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    # "[Errno 111] Connection refused" says "connection refused" to a person.
    return _sentence(re.sub(r"^\[Errno -?\d+\] ", "", text))[:300]


_MARKS = {True: "[green]ok[/]", False: "[red]FAILED[/]", None: "[yellow]not checked[/]"}


def _shown(text: str) -> str:
    """Text quoted from a document, safe to print: markup escaped, lone surrogates too."""
    return escape(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def _print_verification(result: verification.Verification, title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title or "Verification")
    for col in ("check", "result", "detail"):
        table.add_column(col, overflow="fold")
    for c in result.checks:
        table.add_row(c.check, _MARKS[c.ok], _shown(c.detail))
    out.print(table)
    for i, cred in enumerate(result.credentials or []):
        _print_verification(cred, f"Credential {i} of the presentation")
    if title is None:
        verdict = "[green]verified[/]" if result.verified else "[red]NOT verified[/]"
        out.print(f"{verdict}: {_shown(result.summary().partition(': ')[2])}")
