"""The `credo` command: a thin Typer layer over the same services as the API."""

from __future__ import annotations

import functools
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table
from sqlalchemy.exc import OperationalError

from credo.bootstrap import App, bootstrap
from credo.domain.accounts import Role
from credo.domain.errors import DomainError
from credo.services import audit as audit_service
from credo.services import credits as credit_service
from credo.services import groups, issuing, members, organizations, verification
from credo.services.issuing import Issued, NewCredential, Preview
from credo.services.members import Login
from credo.services.ports import UnitOfWork
from credo.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
org_app = typer.Typer(no_args_is_help=True, help="Organizations.")
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")

out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, emoji=False)
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
        except OperationalError as exc:
            err.print(f"[red]error:[/] database unavailable: {str(exc.orig).strip()[:200]}")
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def opened(migrate: bool = True) -> Iterator[App]:
    """The app for one command; its connections are closed however the command ends."""
    credo = bootstrap(Settings(), migrate=migrate)
    try:
        yield credo
    finally:
        credo.close()


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Apply pending migrations."""
    with opened(migrate=True) as credo:
        out.print(f"database at head: {credo.engine.url.render_as_string(hide_password=True)}")


@org_app.command("create")
@friendly
def org_create(
    name: str,
    plan: Annotated[str, typer.Option(help="launch-250, connect, growth or enterprise")] = (
        "launch-250"
    ),
    credits: Annotated[int | None, typer.Option(help="allowance for custom plans")] = None,
    sandbox: Annotated[bool, typer.Option(help="give it a test clock")] = False,
    anchor: Annotated[str | None, typer.Option(help="YYYY-MM-DD, default today")] = None,
    owner_email: Annotated[str | None, typer.Option(help="make this person its owner")] = None,
    owner_name: Annotated[str, typer.Option(help="the owner's name")] = "",
) -> None:
    """Create an organization and print its API key (shown once), and its owner's login."""
    with opened() as credo:
        anchor_day = _date(anchor, "anchor") if anchor else None

        def create(uow: UnitOfWork) -> tuple[organizations.NewOrganization, Login | None]:
            new = organizations.create_organization(
                uow,
                credo.clock,
                name=name,
                plan=plan,
                credits=credits,
                sandbox=sandbox,
                anchor=anchor_day,
                signer=credo.ctx.signer,
            )
            if owner_email is None:
                return new, None
            login = members.add_login(
                uow,
                credo.passwords,
                credo.clock,
                new.organization.id,
                email=owner_email,
                name=owner_name,
                role=Role.OWNER,
            )
            return new, login

        new, login = credo.runner.write(create)
        out.print(f"organization: {new.organization.id}  ({new.organization.name})")
        out.print(
            f"plan:         {new.subscription.plan}, {new.subscription.allowance} credits/year"
        )
        out.print(f"api key:      {new.api_key}")
        out.print("[dim]The key is shown once; only its hash is stored.[/]")
        if login is not None:
            _print_login(login, credo.settings.base_url)


def _print_login(login: Login, base_url: str) -> None:
    out.print(f"sign in:      {base_url.rstrip('/')}/login")
    out.print(f"e-mail:       {rich_escape(login.user.email)}")
    if login.password is None:
        out.print("password:     [dim](their existing one)[/]")
    else:
        out.print(f"password:     {login.password}")
        out.print("[dim]The password is shown once; change it after signing in.[/]")


@app.command("user")
@friendly
def user_add(
    action: Annotated[str, typer.Argument(help="add")],
    email: str,
    org: Annotated[str, typer.Option(help="organization id")],
    role: Annotated[str, typer.Option(help="owner, issuer or viewer")] = "issuer",
    name: Annotated[str, typer.Option(help="the person's name")] = "",
) -> None:
    """`credo user add EMAIL --org ORG --role ROLE`: a dashboard login (its password
    printed once), or an existing person added to the organization."""
    if action != "add":
        err.print("[red]error:[/] the only action is: credo user add EMAIL --org ORG")
        raise typer.Exit(2)
    with opened() as credo:
        chosen = members.parse_role(role)
        login = credo.runner.write(
            lambda uow: members.add_login(
                uow, credo.passwords, credo.clock, org, email=email, name=name, role=chosen
            )
        )
        out.print(f"{rich_escape(login.user.email)} is now {chosen.value} of {rich_escape(org)}")
        _print_login(login, credo.settings.base_url)


@app.command()
@friendly
def credits(org: Annotated[str, typer.Option(help="organization id")]) -> None:
    """Show this billing year's credits."""
    with opened() as credo:
        b = credo.runner.read(lambda uow: credit_service.balance(uow, credo.clock, org))
        table = Table(title=f"Credits, billing year {b.year.index}")
        for col in ("from", "to", "allowance", "used", "remaining", "seats held"):
            table.add_column(col)
        table.add_row(
            b.year.starts_at.date().isoformat(),
            b.year.ends_at.date().isoformat(),
            str(b.allowance),
            str(b.used),
            str(b.remaining),
            str(b.seats_held),
        )
        out.print(table)


