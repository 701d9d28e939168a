"""``credo signin-link``: a one-time link that signs a person in to the pages (docs/web.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from credo.cli.console import err
from credo.cli.principal_opts import KindOpt, PrincipalArg, RoleArg
from credo.cli.store_ctx import cli_operator, open_from
from credo.services import signin
from credo.services.unit_of_work import unit_of_work

__all__ = ["signin_link"]


def signin_link(
    ctx: typer.Context,
    role: RoleArg,
    principal: PrincipalArg = None,
    *,
    expires: Annotated[str, typer.Option(help="How long the link can be used: 15m, 2h, 1d (at most 7d).")] = "15m",
    kind: KindOpt = None,
    base_url: Annotated[
        str, typer.Option(help="Where people reach credo serve (the link starts with it).")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Print a link that signs ROLE (and PRINCIPAL) in to the pages once; the link is the last line."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        code = signin.issue_link(uow, cli_operator(), role, principal, expires, kind=kind)
    err.print(f"A one-time sign-in link for {role}, good for {expires}. Hand it over as you would a password.")
    typer.echo(f"{base_url.rstrip('/')}/signin/{code}")
