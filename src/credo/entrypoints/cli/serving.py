"""Serving: `credo serve`, `credo demo`, and the worker child they start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from credo.entrypoints.cli.common import CommandError, app, err, opened, out

if TYPE_CHECKING:
    from credo.services.people.members import Login

Host = Annotated[str, typer.Option(metavar="HOST", help="The address to listen on.")]
Port = Annotated[int, typer.Option(metavar="PORT", help="The port to listen on.")]


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[
        int, typer.Option(metavar="N", help="How many server processes to run.")
    ] = 1,
    ssl_certfile: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="A PEM certificate (or chain) to serve HTTPS with.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    ssl_keyfile: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="The certificate's PEM private key.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Serve the API. Applies pending migrations first; serves HTTPS when given a
    certificate and its key."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise CommandError("HTTPS needs both --ssl-certfile and --ssl-keyfile")
    https = ssl_certfile is not None
    with _served_base_url(host, port, https=https), _metrics_dir():
        with opened(migrate=True):
            pass
        with _embedded_worker():
            _run_server(host, port, workers, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)


@contextmanager
def _metrics_dir() -> Iterator[None]:
    """One directory for the Prometheus samples of every process this command starts (its
    API workers and worker child), set before any of them loads prometheus-client; a
    directory the operator chose (PROMETHEUS_MULTIPROC_DIR) is kept as it is."""
    import shutil
    import tempfile

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    path = tempfile.mkdtemp(prefix="credo-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _served_base_url(host: str, port: int, *, https: bool = False) -> Iterator[None]:
    """Without CREDO_BASE_URL, the address served is where links point (credential ids,
    QR codes, e-mails, status lists), for this process and every one it starts, while the
    command runs. A server on every interface (0.0.0.0) links to this machine's loopback:
    it says so."""
    if os.environ.get("CREDO_BASE_URL"):
        yield
        return
    every = host in ("0.0.0.0", "::", "")
    shown = "127.0.0.1" if every else (f"[{host}]" if ":" in host else host)
    url = f"{'https' if https else 'http'}://{shown}:{port}"
    if every:
        err.print(
            f"note: links in credentials and e-mails point at {url}; set CREDO_BASE_URL "
            "to the address people reach this server at"
        )
    os.environ["CREDO_BASE_URL"] = url
    try:
        yield
    finally:
        os.environ.pop("CREDO_BASE_URL", None)


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
def _embedded_worker() -> Iterator[subprocess.Popen[bytes] | None]:
    """The worker as a child process of `credo serve`, unless turned off: one worker
    whatever the number of HTTP workers. A process, not a thread: composing e-mails is
    CPU work that would otherwise hold the GIL against the requests (a bulk publish signed
    at half speed while the previous bulk's e-mails went out)."""
    from credo.settings import Settings

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
        # The worker finishes the step in flight (an e-mail, an import chunk) and hands
        # back the rest; what it cannot finish in time is done again after its lease.
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=30)
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
    """Serve until stopped; exit non-zero when the server cannot start or its workers
    cannot stay up."""
    from uvicorn.config import STARTUP_FAILURE

    from credo import logs
    from credo.entrypoints.api.serving import Serving, serve
    from credo.settings import Settings

    settings = Settings()
    fmt = logs.chosen_format(settings.log_format, settings.environment)
    logs.configure(fmt)
    serving = Serving(
        host=host,
        port=port,
        workers=workers,
        healthcheck_timeout=settings.healthcheck_timeout,
        graceful_timeout=settings.graceful_shutdown_timeout,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        log_format=fmt,
    )
    try:
        code = serve(serving)
    except SystemExit as exc:
        # uvicorn exits outright when it cannot start (a port in use, an unreadable
        # certificate), after logging why: the command still ends with its one line.
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    if code == STARTUP_FAILURE:
        raise CommandError(f"the server could not start; its log says why ({code})", code)
    if code:
        raise CommandError(f"the server stopped: its workers could not stay up ({code})", code)


DEMO_NAME = "Credo Demo Academy"
DEMO_OWNER = "owner@demo.credo.example"  # RFC 2606: never a real mailbox


@app.command()
def demo(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    serve_it: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Serve once set up (or only set up and print)."),
    ] = True,
) -> None:
    """Set up a demo organization and serve it. Creates (or reuses) a sandbox
    organization with a group and an API key (kept in credo-data/demo-api-key and reused
    until it is revoked), prints how to use it, then serves."""
    with _served_base_url(host, port), _metrics_dir():
        _demo(host, port, serve_it)


def _demo(host: str, port: int, serve_it: bool) -> None:
    from credo.bootstrap import bootstrap
    from credo.domain.accounts import Role
    from credo.entrypoints.cli import demo_key
    from credo.services.credentials import groups
    from credo.services.people import members
    from credo.services.ports import UnitOfWork
    from credo.services.tenancy import organizations
    from credo.settings import Settings, default_data_dir

    settings = Settings()
    if settings.environment != "development":
        raise CommandError("the demo runs only in development (CREDO_ENVIRONMENT)")
    credo = bootstrap(settings, migrate=True)
    key_file = demo_key.key_path(default_data_dir())
    saved = demo_key.saved_key(key_file)

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
                key_name=demo_key.DEMO_KEY_NAME,
            )
            org_id = new.organization.id
            key = new.api_key
        elif (
            saved is not None
            and uow.api_keys.organization_for(organizations.hash_api_key(saved)) == org_id
        ):
            key = saved  # still open: restarts do not pile up keys
        else:  # revoked, lost, or made for another database
            key = organizations.issue_api_key(
                uow, org_id, credo.clock.now(), demo_key.DEMO_KEY_NAME
            )
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
    if key != saved:
        try:
            demo_key.save_key(key_file, key)
        except OSError as exc:
            err.print(
                f"note: the demo key could not be kept in {key_file} ({exc});"
                " the next start makes another"
            )
    base = settings.base_url.rstrip("/")
    import secrets

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
        with _embedded_worker():
            _run_server(host, port, 1)