@app.command()
@friendly
def issue(
    org: Annotated[str, typer.Option(help="organization id")],
    group: Annotated[str, typer.Option(help="group id")],
    name: Annotated[str, typer.Option(help="recipient's name")],
    email: Annotated[str, typer.Option(help="recipient's e-mail")],
    issued_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    expires_on: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    draft: Annotated[bool, typer.Option(help="create a draft, not published")] = False,
    dry_run: Annotated[bool, typer.Option(help="only say what it would cost")] = False,
) -> None:
    """Issue one credential."""
    with opened() as credo:
        item = NewCredential(
            recipient_name=name,
            recipient_email=email,
            issued_on=_date(issued_on, "issued_on") if issued_on else None,
            expires_on=_date(expires_on, "expires_on") if expires_on else None,
            expires_given=expires_on is not None,
        )

        def action(uow: UnitOfWork) -> Issued | Preview:
            return issuing.issue(
                uow, credo.ctx, org, group, [item], publish=not draft, dry_run=dry_run
            )

        result = credo.runner.read(action) if dry_run else credo.runner.write(action)
        if isinstance(result, Preview):
            verdict = "enough" if result.sufficient else "NOT enough"
            out.print(
                f"would charge {result.credits_required} credit(s); "
                f"{result.credits_remaining} remain ({verdict})"
            )
        else:
            c = result.credentials[0]
            out.print(
                f"{c.status.value} {c.id} to {c.recipient_email}; charged {result.credits_charged}"
            )


@app.command()
@friendly
def audit(
    org: Annotated[str | None, typer.Option(help="one organization; default all")] = None,
) -> None:
    """Recompute seats and balances from the ledger and credentials; exit 1 on any mismatch."""
    with opened() as credo:
        org_ids = [org] if org else credo.runner.read(lambda uow: uow.organizations.all_ids())
        bad = 0
        for org_id in org_ids:
            report = credo.runner.read(
                lambda uow, o=org_id: audit_service.audit_organization(uow, credo.clock, o)  # type: ignore[misc]
            )
            status = "[green]ok[/]" if report.ok else f"[red]{len(report.problems)} problem(s)[/]"
            used = ", ".join(f"year {y}: {n}" for y, n in report.years.items()) or "no charges"
            out.print(f"{org_id}: {status}  ({used}; {report.seats_open} open seats)")
            for problem in report.problems:
                out.print(f"  - {problem}")
            bad += not report.ok
    if bad:
        raise typer.Exit(1)


@app.command()
@friendly
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(help="PEM certificate (chain): serve HTTPS", exists=True, dir_okay=False),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None,
        typer.Option(help="PEM private key of the certificate", exists=True, dir_okay=False),
    ] = None,
) -> None:
    """Apply pending migrations, then serve the API (HTTPS with a certificate and key)."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        err.print("[red]error:[/] HTTPS needs both --ssl-certfile and --ssl-keyfile")
        raise typer.Exit(2)
    with opened(migrate=True):
        pass
    with _embedded_mail_worker():
        _run_server(host, port, workers, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)


@app.command()
@friendly
def worker(
    once: Annotated[bool, typer.Option("--once", help="send what is due, then exit")] = False,
    poll: Annotated[float, typer.Option(help="seconds between looks for due e-mails")] = 2.0,
) -> None:
    """Send the e-mails of the outbox until interrupted (Ctrl-C); set
    CREDO_WORKER_IN_SERVER=false for `credo serve` when this runs apart."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with opened() as credo:
        mail = credo.mail_worker()
        if once:
            mail.remind_if_due()
            r = mail.drain()
            out.print(f"sent {r.sent}, to retry {r.retried}, given up {r.failed}")
            return
        stop = threading.Event()
        parent = os.environ.get(_PARENT_ENV)
        if parent:
            _stop_with_parent(int(parent), stop)
        out.print(f"sending e-mails through {mail.sender!r}; Ctrl-C stops")
        try:
            mail.run(stop, poll)
        except KeyboardInterrupt:
            stop.set()


_PARENT_ENV = "CREDO_WORKER_PARENT_PID"


def _stop_with_parent(parent: int, stop: threading.Event) -> None:
    """The embedded worker ends with the server that started it, even one killed outright
    (which cannot tell it to stop): an orphan's parent changes."""

    def watch() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch, name="credo-parent-watch", daemon=True).start()


