"""``credo rescore``: every subject of the store rescored at once by the batch engine, written back in bulk."""

from __future__ import annotations

import typer

from credo import engines
from credo.cli.console import fail, out, phases
from credo.cli.engine_opt import engine_option
from credo.cli.store_ctx import audit_cli, open_from, store_errors
from credo.store.rescore import rescore_store


def rescore(ctx: typer.Context, engine: str = engine_option("for the store plan")) -> None:
    """Rescore every subject at today's date with the rulebook in force, and store the states and their events."""
    try:
        engines.refuse_gap(engines.get(engine), engines.Gap.STORE)
    except engines.EngineError as exc:
        fail(str(exc))
    with open_from(ctx) as store, store_errors(), phases() as say:
        summary = rescore_store(store, engine=engine, progress=say)
        with store.begin() as connection:
            detail = {"subjects": summary.subjects, "changed": summary.changed, "events": summary.events}
            audit_cli(connection, store, "rescore", detail)
    out.print(
        f"rescored {summary.subjects} subject(s) from {summary.records} active record(s) as of {summary.as_of} "
        f"under rulebook {summary.rulebook_version} in {summary.seconds:.2f} s: "
        f"{summary.changed} changed, {summary.events} event(s) written, "
        f"{summary.written} stored state(s) rewritten (the others were already exact)",
        markup=False,
        soft_wrap=True,
    )
