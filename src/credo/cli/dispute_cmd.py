"""``credo dispute ...``: the reviewer's queue and decisions, as over the API (docs/due-process.md)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.markup import escape

from credo.cli.console import out
from credo.cli.dates import DATE_METAVAR, amount_parser, date_parser
from credo.cli.store_ctx import cli_actor, open_from, store_errors
from credo.store.audit import AuditEntry, append
from credo.store.clock import today
from credo.store.disputes import OUTCOMES, REPAIR_OUTCOMES, decide_dispute, queue
from credo.store.scoring import rescore_subjects

__all__ = ["app"]

app = typer.Typer(help="Review disputes: the queue, and decisions.", no_args_is_help=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array instead of a table.")] = False,
) -> None:
    """Open disputes and repair applications, the nearest deadline first."""
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        found = queue(connection)
    if as_json:
        typer.echo(json.dumps([d.to_json() for d in found], ensure_ascii=False))
        return
    if not found:
        out.print("no open disputes")
        return
    for d in found:  # a line each: the id must stay whole to be copied
        suspended = "record suspended" if d.suspends else "record counts meanwhile"
        line = (
            f"{d.dispute_id}  {d.kind}  {d.source}/{d.record_id}  opened {d.opened_on}  deadline {d.deadline}  "
            f"{suspended}"
        )
        out.print(escape(line), soft_wrap=True)


@app.command("decide")
def decide(  # noqa: PLR0917 (Typer passes options by keyword; the signature is the command's)
    ctx: typer.Context,
    dispute_id: Annotated[str, typer.Argument(help="The dispute's id (from credo dispute list).")],
    outcome: Annotated[
        str,
        typer.Option(help=f"A dispute: {', '.join(OUTCOMES)}. A repair application: {', '.join(REPAIR_OUTCOMES)}."),
    ],
    reasons: Annotated[str, typer.Option(help="Why: the subject reads it.")],
    amount: Annotated[
        float | None,
        typer.Option(
            parser=amount_parser("--amount"),
            metavar="DECIMAL",
            help="With corrected: the corrected amount (as in a record: 1250.50, at most 10^15).",
        ),
    ] = None,
    occurred_on: Annotated[
        dt.date | None,
        typer.Option(
            parser=date_parser("--occurred-on"),
            metavar=DATE_METAVAR,
            help="With corrected: the corrected occurred_on.",
        ),
    ] = None,
    resolved_on: Annotated[
        dt.date | None,
        typer.Option(
            parser=date_parser("--resolved-on"),
            metavar=DATE_METAVAR,
            help="With corrected: the corrected resolved_on.",
        ),
    ] = None,
) -> None:
    """Decide an open dispute or repair application; the subject's score is recomputed at once."""
    correction: dict[str, object] = {}
    if amount is not None:
        correction["amount"] = amount
    if occurred_on is not None:
        correction["occurred_on"] = occurred_on
    if resolved_on is not None:
        correction["resolved_on"] = resolved_on
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        day, now = today(store.environ), store.clock()
        decided, touched = decide_dispute(
            connection, dispute_id, outcome, reasons, cli_actor(), today=day, now=now, correction=correction or None
        )
        rescore_subjects(connection, touched, day)
        entry = AuditEntry(
            "reviewer", cli_actor(), "dispute.decide", "decision on a dispute", decided.subject_id,
            {"dispute_id": dispute_id, "outcome": outcome},
        )  # fmt: skip
        append(connection, [entry], now)
    out.print(f"dispute {dispute_id} decided: {outcome}; the subject's score is recomputed", markup=False)
