"""What every command shares: the app and its error handling, the consoles.

Commands import what they use inside their bodies: `credo --help` loads Typer and Rich and
little else, so every command starts at once.

Every error is one line on stderr, `error: ...`, and a non-zero exit: Click's usage
errors (exit 2), a command's own refusals, domain errors (exit code by family) and, with
no traceback unless CREDO_DEBUG=1, anything unexpected (exit 1)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import typer

# Typer vendors Click (0.26 and later) and exports neither of these exceptions.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperCommand, TyperGroup

from credo.domain.errors import DomainError, InvalidInput

if TYPE_CHECKING:
    from rich.console import Console
    from typer._click import Context, HelpFormatter, Parameter

    from credo.bootstrap import App

DEBUG_ENV = "CREDO_DEBUG"
PROG = "credo"
MAX_MESSAGE = 500  # characters of an error line; a longer message is cut

# Exit codes by error family, so scripts can branch without parsing text.
EXIT_CODES = {400: 2, 401: 2, 404: 4, 409: 5, 402: 6, 413: 2, 422: 2}
EXIT_DATABASE = 3


class CommandError(Exception):
    """A command's own refusal: shown as one line, exiting with `code`."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class _Command(TyperCommand):
    """Arguments by their name in capitals, as the README writes them (`credo verify
    SOURCE`): recent Typer shows `{source}` and `<str>` instead."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in _arguments(self, ctx):
            name = _argument_name(param)
            pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments = [
            (_argument_name(p), getattr(p, "help", None) or "") for p in _arguments(self, ctx)
        ]
        options = [
            record
            for p in self.get_params(ctx)
            if p.param_type_name == "option" and (record := p.get_help_record(ctx)) is not None
        ]
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _arguments(command: TyperCommand, ctx: Context) -> list[Parameter]:
    return [p for p in command.get_params(ctx) if p.param_type_name == "argument"]


def _argument_name(param: Parameter) -> str:
    return param.metavar or (param.name or "").upper()


class _Credo(TyperGroup):
    """The `credo` command itself: it runs every subcommand, so it turns whatever goes
    wrong into one line on stderr."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        # Not standalone, Click returns the exit code of `typer.Exit` and raises the rest.
        try:
            code = super().main(args, prog_name or PROG, complete_var, False, **extra)
        except NoArgsIsHelpError as exc:
            # `credo` or `credo db` alone asks for help: it gets it, as `--help` would.
            typer.echo(exc.ctx.get_help())
            code = 0
        except UsageError as exc:
            code = fail(_usage_message(exc), exc.exit_code)
        except ClickException as exc:
            code = fail(exc.format_message(), exc.exit_code)
        except typer.Abort:
            code = fail("aborted", 1)
        except Exception as exc:
            if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
                raise
            code = fail(*explain(exc))
        sys.exit(code if isinstance(code, int) else 0)


def _usage_message(exc: UsageError) -> str:
    """Click's message in the same voice as the others, with where to read more."""
    message = exc.format_message().strip().rstrip(".")
    if message[1:2].islower():
        message = message[0].lower() + message[1:]
    where = exc.ctx.command_path if exc.ctx is not None else PROG
    return f"{message} (see '{where} --help')"


def explain(exc: Exception) -> tuple[str, int]:
    """The one line and exit code for an error a command raised."""
    if isinstance(exc, CommandError):
        return str(exc), exc.code
    if isinstance(exc, DomainError):
        fields = exc.fields.get("errors")
        where = "; ".join(f"{e['field']}: {e['message']}" for e in fields) if fields else ""
        return exc.detail + (f" ({where})" if where else ""), EXIT_CODES.get(exc.status, 1)
    # Loaded already if one of theirs was raised; not loaded for `credo --help`.
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.OperationalError):
        return f"database unavailable: {str(exc.orig).strip()}", EXIT_DATABASE
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(exc, pydantic.ValidationError):
        return _invalid_settings(exc), 2
    return f"unexpected {type(exc).__name__}: {exc} ({DEBUG_ENV}=1 shows the traceback)", 1


def _invalid_settings(exc: Any) -> str:
    """A settings error by the variable to fix (only `Settings` is validated here)."""
    problems = []
    for e in exc.errors(include_url=False):
        text = str(e["msg"]).removeprefix("Value error, ")
        loc = e.get("loc") or ()
        name = f"CREDO_{str(loc[0]).upper()}: " if loc else ""
        problems.append(name + text)
    return "invalid setting: " + "; ".join(problems)


def fail(message: str, code: int) -> int:
    """Say `message` as one line on stderr; the exit code, for the caller to exit with."""
    printable = "".join(c if c.isprintable() else " " for c in message)
    line = " ".join(printable.split()) or "failed"
    if len(line) > MAX_MESSAGE:
        line = line[: MAX_MESSAGE - 3] + "..."
    typer.echo(f"{typer.style('error:', fg='red')} {line}", err=True)
    return code or 1


class _Typer(typer.Typer):
    """Every command of the app formats its help as `_Command` does."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        kwargs.setdefault("cls", _Command)
        return super().command(*args, **kwargs)


app = _Typer(
    name=PROG,
    cls=_Credo,
    no_args_is_help=True,
    add_completion=False,
    # Plain help and plain errors: no panels to load or to read.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help=(
        "Credo issues credentials (certificates and badges) that anyone can verify, billed "
        "by recipient seats. Each command's --help says what it does.\n\n"
        "An error is one line on stderr and a non-zero exit: 2 for a bad command line, "
        "setting or input, 3 when the database is unavailable, 4 when something is not "
        "found, 5 for a conflict, 6 when credits run short, 1 for anything else. Set "
        f"{DEBUG_ENV}=1 to see the traceback of an unexpected error."
    ),
)
db_app = _Typer(no_args_is_help=True, help="Manage the database schema.")
org_app = _Typer(no_args_is_help=True, help="Manage organizations.")
key_app = _Typer(no_args_is_help=True, help="Manage an organization's API keys.")
dept_app = _Typer(
    no_args_is_help=True, help="Manage an organization's departments and their credit caps."
)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(key_app, name="key")
app.add_typer(dept_app, name="department")


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
# Notes only (errors go through `fail`); soft wrap keeps each one line.
err = cast("Console", _LazyConsole(stderr=True, soft_wrap=True, emoji=False))


def escape(text: str) -> str:
    """Text safe to print through Rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


@contextmanager
def opened(migrate: bool = True) -> Iterator[App]:
    """The app for one command; its connections are closed however the command ends. What
    it changes, the audit log puts down to the command line."""
    from credo.bootstrap import bootstrap
    from credo.domain.audit_log import Actor, ActorKind
    from credo.services import audit_log
    from credo.settings import Settings

    credo = bootstrap(Settings(), migrate=migrate)
    try:
        with audit_log.acting(Actor(ActorKind.COMMAND_LINE, None, "the command line")):
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
