"""``credo dispute ...``: the reviewer's queue and decisions, as over the API (docs/due-process.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from credo.cli.console import echo_json, fail, out, shown
from credo.cli.dates import DATE_METAVAR, amount_parser, date_parser
from credo.cli.store_ctx import cli_actor, open_from, reads_personal_data
from credo.domain.disputes import OUTCOMES, REPAIR_OUTCOMES
from credo.services import disputes
from credo.services.actor import Actor
from credo.services.disputes import Decision
from credo.services.unit_of_work import unit_of_work
from credo.store.errors import StoreError
from credo.tokens import check_principal

__all__ = ["app"]

app = typer.Typer(help="Review disputes: the queue, one dispute, and decisions.", no_args_is_help=True)


@app.command("list")
@reads_personal_data
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array instead of lines.")] = False,
) -> None:
    """Open disputes and repair applications, the nearest deadline first, each with the subject's statement."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        found = disputes.review_queue(uow, Actor("reviewer", cli_actor()), statements=True)
    if as_json:
        echo_json(found)
        return
    if not found:
        out.print("no open disputes")
        return
    for d in found:  # a line each: the id must stay whole to be copied; the statement below it
        suspended = "record suspended" if d["record_suspended"] else "record counts meanwhile"
        line = (
            f"{d['dispute_id']}  {d['kind']}  {d['source']}/{d['record_id']}  opened {d['opened_on']}  "
            f"deadline {d['deadline']}  {suspended}"
        )
        out.print(shown(line), soft_wrap=True)
        out.print(f"  statement: {shown(d['statement'])}", soft_wrap=True)


@app.command("show")
@reads_personal_data
def show(
    ctx: typer.Context,
    dispute_id: Annotated[str, typer.Argument(help="The dispute's id (from credo dispute list).")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON, as GET /v1/disputes/{id} answers.")] = False,
) -> None:
    """One dispute or repair application: its state, the subject's statement, and the record it is about."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        body = disputes.for_review(uow, Actor("reviewer", cli_actor()), dispute_id)
    if as_json:
        echo_json(body)
        return
    suspended = "record suspended" if body["record_suspended"] else "record counts"
    where = f"{body['source']}/{body['record_id']}"
    out.print(
        f"[bold]{shown(body['dispute_id'])}[/]  {shown(body['kind'])}  {shown(where)}  "
        f"{shown(body['state'])}  opened {body['opened_on']}  deadline {body['deadline']}  {suspended}",
        soft_wrap=True,
    )
    out.print(f"[bold]statement:[/] {shown(body['statement'])}", soft_wrap=True)
    record = body["record"]
    if record is None:
        out.print("[bold]record:[/] no longer stored", soft_wrap=True)
    else:
        fields = ", ".join(f"{k} {v}" for k, v in record.items() if v is not None)
        out.print(f"[bold]record:[/] {shown(fields)}", soft_wrap=True)
    if body["outcome"] is not None:
        out.print(
            f"[bold]decided:[/] {shown(body['outcome'])} by {shown(body['decided_by'])} on {body['decided_on']}: "
            f"{shown(body['reasons'])}",
            soft_wrap=True,
        )


@app.command("decide")
def decide(
    ctx: typer.Context,
    *,
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
    reviewer: Annotated[
        str | None,
        typer.Option(
            help="Who decides, as the subject and the audit trail see it (lowercase letters, digits, '-', '_', '.'). "
            "Default: cli: and the user running the command."
        ),
    ] = None,
) -> None:
    """Decide an open dispute or repair application; the subject's score is recomputed at once."""
    name = cli_actor() if reviewer is None else _reviewer(reviewer)
    correction: dict[str, object] = {}
    if amount is not None:
        correction["amount"] = amount
    if occurred_on is not None:
        correction["occurred_on"] = occurred_on
    if resolved_on is not None:
        correction["resolved_on"] = resolved_on
    actor = Actor("reviewer", name, None if reviewer is None else cli_actor())  # at: who ran it, beside the name
    with open_from(ctx) as store, unit_of_work(store) as uow:
        disputes.decide(uow, actor, dispute_id, Decision(outcome, reasons, correction or None))
    out.print(f"dispute {dispute_id} decided: {outcome}; the subject's score is recomputed", markup=False)


def _reviewer(name: str) -> str:
    """A reviewer's name as the API's reviewer tokens carry one; a bad one is a one-line error."""
    try:
        return check_principal("reviewer", name)
    except StoreError as exc:
        fail(f"--reviewer: {exc}")
