"""Departments and their credit caps from the command line (credits.md R16..R21):
`credo department list`, `department add`, `department cap`. The same service as the
API and the dashboard; a cap change is recorded as made from the command line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from credo.entrypoints.cli.common import CommandError, dept_app, escape, opened, out

if TYPE_CHECKING:
    from credo.domain.entities import Department
    from credo.services.ports import UnitOfWork

Org = Annotated[str, typer.Option(metavar="ORG", help="The organization's id.")]
ACTOR = "the command line"


@dept_app.command("list")
def department_list(org: Org) -> None:
    """List the departments: id, name, cap, and seats taken this billing year."""
    from credo.services.billing import departments

    with opened() as credo:
        figures = credo.runner.read(lambda uow: departments.figures(uow, credo.clock, org))
        if not figures:
            out.print("no departments")
        for f in figures:
            d = f.department
            cap = "no cap" if d.credit_cap is None else f"cap {d.credit_cap}"
            left = "" if f.remaining is None else f", {f.remaining} left"
            out.print(
                f"{d.id}  {escape(d.name)}  {cap}, {f.used} taken this billing year{left}",
                soft_wrap=True,
            )


@dept_app.command("add")
def department_add(
    name: Annotated[str, typer.Argument(help="The department's name (1 to 200 characters).")],
    org: Org,
    cap: Annotated[
        int | None,
        typer.Option(min=0, help="The most seats its groups may take in a billing year."),
    ] = None,
) -> None:
    """Add a department, with a credit cap or without one."""
    from credo.services.billing import departments

    with opened() as credo:

        def add(uow: UnitOfWork) -> Department:
            return departments.create(uow, credo.clock, org, name=name, credit_cap=cap, actor=ACTOR)

        dept = credo.runner.write(add)
        limit = "no cap" if dept.credit_cap is None else f"a cap of {dept.credit_cap}"
        out.print(f"added {dept.id} ({escape(dept.name)}), {limit}")


@dept_app.command("cap")
def department_cap(
    department_id: Annotated[
        str, typer.Argument(metavar="DEPARTMENT_ID", help="The department's id (list).")
    ],
    org: Org,
    cap: Annotated[
        int | None, typer.Option(min=0, help="The new cap: seats per billing year.")
    ] = None,
    none: Annotated[bool, typer.Option("--none", help="Remove the cap.")] = False,
) -> None:
    """Change a department's cap. It applies at once to this billing year; lowering it
    below the seats taken refuses more and gives nothing back."""
    from credo.services.billing import departments

    if (cap is None) == (not none):
        raise CommandError("give either --cap N or --none", code=2)
    with opened() as credo:

        def change(uow: UnitOfWork) -> Department:
            return departments.update(
                uow, credo.clock, org, department_id, {"credit_cap": cap}, actor=ACTOR
            )

        dept = credo.runner.write(change)
        limit = "no cap" if dept.credit_cap is None else f"a cap of {dept.credit_cap}"
        out.print(f"{dept.id} ({escape(dept.name)}) now has {limit}")
