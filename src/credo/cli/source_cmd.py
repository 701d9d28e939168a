"""``credo source ...``: register the sources that may send records, and what each may report."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from credo.cli.console import echo_json, out, shown
from credo.cli.store_ctx import audit_cli, open_from, store_errors
from credo.store import sources

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
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        sources.refuse_unknown_patterns(connection, category, store.clock().date())
        added = sources.add_source(connection, source_id, category, store.clock(), title=title, legal_basis=legal_basis)
        audit_cli(connection, store, "source.add", {"source": added.id, "categories": list(added.categories)})
    out.print(f"source {added.id} registered for {', '.join(added.categories)}", markup=False, soft_wrap=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array instead of a table.")] = False,
) -> None:
    """Every registered source, with its categories and whether it is enabled."""
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        found = sources.list_sources(connection)
    if as_json:
        rows = [
            {"id": s.id, "title": s.title, "legal_basis": s.legal_basis, "categories": list(s.categories),
             "enabled": s.enabled}
            for s in found
        ]  # fmt: skip
        echo_json(rows)
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
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        if sources.get_source(connection, source_id) is not None:
            sources.refuse_unknown_patterns(connection, category, store.clock().date())
        changed = sources.allow_categories(connection, source_id, category)
        audit_cli(connection, store, "source.allow", {"source": source_id, "categories": list(changed.categories)})
    out.print(f"source {changed.id} may report {', '.join(changed.categories)}", markup=False, soft_wrap=True)


@app.command("disable")
def disable(
    ctx: typer.Context, source_id: Annotated[str, typer.Argument(help="The id of a registered source.")]
) -> None:
    """Stop accepting records from a source; the records it sent stay, with their history."""
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        changed = sources.disable_source(connection, source_id)
        if changed:
            audit_cli(connection, store, "source.disable", {"source": source_id})
    out.print(f"source {source_id} {'disabled' if changed else 'was already disabled'}", markup=False)
