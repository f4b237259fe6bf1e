"""An organization's API keys from the command line: `credo key list`, `key create`,
`key revoke`. For an operator who must stop a leaked key when nobody can sign in to the
dashboard; a revoked key is refused at once by every process, as from the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from credo.entrypoints.cli.common import CommandError, escape, key_app, opened, out

if TYPE_CHECKING:
    from credo.services.ports import UnitOfWork

Org = Annotated[str, typer.Option(metavar="ORG", help="The organization's id.")]


@key_app.command("list")
def key_list(org: Org) -> None:
    """List the organization's API keys: id, name, first characters, created, last used."""
    from credo.services.tenancy.clocks import load_org

    def when(at: datetime | None) -> str:
        return at.strftime("%Y-%m-%d %H:%M") if at else "never"

    with opened() as credo:
        keys = credo.runner.read(lambda uow: (load_org(uow, org), uow.api_keys.all(org))[1])
        if not keys:
            out.print("no API keys")
        # A line each, the id first and whole: it is what `key revoke` takes.
        for k in keys:
            state = f", revoked {when(k.revoked_at)}" if k.revoked_at else ""
            out.print(
                f"{k.id}  {escape(k.name)}  (starts {k.prefix})  created {when(k.created_at)},"
                f" last used {when(k.last_used_at)}{state}",
                soft_wrap=True,
            )


@key_app.command("create")
def key_create(
    name: Annotated[str, typer.Argument(help="What the key is for (1 to 100 characters).")],
    org: Org,
    department: Annotated[
        str | None,
        typer.Option(help="Limit the key to this department's id (credo department list)."),
    ] = None,
) -> None:
    """Make a new API key. It is printed once: only its hash is kept."""
    from credo.domain.accounts import api_key_name_problem
    from credo.services.tenancy import organizations
    from credo.services.tenancy.clocks import load_org

    name = name.strip()
    problem = api_key_name_problem(name)
    if problem is not None:
        raise CommandError(f"the name {problem}", code=2)
    with opened() as credo:

        def make(uow: UnitOfWork) -> str:
            load_org(uow, org)
            return organizations.issue_api_key(uow, org, credo.clock.now(), name, department)

        token = credo.runner.write(make)
        out.print(f"API key {escape(name)!r} of {escape(org)} (shown only now):")
        out.print(token, markup=False)


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key's id (key list).")],
    org: Org,
) -> None:
    """Revoke an API key: every request carrying it is refused from now on."""
    from credo.services.tenancy import organizations
    from credo.services.tenancy.clocks import load_org

    with opened() as credo:

        def revoke(uow: UnitOfWork) -> bool:
            load_org(uow, org)
            return organizations.revoke_api_key(uow, org, key_id, credo.clock.now())

        if not credo.runner.write(revoke):
            raise CommandError("no such key in this organization, or it is revoked already", code=4)
        out.print(f"revoked {escape(key_id)}")
