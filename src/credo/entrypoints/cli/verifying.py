"""`credo verify`: a credential or presentation, from a file, a baked badge or a URL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from credo.entrypoints.cli.common import app, err, escape, friendly, opened, out

if TYPE_CHECKING:
    from credo.services.credentials import verification


VERIFY_TIMEOUT = 15.0  # seconds to fetch a credential given by URL
MAX_DOCUMENT = 16 * 1024 * 1024


@app.command()
@friendly
def verify(
    source: Annotated[
        str, typer.Argument(help="a JSON file or baked badge image (PNG, SVG), or a URL of one")
    ],
) -> None:
    """Verify a credential or presentation and print every check; exit 0 when it verifies,
    1 when it does not, 2 when it cannot be read. Nothing but SOURCE is fetched: status
    lists are checked only when this server issued them."""
    from credo.services.credentials import verification

    document = _read_document(source)
    with opened() as credo:
        result = credo.runner.read(
            lambda uow: verification.verify_document(uow, credo.ctx, document)
        )
    _print_verification(result)
    raise typer.Exit(0 if result.verified else 1)


def _read_document(source: str) -> Any:
    """The JSON at a path or URL, or the credential baked into a PNG or SVG badge image
    there; one line and exit 2 when it cannot be read."""
    import httpx

    from credo.adapters.images import baking
    from credo.domain.errors import BakingError

    try:
        if source.startswith(("http://", "https://")):
            with httpx.Client(timeout=VERIFY_TIMEOUT, follow_redirects=True) as client:
                r = client.get(source, headers={"Accept": "application/vc, application/json"})
            if r.status_code != 200:
                raise ValueError(f"{source} answered HTTP {r.status_code}")
            raw = r.content
        else:
            with open(source, "rb") as f:
                raw = f.read(MAX_DOCUMENT + 1)
        if len(raw) > MAX_DOCUMENT:
            raise ValueError(f"{source} is larger than {MAX_DOCUMENT} bytes")
        document = baking.credential_from_image(raw) if baking.is_image(raw) else json.loads(raw)
    except (
        OSError,
        ValueError,
        RecursionError,
        BakingError,
        httpx.HTTPError,
        httpx.InvalidURL,
    ) as exc:
        err.print(
            f"[red]error:[/] cannot read {escape(source)}: {escape(_one_line(exc))}",
            soft_wrap=True,
        )
        raise typer.Exit(2) from None
    # A VC API answer ({"verifiableCredential": ...}) holds the credential.
    if isinstance(document, dict) and "@context" not in document:
        for name in ("verifiableCredential", "verifiablePresentation"):
            if isinstance(document.get(name), dict):
                return document[name]
    return document


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


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
