"""``credo batch`` and ``credo explain``: score files of records without a store (explain: or from the store)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from credo.batch.engine import run_batch
from credo.cli.console import echo_json, fail, out, phases
from credo.cli.dates import DATE_METAVAR, date_parser
from credo.cli.engine_opt import engine_option
from credo.cli.explain_view import render_explanation
from credo.cli.store_ctx import cli_reader, open_from, reads_personal_data
from credo.rulebook_file import load_rulebook
from credo.services import scores
from credo.services.explain_files import explain_from_files
from credo.services.unit_of_work import unit_of_work

RecordsOpt = typer.Option(..., "--records", help="Records: a .csv, .jsonl or .parquet file, a folder, or a glob.")
RulebookOpt = typer.Option(..., "--rulebook", help="The rulebook YAML file.")
AsOfOpt = typer.Option(
    ..., "--as-of", parser=date_parser("--as-of"), metavar=DATE_METAVAR, help="Score as of this date (YYYY-MM-DD)."
)
ExplainRulebookOpt = typer.Option(None, "--rulebook", help="File mode: the rulebook YAML file.")
ExplainAsOfOpt = typer.Option(
    None,
    "--as-of",
    parser=date_parser("--as-of"),
    metavar=DATE_METAVAR,
    help="Explain as of this date (YYYY-MM-DD). Store mode: recomputed from the stored records under the "
    "rulebook in force then, writing nothing; default: the current state (today).",
)


def batch(
    *,
    records: str = RecordsOpt,
    rulebook: Path = RulebookOpt,
    as_of: dt.date = AsOfOpt,
    out_path: str = typer.Option(..., "--out", help="Scores file; .csv, .jsonl or .parquet by extension."),
    rejects: str | None = typer.Option(
        None,
        "--rejects",
        help="Rejected rows with row number and reason (default: beside --out, as <stem>.rejects.csv).",
    ),
    reasons: bool = typer.Option(False, "--reasons", help="Add a 'reasons' column: up to four reason codes."),
    engine: str = engine_option("that scores the records"),
) -> None:
    """Score every subject in a file of records: one row per subject, rejects kept with their reason."""
    book = load_rulebook(rulebook)
    with phases() as say:
        summary = run_batch(
            records, book, as_of, out_path, rejects=rejects, reasons=reasons, progress=say, engine=engine
        )
    # Plain lines for scripts and logs: paths are neither wrapped nor read as markup.
    out.print(
        f"records read {summary.read:,}  accepted {summary.accepted:,}  rejected {summary.rejected:,}  "
        f"subjects {summary.subjects:,}  seconds {summary.seconds:.2f}",
        soft_wrap=True,
    )
    out.print(f"scores  → {summary.out}", markup=False, soft_wrap=True)
    out.print(f"rejects → {summary.rejects}" + ("" if summary.rejected else " (none)"), markup=False, soft_wrap=True)


@reads_personal_data
def explain(
    ctx: typer.Context,
    *,
    subject_id: str = typer.Argument(..., help="The subject's identifier."),
    records: str | None = typer.Option(
        None,
        "--records",
        help="File mode: records in a .csv, .jsonl or .parquet file, a folder, or a glob "
        "(then --rulebook and --as-of are required). Without it, the subject is read from the store.",
    ),
    rulebook: Path | None = ExplainRulebookOpt,
    as_of: dt.date | None = ExplainAsOfOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the full explanation as JSON."),
) -> None:
    """Explain one subject's score: every record, dimension, list, measure, reason and the forecast.

    With --records, from files (as credo batch scores them); without, from the store.
    """
    if records is not None:
        if rulebook is None or as_of is None:
            fail("with --records, --rulebook and --as-of are required too (without --records: the store)")
        explanations = explain_from_files(subject_id, records, load_rulebook(rulebook), as_of)
    else:
        if rulebook is not None:
            fail("--rulebook goes with --records; the store uses the rulebook version in force on the date")
        with open_from(ctx) as store, unit_of_work(store) as uow:
            explanations = scores.explain(uow, subject_id, as_of, cli_reader())
    for explanation in explanations:
        if as_json:
            echo_json(explanation.to_json(), indent=2)
        else:
            render_explanation(explanation)
