"""``credo serve``, ``credo token``, ``credo relying`` and ``credo audit``: the HTTP API and what it needs."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.table import Table

from credo.cli.console import echo_json, err, fail, out, shown
from credo.cli.principal_opts import KindOpt, PrincipalArg, RoleArg
from credo.cli.store_ctx import cli_operator, open_from
from credo.services import administration, audit, tokens
from credo.services.unit_of_work import unit_of_work

__all__ = ["audit_app", "relying_app", "serve", "token_app"]

token_app = typer.Typer(help="Issue API tokens.", no_args_is_help=True)
relying_app = typer.Typer(help="Register relying parties and the measures each may ask about.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the audit trail.", no_args_is_help=True)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.", min=1, max=65535)] = 8000,
    deliver_every: Annotated[
        float,
        typer.Option(
            help="Seconds between passes that send owed notices and webhooks (SMTP from CREDO_SMTP_*); 0: none.",
            min=0,
            envvar="CREDO_DELIVERY_INTERVAL",
        ),
    ] = 15.0,
) -> None:
    """Serve the HTTP API (docs/api.md) over the store: routes under /v1, OpenAPI at /v1/openapi.json.

    The pages for people are served too (docs/web.md); they sign in with an OpenID Connect provider when
    CREDO_OIDC_CLIENT_ID, CREDO_OIDC_ISSUER and CREDO_OIDC_REDIRECT_URL are set (docs/web.md, "Signing in with
    OpenID Connect").
    """
    import uvicorn

    from credo.api.app import create_app

    with open_from(ctx) as store:
        app = create_app(store, deliver_every=deliver_every or None)
        err.print(
            f"Credo on http://{host}:{port}/ (pages for people) and http://{host}:{port}/v1/docs (the API; "
            "OpenAPI: /v1/openapi.json); Ctrl-C stops it"
        )
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("uvicorn.error").addFilter(_no_traceback)
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # uvicorn's access log prints paths, and paths hold identifiers
            server_header=False,
            loop="uvloop",
            http="httptools",
            log_config=None,
        )


def _no_traceback(record: logging.LogRecord) -> bool:
    """uvicorn logs an application error with its traceback; the type is enough (values may hold identifiers)."""
    if record.exc_info and record.exc_info[0] is not None:
        record.msg = f"{record.getMessage()}: {record.exc_info[0].__name__}"
        record.args = ()
        record.exc_info = record.exc_text = None
    return True


@token_app.command("issue")
def issue(
    ctx: typer.Context,
    role: RoleArg,
    principal: PrincipalArg = None,
    expires: Annotated[str, typer.Option(help="How long it is valid: 8h, 30d, 12w, 1y.")] = "30d",
    kind: KindOpt = None,
) -> None:
    """Print a signed bearer token for ROLE (and PRINCIPAL), and nothing else."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        token = tokens.issue(uow, cli_operator(), role, principal, expires, kind=kind)
    typer.echo(token)


@relying_app.command("add")
def relying_add(
    ctx: typer.Context,
    relying_id: Annotated[str, typer.Argument(help="The party's id (e.g. city-bank).")],
    measure: Annotated[list[str], typer.Option("--measure", help="A measure id it may ask about (repeat it).")],
    title: Annotated[str | None, typer.Option(help="A readable name; defaults to the id.")] = None,
) -> None:
    """Register a relying party for the measures its purpose needs; asking about any other is refused."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        party = administration.add_relying(uow, cli_operator(), relying_id, measure, title)
    out.print(f"relying party {party.id} registered for {', '.join(party.measures)}", markup=False, soft_wrap=True)


@relying_app.command("list")
def relying_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array instead of a table.")] = False,
) -> None:
    """Every relying party, its measures, and whether it is enabled."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        found = administration.list_relying(uow)
    if as_json:
        echo_json([p.to_json() for p in found])
        return
    if not found:
        out.print("no relying parties registered: credo relying add RELYING_ID --measure MEASURE_ID")
        return
    table = Table("relying party", "title", "measures", "enabled")
    for p in found:
        table.add_row(shown(p.id), shown(p.title), shown(", ".join(p.measures)), "yes" if p.enabled else "no")
    out.print(table)


@relying_app.command("disable")
def relying_disable(
    ctx: typer.Context, relying_id: Annotated[str, typer.Argument(help="The id of a registered relying party.")]
) -> None:
    """Stop answering a relying party; its past decisions stay."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        changed = administration.disable_relying(uow, cli_operator(), relying_id)
    out.print(f"relying party {relying_id} {'disabled' if changed else 'was already disabled'}", markup=False)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the hash chain from the first entry; name the first broken entry and exit 1 if there is one."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        report = audit.verify(uow)
    if not report.intact:
        fail(
            f"the audit trail is broken at entry {report.broken_at}: {report.problem} "
            f"({report.entries} entries verified before it)"
        )
    out.print(
        f"the audit trail is intact: {report.entries} entries; head {report.head.hex()}", markup=False, soft_wrap=True
    )
