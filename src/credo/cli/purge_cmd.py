"""``credo purge``: records kept past the rulebook's retention period are erased, tombstones kept (docs/store.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from credo.cli.console import echo_json, out, phases
from credo.cli.store_ctx import cli_operator, open_from
from credo.services import retention
from credo.services.retention import PurgeReport

__all__ = ["purge_cmd"]


def purge_cmd(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would go, and change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object instead of text.")] = False,
    future: Annotated[
        bool,
        typer.Option(
            "--future",
            help="Purge although CREDO_TODAY is after today's date (on a copy of a store: it erases records that "
            "still count today).",
        ),
    ] = False,
) -> None:
    """Purge the records past the retention period of the rulebook in force: content erased, tombstones kept."""
    with open_from(ctx) as store, phases() as say:
        report = retention.purge(store, cli_operator(), dry_run=dry_run, future=future, progress=say)
    if as_json:
        echo_json(report.to_json())
        return
    _show(report)


def _show(report: PurgeReport) -> None:
    if report.keep_for is None:
        out.print(
            f"the rulebook in force ({report.rulebook_version}) sets no retention period: nothing is purged",
            markup=False,
        )
        return
    verb = "would be" if report.dry_run else "were"
    out.print(
        f"{'dry run: ' if report.dry_run else ''}as of {report.as_of} under rulebook {report.rulebook_version}, "
        f"records are kept {report.keep_for} day(s) past the last day they can count: "
        f"{report.total_records:,} record(s) ({report.total_versions:,} version(s)) {verb} purged, "
        f"{report.subjects:,} subject(s) left with no record {verb} removed, "
        f"{report.quarantined:,} quarantined row(s) past retention {verb} erased ({report.seconds:.2f} s)",
        markup=False,
        soft_wrap=True,
    )
    if report.records:
        table = Table("category", "records", "versions")
        for category in sorted(report.records):
            table.add_row(category, f"{report.records[category]:,}", f"{report.versions[category]:,}")
        out.print(table)
