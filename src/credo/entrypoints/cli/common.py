"""What every command shares: the consoles, the error handling, the app for one command.

Commands import what they use inside their bodies: `credo --help` loads Typer and Rich and
little else, so every command starts at once."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar, cast

import typer

from credo.domain.errors import DomainError, InvalidInput

if TYPE_CHECKING:
    from rich.console import Console

    from credo.bootstrap import App

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    # Plain help and plain errors: no panels to load or to read.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="The `credo` command: a thin Typer layer over the same services as the API.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
org_app = typer.Typer(no_args_is_help=True, help="Organizations.")
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")


class _LazyConsole:
    """A Rich console made when first written to: loading Rich's console and markup costs
    more than `credo --help` may."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


out = cast("Console", _LazyConsole(soft_wrap=True, emoji=False))
err = cast("Console", _LazyConsole(stderr=True, emoji=False))


def escape(text: str) -> str:
    """Text safe to print through Rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


F = TypeVar("F", bound=Callable[..., Any])

# Exit codes by error family, so scripts can branch without parsing text.
EXIT_CODES = {400: 2, 401: 2, 404: 4, 409: 5, 402: 6, 413: 2, 422: 2}


def friendly(fn: F) -> F:
    """Errors are one clear line and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            fields = exc.fields.get("errors")
            where = "; ".join(f"{e['field']}: {e['message']}" for e in fields) if fields else ""
            err.print(f"[red]error:[/] {exc.detail}" + (f" ({where})" if where else ""))
            raise typer.Exit(EXIT_CODES.get(exc.status, 1)) from None
        except Exception as exc:
            from sqlalchemy.exc import OperationalError  # loaded already if it was raised

            if not isinstance(exc, OperationalError):
                raise
            err.print(f"[red]error:[/] database unavailable: {str(exc.orig).strip()[:200]}")
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def opened(migrate: bool = True) -> Iterator[App]:
    """The app for one command; its connections are closed however the command ends."""
    from credo.bootstrap import bootstrap
    from credo.settings import Settings

    credo = bootstrap(Settings(), migrate=migrate)
    try:
        yield credo
    finally:
        credo.close()


def parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field} must be a date YYYY-MM-DD", [{"field": field, "message": "not a date"}]
        ) from None
