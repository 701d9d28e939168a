"""``credo deliver``, ``credo webhook`` and ``credo delivery``: sending notices and events (docs/due-process.md)."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.markup import escape

from credo.cli.console import err, out
from credo.cli.store_ctx import audit_cli, open_from, store_errors
from credo.notify import PassReport, SmtpSettings, allowed_hosts, run_pass
from credo.store.clock import utc_iso
from credo.store.delivery import PARTY_KINDS, delivery_rows, remove_webhook, retry_delivery, set_webhook, webhook_rows

__all__ = ["deliver", "delivery_app", "webhook_app"]

webhook_app = typer.Typer(
    help="Webhooks of relying parties and sources: where their signed events go.", no_args_is_help=True
)
delivery_app = typer.Typer(
    help="The delivery log: what is owed by email and webhook, and what became of it.", no_args_is_help=True
)

PartyKind = Annotated[str, typer.Argument(help=f"{' or '.join(PARTY_KINDS)}.")]
PartyId = Annotated[str, typer.Argument(help="The relying party's or source's id.")]


def deliver(
    ctx: typer.Context,
    watch: Annotated[
        float | None, typer.Option(help="Run a pass every this many seconds until Ctrl-C, instead of once.", min=1)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Each pass's counts as a JSON line.")] = False,
) -> None:
    """Send owed notices by email (CREDO_SMTP_*) and signed webhooks; failures are retried later, with backoff."""
    with open_from(ctx) as store, store_errors():
        smtp = SmtpSettings.from_env(store.environ)
        while True:
            report = run_pass(store, smtp)
            _print_pass(report, as_json)
            if watch is None:
                return
            try:
                time.sleep(watch)
            except KeyboardInterrupt:
                return


def _print_pass(report: PassReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_json()))
        return
    owed = report.enqueued
    out.print(
        f"owed: {owed.emails} emails, {owed.to_relying} to relying parties, {owed.to_sources} to sources; "
        f"delivered {report.delivered}, to retry {report.retrying}, given up {report.given_up}",
        markup=False,
    )
    if report.emails_waiting:
        err.print("[yellow]emails are waiting: set CREDO_SMTP_HOST and CREDO_SMTP_FROM to send them[/]")


@webhook_app.command("set")
def webhook_set(
    ctx: typer.Context,
    party_kind: PartyKind,
    party_id: PartyId,
    url: Annotated[
        str, typer.Argument(help="An https:// address that accepts POST (other hosts: CREDO_WEBHOOK_ALLOW_HOSTS).")
    ],
) -> None:
    """Send a party's events to URL; prints the new signing secret, once (a second set replaces it)."""
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        ring, allowed = store.keys(connection), allowed_hosts(store.environ)
        secret = set_webhook(connection, ring, (party_kind, party_id), url, store.clock(), allowed_hosts=allowed)
        audit_cli(connection, store, "webhook.set", {"party_kind": party_kind, "party_id": party_id})
    err.print(f"webhook of {escape(party_kind)} {escape(party_id)} set; its signing secret (shown once):")
    typer.echo(secret)


@webhook_app.command("remove")
def webhook_remove(ctx: typer.Context, party_kind: PartyKind, party_id: PartyId) -> None:
    """Stop a party's webhook; what was still owed to it is dropped."""
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        remove_webhook(connection, party_kind, party_id)
        audit_cli(connection, store, "webhook.remove", {"party_kind": party_kind, "party_id": party_id})
    out.print(f"webhook of {party_kind} {party_id} removed", markup=False)


@webhook_app.command("list")
def webhook_list(ctx: typer.Context) -> None:
    """Every webhook (never its secret)."""
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        rows = webhook_rows(connection)
    if not rows:
        out.print("no webhooks")
    for row in rows:
        state = "enabled" if row["enabled"] else "disabled"
        out.print(f"{row['party_kind']}  {row['party_id']}  {row['url']}  {state}", markup=False, soft_wrap=True)


@delivery_app.command("list")
def delivery_list(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="Only pending, delivered or failed messages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines.")] = False,
) -> None:
    """Counts by channel and state, then the latest messages (no content: where, what event, which attempt)."""
    if state not in (None, "pending", "delivered", "failed"):
        raise typer.BadParameter("must be pending, delivered or failed", param_hint="--state")
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        found = delivery_rows(connection, state)
    if as_json:
        typer.echo(json.dumps(found, default=_json_value))
        return
    for channel, counts in sorted(found["counts"].items()):
        out.print(f"{channel}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())), markup=False)
    for row in found["deliveries"]:
        error = f"  last error: {row['last_error']}" if row["last_error"] else ""
        out.print(
            f"{row['id']}  {row['channel']}  {row['party_kind']} {row['party_id']}  {row['event_type']}  "
            f"{row['state']} after {row['attempts']} attempt(s){error}",
            markup=False,
            soft_wrap=True,
        )


def _json_value(value: Any) -> str:
    return utc_iso(value)


@delivery_app.command("retry")
def delivery_retry(
    ctx: typer.Context, delivery_id: Annotated[int, typer.Argument(help="A failed message's id.", min=1)]
) -> None:
    """Try a message Credo gave up on once more, at the next pass."""
    with open_from(ctx) as store, store_errors(), store.begin() as connection:
        retry_delivery(connection, delivery_id, store.clock())
        audit_cli(connection, store, "delivery.retry", {"delivery_id": delivery_id})
    out.print(f"delivery {delivery_id} will be tried again at the next pass", markup=False)
