"""``credo rescore``: every subject of the store rescored at once by the batch engine, written back in bulk."""

from __future__ import annotations

import typer

from credo.cli.console import out, phases
from credo.cli.engine_opt import engine_option
from credo.cli.store_ctx import cli_operator, open_from
from credo.services import rescoring


def rescore(ctx: typer.Context, engine: str = engine_option("for the store plan")) -> None:
    """Rescore every subject at today's date with the rulebook in force, and store the states and their events."""
    rescoring.check_engine(engine)
    with open_from(ctx) as store, phases() as say:
        summary = rescoring.rescore(store, cli_operator(), engine=engine, progress=say)
    out.print(
        f"rescored {summary.subjects} subject(s) from {summary.records} active record(s) as of {summary.as_of} "
        f"under rulebook {summary.rulebook_version} in {summary.seconds:.2f} s: "
        f"{summary.changed} changed, {summary.events} event(s) written, "
        f"{summary.written} stored state(s) rewritten (the others were already exact)",
        markup=False,
        soft_wrap=True,
    )
