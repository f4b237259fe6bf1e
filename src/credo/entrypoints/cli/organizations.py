"""Organizations, their people and credits: `credo db upgrade`, `org create`, `user add`,
`credits`, `issue`, `audit`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from credo.entrypoints.cli.common import (
    CommandError,
    app,
    db_app,
    escape,
    opened,
    org_app,
    out,
    parse_date,
)

if TYPE_CHECKING:
    from credo.services.people.members import Login


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    with opened(migrate=True) as credo:
        out.print(f"database at head: {credo.engine.url.render_as_string(hide_password=True)}")


@db_app.command("recount")
def db_recount(
    org: Annotated[
        str | None,
        typer.Option(metavar="ORG", help="Recount only this organization (default: all)."),
    ] = None,
) -> None:
    """Set each group's credential count from its credentials. Run it once after an
    upgrade, when no older process runs any more."""
    from credo.services.credentials import groups

    with opened() as credo:
        org_ids = [org] if org else credo.runner.read(lambda uow: uow.organizations.all_ids())
        fixed = 0
        for org_id in org_ids:
            fixed += credo.runner.write(lambda uow, o=org_id: groups.recount(uow, o))  # type: ignore[misc]
        out.print(f"{len(org_ids)} organization(s) recounted: {fixed} group count(s) corrected")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The organization's name.")],
    plan: Annotated[
        str,
        typer.Option(metavar="PLAN", help="Its plan: launch-250, connect, growth or enterprise."),
    ] = "launch-250",
    credits: Annotated[
        int | None, typer.Option(metavar="N", help="Its yearly credits, for a custom plan.")
    ] = None,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Give it a test clock, to try billing years out.")
    ] = False,
    anchor: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD", help="The day its billing years start from (default: today)."
        ),
    ] = None,
    owner_email: Annotated[
        str | None,
        typer.Option(metavar="EMAIL", help="Make this person its owner, with a dashboard login."),
    ] = None,
    owner_name: Annotated[str, typer.Option(metavar="NAME", help="The owner's name.")] = "",
) -> None:
    """Create an organization. Prints its API key (shown once) and its owner's login."""
    from credo.domain.accounts import Role
    from credo.services.people import members
    from credo.services.ports import UnitOfWork
    from credo.services.tenancy import organizations

    with opened() as credo:
        anchor_day = parse_date(anchor, "anchor") if anchor else None

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
    out.print(f"e-mail:       {escape(login.user.email)}")
    if login.password is None:
        out.print("password:     [dim](their existing one)[/]")
    else:
        out.print(f"password:     {login.password}")
        out.print("[dim]The password is shown once; change it after signing in.[/]")


@app.command("user")
def user_add(
    action: Annotated[
        str, typer.Argument(metavar="ACTION", help="What to do; add is the only action.")
    ],
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The person's e-mail address.")],
    org: Annotated[str, typer.Option(metavar="ORG", help="The organization's id.")],
    role: Annotated[
        str, typer.Option(metavar="ROLE", help="Their role: owner, issuer or viewer.")
    ] = "issuer",
    name: Annotated[str, typer.Option(metavar="NAME", help="The person's name.")] = "",
) -> None:
    """Give a person a dashboard login. `credo user add EMAIL --org ORG --role ROLE`
    makes a login (its password printed once) or adds an existing person."""
    from credo.services.people import members

    if action != "add":
        raise CommandError("the only action is add: credo user add EMAIL --org ORG")
    with opened() as credo:
        chosen = members.parse_role(role)
        login = credo.runner.write(
            lambda uow: members.add_login(
                uow, credo.passwords, credo.clock, org, email=email, name=name, role=chosen
            )
        )
        out.print(f"{escape(login.user.email)} is now {chosen.value} of {escape(org)}")
        _print_login(login, credo.settings.base_url)


@app.command()
def credits(
    org: Annotated[str, typer.Option(metavar="ORG", help="The organization's id.")],
) -> None:
    """Show this billing year's credits."""
    from rich.table import Table

    from credo.services.billing import credits as credit_service

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
        if b.departments:
            caps = Table(title="Departments, this billing year")
            for col in ("department", "cap", "taken", "left"):
                caps.add_column(col)
            for f in b.departments:
                d = f.department
                caps.add_row(
                    escape(d.name),
                    "none" if d.credit_cap is None else str(d.credit_cap),
                    str(f.used),
                    "-" if f.remaining is None else str(f.remaining),
                )
            out.print(caps)


@app.command()
def issue(
    org: Annotated[str, typer.Option(metavar="ORG", help="The organization's id.")],
    group: Annotated[str, typer.Option(metavar="GROUP", help="The group's id.")],
    name: Annotated[str, typer.Option(metavar="NAME", help="The recipient's name.")],
    email: Annotated[str, typer.Option(metavar="EMAIL", help="The recipient's e-mail address.")],
    issued_on: Annotated[
        str | None, typer.Option(metavar="YYYY-MM-DD", help="The day it is issued on.")
    ] = None,
    expires_on: Annotated[
        str | None, typer.Option(metavar="YYYY-MM-DD", help="The day it expires on.")
    ] = None,
    draft: Annotated[
        bool, typer.Option("--draft", help="Create a draft instead of publishing it.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what it would cost.")
    ] = False,
) -> None:
    """Issue one credential to one recipient."""
    from credo.services.credentials import issuing
    from credo.services.credentials.issuing import Issued, NewCredential, Preview
    from credo.services.ports import UnitOfWork

    with opened() as credo:
        item = NewCredential(
            recipient_name=name,
            recipient_email=email,
            issued_on=parse_date(issued_on, "issued_on") if issued_on else None,
            expires_on=parse_date(expires_on, "expires_on") if expires_on else None,
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
            if c.status.value == "published":
                out.print(f"page: {credo.ctx.base_url}/c/{c.id}", soft_wrap=True)


@app.command()
def audit(
    org: Annotated[
        str | None,
        typer.Option(metavar="ORG", help="Audit only this organization (default: all)."),
    ] = None,
) -> None:
    """Check seats and balances against the ledger and credentials. Recomputes them and
    exits 1 on any mismatch."""
    from credo.services.billing import audit as audit_service

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
            if report.more_problems:
                out.print(f"  - and more: at most {audit_service.MAX_LISTED:,} of each kind listed")
            bad += not report.ok
    if bad:
        raise typer.Exit(1)
