"""``credo score`` and ``credo refresh``: read scores from the store, and keep them current."""

from __future__ import annotations

import datetime as dt

import typer

from credo.cli.console import echo_json, err, out, shown
from credo.cli.dates import DATE_METAVAR, date_parser
from credo.cli.store_ctx import audit_cli, cli_actor, open_from, reads_personal_data
from credo.domain.identifiers import mask_identifier
from credo.store.audit import append
from credo.store.clock import today
from credo.store.daily import lapse_and_refresh
from credo.store.reading import SubjectNotInStore, SubjectScore, score_subject

__all__ = ["refresh", "score"]

SubjectIdsArg = typer.Argument(..., help="The subjects' identifiers.")
StoreAsOfOpt = typer.Option(
    None,
    "--as-of",
    parser=date_parser("--as-of"),
    metavar=DATE_METAVAR,
    help="Recompute from the stored records as of this date (YYYY-MM-DD), under the rulebook in force then; "
    "writes nothing. Default: the stored current state.",
)


def _line(s: SubjectScore) -> str:
    st = s.state
    dims = ", ".join(f"{name} {total / 100:+.2f}" for name, total in st.dimensions.items())
    standing = "not scored (no consent)" if st.score is None else f"score {st.score}, grade {st.grade}"
    return (
        f"{mask_identifier(s.identifier)} ({s.kind}) as of {st.as_of}: {standing}  "
        f"[{dims}]  lists: {', '.join(st.lists) or 'none'}  measures: {', '.join(st.measures) or 'none'}  "
        f"(rulebook {st.rulebook_version})"
    )


def _reader() -> tuple[str, str, str]:
    return ("operator", cli_actor(), "command line lookup")


@reads_personal_data
def score(
    ctx: typer.Context,
    *,
    subject_id: list[str] = SubjectIdsArg,
    as_of: dt.date | None = StoreAsOfOpt,
    as_json: bool = typer.Option(
        False, "--json", help="One JSON object per subject and line (the identifier unmasked)."
    ),
) -> None:
    """Show subjects' scores from the store: score, grade, dimensions, lists, measures, rulebook version."""
    missing = 0
    with open_from(ctx) as store:
        day = today(store.environ)
        for position, identifier in enumerate(subject_id, 1):
            try:
                found = score_subject(store, identifier, day, as_of, reader=_reader())
            except SubjectNotInStore as exc:
                missing += 1
                which = f"subject {position} of {len(subject_id)}" if len(subject_id) > 1 else "subject"
                err.print(f"[bold red]error:[/] {shown(which)}: {shown(str(exc))}", soft_wrap=True)
                continue
            for s in found:
                if as_json:
                    echo_json(s.to_json())
                else:
                    out.print(_line(s), markup=False, soft_wrap=True)
    if missing:
        raise typer.Exit(1)


def refresh(ctx: typer.Context) -> None:
    """Bring every stored score that time or a newly active rulebook has made stale up to date (run daily)."""
    with open_from(ctx) as store:
        day = today(store.environ)
        with store.begin() as connection:
            daily = lapse_and_refresh(
                connection, day, cli_actor(), store.clock()
            )  # overdue disputes decided for the subject
            lapsed, outcome = daily.lapsed, daily.refreshed
            append(connection, daily.entries, store.clock())
            detail = {"as_of": day.isoformat(), "subjects": outcome.subjects, "changed": outcome.changed}
            audit_cli(connection, store, "refresh", detail)
    if lapsed:
        out.print(f"{len(lapsed)} dispute(s) past their deadline decided for the subject: record removed", markup=False)
    out.print(
        f"refreshed as of {day}: {outcome.subjects} subject(s) rescored, {outcome.changed} changed, "
        f"{outcome.events} event(s) written",
        markup=False,
        soft_wrap=True,
    )
