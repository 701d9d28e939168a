"""The arguments that name who a token or a sign-in link is for, shared by ``credo token issue`` and
``credo signin-link`` so that both take the same words."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["KindOpt", "PrincipalArg", "RoleArg"]

RoleArg = Annotated[str, typer.Argument(help="operator, source, relying, reviewer, subject or auditor.")]
PrincipalArg = Annotated[
    str | None,
    typer.Argument(help="A source or relying-party id, the subject's identifier, or a name for the audit trail."),
]
KindOpt = Annotated[
    str | None,
    typer.Option(help="A subject's kind, person or organization; needed only for an identifier valid as both."),
]
