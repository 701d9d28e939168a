"""``credo score`` and ``credo refresh``: read scores from the store, and keep them current."""

from __future__ import annotations

import datetime as dt

import typer

from credo.cli.console import echo_json, err, out, shown
from credo.cli.dates import DATE_METAVAR, date_parser
from credo.cli.store_ctx import cli_operator, cli_reader, open_from, reads_personal_data
from credo.domain.identifiers import mask_identifier
from credo.services import scores
from credo.services.scores import SubjectNotInStore, SubjectScore
from credo.services.unit_of_work import unit_of_work

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
        for position, identifier in enumerate(subject_id, 1):
            try:
                with unit_of_work(store) as uow:
                    found = scores.score(uow, identifier, as_of, cli_reader())
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
    with open_from(ctx) as store, unit_of_work(store) as uow:
        daily = scores.refresh(uow, cli_operator())
    lapsed, outcome, day = daily.lapsed, daily.refreshed, uow.today
    if lapsed:
        out.print(f"{len(lapsed)} dispute(s) past their deadline decided for the subject: record removed", markup=False)
    out.print(
        f"refreshed as of {day}: {outcome.subjects} subject(s) rescored, {outcome.changed} changed, "
        f"{outcome.events} event(s) written",
        markup=False,
        soft_wrap=True,
    )
