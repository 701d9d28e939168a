"""``credo ingest`` and ``credo quarantine ...``: records into the store, and the rows it could not take."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from credo.batch.reader import InputError
from credo.cli.console import echo_json, err, fail, out, shown
from credo.cli.store_ctx import cli_operator, open_from, reads_personal_data
from credo.services import ingest as ingestion
from credo.services import operations
from credo.services.ingest import IngestSummary
from credo.services.unit_of_work import unit_of_work

__all__ = ["ingest", "quarantine_app"]

quarantine_app = typer.Typer(help="List and retry the rows ingestion could not store.", no_args_is_help=True)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _print_summary(summary: IngestSummary) -> None:
    rate = summary.read / summary.seconds if summary.seconds else 0.0
    out.print(
        f"read {summary.read:,}: new records {summary.new:,}, new versions {summary.versions:,}, "
        f"unchanged {summary.unchanged:,}, quarantined {summary.quarantined:,}"
        + (f" ({summary.already_quarantined:,} already in quarantine)" if summary.already_quarantined else ""),
        markup=False,
        soft_wrap=True,
    )
    out.print(
        f"subjects rescored {summary.subjects_rescored:,} in {summary.chunks:,} transaction(s); "
        f"{summary.seconds:.2f} s, {rate:,.0f} rows/s",
        markup=False,
    )
    for reason, count in sorted(summary.reasons.items(), key=lambda item: (-item[1], item[0])):
        out.print(f"  {count:,} × {reason}", markup=False, soft_wrap=True)
    if summary.quarantined:
        out.print("see them with: credo quarantine list", markup=False)


def ingest(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A record file (.csv, .jsonl, .parquet), a folder or a glob.")],
    source: Annotated[
        str | None,
        typer.Option("--source", metavar="SOURCE_ID", help="Take rows of this source only; others are quarantined."),
    ] = None,
) -> None:
    """Store records and rescore every subject they touch; bad rows go to the quarantine."""
    with open_from(ctx) as store, _bar() as bar:
        task = bar.add_task("ingesting", total=None)
        try:
            summary = ingestion.ingest(
                store,
                cli_operator(),
                str(path),
                source=source,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except InputError as exc:
            fail(f"{exc}; nothing was stored")
    _print_summary(summary)


@quarantine_app.command("list")
@reads_personal_data
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array instead of a table.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Resolved rows too, not only open ones.")] = False,
) -> None:
    """Quarantined rows: file, row, reason and the row as read, its identifier masked."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        entries = operations.quarantine(uow, cli_operator(), include_resolved=all_)
    if as_json:
        echo_json([e.as_json() for e in entries])
        return
    if not entries:
        out.print("the quarantine is empty" if all_ else "no open rows in the quarantine")
        return
    table = Table("id", "file", "row", "reason", "received", "state", "row as read (identifier masked)")
    for e in entries:
        raw = ", ".join(f"{k}={v}" for k, v in e.raw.items() if v is not None)
        cells = (str(e.id), e.file, str(e.row), e.reason, e.received_at.strftime("%Y-%m-%d %H:%M"), e.state, raw)
        table.add_row(*(shown(cell) for cell in cells))
    out.print(table)


@quarantine_app.command("retry")
def retry(ctx: typer.Context) -> None:
    """Process every open row again (e.g. after its source was registered); those now stored are resolved.

    A row cannot be corrected in place: send the corrected row again with credo ingest.
    """
    with open_from(ctx) as store, _bar() as bar:
        task = bar.add_task("retrying", total=None)
        result = ingestion.retry(
            store, cli_operator(), progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
    out.print(
        f"retried {result.retried:,}: resolved {result.resolved:,} (new records {result.outcome.new:,}, "
        f"new versions {result.outcome.versions:,}, unchanged {result.outcome.unchanged:,}), "
        f"still open {result.still_open:,}",
        markup=False,
        soft_wrap=True,
    )