@contextmanager
def _embedded_mail_worker() -> Iterator[subprocess.Popen[bytes] | None]:
    """The mail worker as a child process of `credo serve`, unless turned off: one worker
    whatever the number of HTTP workers. A process, not a thread: composing e-mails is
    CPU work that would otherwise hold the GIL against the requests (a bulk publish signed
    at half speed while the previous bulk's e-mails went out)."""
    settings = Settings()
    if not settings.worker_in_server:
        yield None
        return
    child = subprocess.Popen(
        [sys.executable, "-m", "credo.entrypoints.cli.main", "worker"],
        env={**os.environ, _PARENT_ENV: str(os.getpid())},
        stdin=subprocess.DEVNULL,
    )
    try:
        yield child
    finally:
        # Ctrl-C for the worker: a send in flight finishes, or its row is sent again after
        # its lease.
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _run_server(
    host: str,
    port: int,
    workers: int,
    *,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
) -> None:
    import uvicorn

    uvicorn.run(
        "credo.entrypoints.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
    )


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
        baking.BakingError,
        httpx.HTTPError,
        httpx.InvalidURL,
    ) as exc:
        err.print(
            f"[red]error:[/] cannot read {rich_escape(source)}: {rich_escape(_one_line(exc))}",
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
    return rich_escape(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def _print_verification(result: verification.Verification, title: str | None = None) -> None:
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


DEMO_NAME = "Credo Demo Academy"
DEMO_OWNER = "owner@demo.credo.example"  # RFC 2606: never a real mailbox


@app.command()
@friendly
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve_it: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
) -> None:
    """Create (or reuse) a sandbox demo organization with a group, print how to use it, serve."""
    import os

    settings = Settings()
    if settings.environment != "development":
        err.print("[red]error:[/] the demo runs only in development")
        raise typer.Exit(2)
    credo = bootstrap(settings, migrate=True)

    def setup(uow: UnitOfWork) -> tuple[str, str, str, Login]:
        org_id = uow.organizations.id_by_name(DEMO_NAME)
        if org_id is None:
            new = organizations.create_organization(
                uow,
                credo.clock,
                name=DEMO_NAME,
                plan="launch-250",
                credits=None,
                sandbox=True,
                anchor=credo.clock.now().date(),
                signer=credo.ctx.signer,
            )
            org_id = new.organization.id
            key = new.api_key
        else:
            key = organizations.issue_api_key(uow, org_id, credo.clock.now())
        found = uow.groups.page(org_id, None, 1)
        group = (
            found[0]
            if found
            else groups.create_group(
                uow,
                credo.clock,
                org_id,
                name="Data Literacy Fundamentals",
                description="Completed the 20-hour Data Literacy Fundamentals course.",
                expires_after_months=24,
            )
        )
        # The same login on every run, with a new password printed each time: the last
        # one printed is never lost.
        login = members.add_login(
            uow,
            credo.passwords,
            credo.clock,
            org_id,
            email=DEMO_OWNER,
            name="Demo Owner",
            role=Role.OWNER,
            reset_password=True,
        )
        return org_id, key, group.id, login

    org_id, key, group_id, login = credo.runner.write(setup)
    credo.close()
    base = f"http://{host}:{port}"
    admin = settings.admin_token or os.environ.setdefault(
        "CREDO_ADMIN_TOKEN", "demo-" + secrets.token_urlsafe(24)
    )
    body = (
        '{"group_id": "' + group_id + '", "recipient": {"name": "Ada Lovelace", '
        '"email": "ada@example.org"}}'
    )
    out.rule("Credo demo")
    out.print(f"URL:           {base}   (API docs: {base}/docs)")
    out.print(f"organization:  {org_id}  ({DEMO_NAME}, sandbox, launch-250)")
    out.print(f"API key:       {key}")
    out.print(f"group:         {group_id}")
    out.print(f"operator token: {admin}")
    out.print(f"dashboard:     {base}/login   e-mail {DEMO_OWNER}  password {login.password}")
    out.print(f"database:      {settings.database_url}")
    out.print("\nIssue a credential:")
    out.print(
        f"  curl -s -X POST {base}/v1/credentials -H 'Authorization: Bearer {key}' "
        f"-H 'Content-Type: application/json' -d '{body}'",
        soft_wrap=True,
    )
    out.print(f"\nSee the credits:\n  curl -s {base}/v1/credits -H 'Authorization: Bearer {key}'")
    out.rule()
    sys.stdout.flush()
    if serve_it:
        with _embedded_mail_worker():
            _run_server(host, port, 1)


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        from credo.domain.errors import InvalidInput

        raise InvalidInput(
            f"{field} must be a date YYYY-MM-DD", [{"field": field, "message": "not a date"}]
        ) from None


if __name__ == "__main__":  # pragma: no cover
    app()
