"""``credo deliver``, ``credo webhook`` and ``credo delivery``: sending notices and events (docs/due-process.md)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from credo.cli.console import echo_json, err, out, shown
from credo.cli.store_ctx import cli_operator, open_from, reads_personal_data
from credo.domain.delivery import overlap_of
from credo.services import delivery
from credo.services.delivery_pass import PassReport, SmtpSettings, run_pass
from credo.services.unit_of_work import unit_of_work
from credo.store.clock import utc_iso
from credo.store.delivery import PARTY_KINDS, STATES
from credo.store.webhook_hosts import ENV_ALLOW_HOSTS

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
    with open_from(ctx) as store:
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
        echo_json(report.to_json())
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
        str,
        typer.Argument(help="An https:// address that accepts POST (a private or http host: allow-host it first)."),
    ],
) -> None:
    """Send a party's events to URL; prints the new signing secret, once (a second set replaces it at once)."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        made = delivery.set_webhook(uow, cli_operator(), (party_kind, party_id), url)
    err.print(f"webhook of {shown(party_kind)} {shown(party_id)} set; its signing secret (shown once):")
    typer.echo(made.secret)
    if only_here := made.only_here:
        err.print(
            f"[yellow]warning: {shown(only_here)} is allowed only by {ENV_ALLOW_HOSTS} in this command; a server "
            f"started without it refuses these deliveries. Keep it in the store: credo webhook allow-host "
            f"{shown(only_here)}[/]"
        )


@webhook_app.command("rotate-secret")
def webhook_rotate_secret(
    ctx: typer.Context,
    party_kind: PartyKind,
    party_id: PartyId,
    overlap: Annotated[
        str, typer.Option(help="How long the old secret still signs beside the new: 24h, 2d ... at most 7d; 0: none.")
    ] = "24h",
) -> None:
    """Give a party's webhook a new signing secret (printed once); the old one signs beside it for OVERLAP."""
    try:
        span = overlap_of(overlap)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--overlap") from None
    with open_from(ctx) as store, unit_of_work(store) as uow:
        made = delivery.rotate_secret(uow, cli_operator(), (party_kind, party_id), span)
    old = made.old_until
    until = f"the old one signs beside it until {utc_iso(old)}" if old else "the old one no longer signs"
    err.print(f"webhook of {shown(party_kind)} {shown(party_id)}: new signing secret (shown once); {until}:")
    typer.echo(made.secret)


@webhook_app.command("remove")
def webhook_remove(ctx: typer.Context, party_kind: PartyKind, party_id: PartyId) -> None:
    """Stop a party's webhook; what was still owed to it is cancelled (kept in the delivery log, not sent)."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        delivery.remove_webhook(uow, cli_operator(), (party_kind, party_id))
    out.print(f"webhook of {party_kind} {party_id} removed", markup=False)


@webhook_app.command("list")
def webhook_list(ctx: typer.Context) -> None:
    """Every webhook (never its secret), and the hosts webhooks may reach although private or plain http."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        found = delivery.webhooks(uow)
    stored, allowed = found.stored_hosts, found.allowed_hosts
    if not found.rows:
        out.print("no webhooks")
    for row in found.rows:
        state = "enabled" if row["enabled"] else "disabled"
        overlap = row["previous_secret_until"]
        old = f"  (old secret signs too until {utc_iso(overlap)})" if overlap else ""
        line = f"{row['party_kind']}  {row['party_id']}  {row['url']}  {state}{old}"
        out.print(line, markup=False, soft_wrap=True)
    out.print(f"allowed hosts (in the store): {', '.join(stored) or 'none'}", markup=False)
    if extra := sorted(allowed - set(stored)):
        out.print(f"allowed in this process only ({ENV_ALLOW_HOSTS}): {', '.join(extra)}", markup=False)


HostArg = Annotated[str, typer.Argument(help="A host name or IP address, as in the webhook's URL.")]


@webhook_app.command("allow-host")
def webhook_allow_host(ctx: typer.Context, host: HostArg) -> None:
    """Let webhooks reach HOST although it is private, local or plain http (kept in the store: every process)."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        key, added = delivery.allow_host(uow, cli_operator(), host)
    out.print(f"{key} {'allowed' if added else 'was allowed already'}", markup=False)


@webhook_app.command("disallow-host")
def webhook_disallow_host(ctx: typer.Context, host: HostArg) -> None:
    """Take HOST off the store's allowed hosts: webhooks to it are refused when sent (and when set)."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        key = delivery.disallow_host(uow, cli_operator(), host)
    out.print(f"{key} no longer allowed", markup=False)


@delivery_app.command("list")
@reads_personal_data
def delivery_list(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="Only pending, delivered, failed or cancelled messages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines.")] = False,
) -> None:
    """Counts by channel and state, then the latest messages (no content: where, what event, which attempt, why)."""
    if state not in (None, *STATES):
        raise typer.BadParameter(f"must be {', '.join(STATES[:-1])} or {STATES[-1]}", param_hint="--state")
    with open_from(ctx) as store, unit_of_work(store) as uow:
        found = delivery.deliveries(uow, cli_operator(), state)
    if as_json:
        echo_json(found, default=_json_value)
        return
    for channel, counts in sorted(found["counts"].items()):
        out.print(f"{channel}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())), markup=False)
    for row in found["deliveries"]:
        error = ""
        if row["last_error"]:
            error = f"  {row['last_error']}" if row["state"] == "cancelled" else f"  last error: {row['last_error']}"
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
    with open_from(ctx) as store, unit_of_work(store) as uow:
        delivery.retry(uow, cli_operator(), delivery_id)
    out.print(f"delivery {delivery_id} will be tried again at the next pass", markup=False)
