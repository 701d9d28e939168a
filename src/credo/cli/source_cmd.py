"""``credo source ...``: register the sources that may send records, and what each may report."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from credo.cli.console import echo_json, out, shown
from credo.cli.store_ctx import cli_operator, open_from
from credo.services import administration
from credo.services.unit_of_work import unit_of_work

app = typer.Typer(help="Register, list and disable sources.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    source_id: Annotated[str, typer.Argument(help="The source's id, as records name it (e.g. tax-authority).")],
    category: Annotated[
        list[str],
        typer.Option("--category", help="A category it may report (tax.late_payment), or a namespace (tax.*)."),
    ],
    title: Annotated[str | None, typer.Option(help="A readable name; defaults to the id.")] = None,
    legal_basis: Annotated[str | None, typer.Option(help="The law or agreement under which it reports.")] = None,
) -> None:
    """Register a source and the categories it may report; an id already registered is refused."""
    new = administration.SourceIn(source_id, category, title, legal_basis)
    with open_from(ctx) as store, unit_of_work(store) as uow:
        added = administration.add_source(uow, cli_operator(), new)
    out.print(f"source {added.id} registered for {', '.join(added.categories)}", markup=False, soft_wrap=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array instead of a table.")] = False,
) -> None:
    """Every registered source, with its categories and whether it is enabled."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        found = administration.list_sources(uow)
    if as_json:
        echo_json([administration.source_json(s) for s in found])
        return
    table = Table("source", "title", "categories", "legal basis", "enabled")
    for s in found:
        cells = (s.id, s.title, ", ".join(s.categories), s.legal_basis or "", "yes" if s.enabled else "no")
        table.add_row(*(shown(cell) for cell in cells))
    out.print(table if found else "no sources registered: credo source add SOURCE_ID --category PATTERN")


@app.command("allow")
def allow(
    ctx: typer.Context,
    source_id: Annotated[str, typer.Argument(help="The id of a registered source.")],
    category: Annotated[
        list[str],
        typer.Option("--category", help="Another category it may report (tax.late_payment), or a namespace (tax.*)."),
    ],
) -> None:
    """Let a registered source report more categories; then credo quarantine retry stores its rows held for that."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        changed = administration.allow_categories(uow, cli_operator(), source_id, category)
    out.print(f"source {changed.id} may report {', '.join(changed.categories)}", markup=False, soft_wrap=True)


@app.command("disable")
def disable(
    ctx: typer.Context, source_id: Annotated[str, typer.Argument(help="The id of a registered source.")]
) -> None:
    """Stop accepting records from a source; the records it sent stay, with their history."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        changed = administration.disable_source(uow, cli_operator(), source_id)
    out.print(f"source {source_id} {'disabled' if changed else 'was already disabled'}", markup=False)
