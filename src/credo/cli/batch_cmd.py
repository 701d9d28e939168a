"""``credo batch`` and ``credo explain``: score files of records without a store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from credo.batch.engine import OutputError, run_batch
from credo.batch.reader import InputError
from credo.cli.console import err, fail, out
from credo.cli.explain_view import render_explanation
from credo.explain_service import SubjectNotFound, explain_from_files
from credo.rulebook_file import RulebookError, load_rulebook

RecordsOpt = typer.Option(..., "--records", help="Records: a .csv, .jsonl or .parquet file, a folder, or a glob.")
RulebookOpt = typer.Option(..., "--rulebook", help="The rulebook YAML file.")
AsOfOpt = typer.Option(..., "--as-of", formats=["%Y-%m-%d"], help="Score as of this date (YYYY-MM-DD).")


def batch(
    *,
    records: str = RecordsOpt,
    rulebook: Path = RulebookOpt,
    as_of: dt.datetime = AsOfOpt,
    out_path: str = typer.Option(..., "--out", help="Scores file; .csv, .jsonl or .parquet by extension."),
    rejects: str | None = typer.Option(
        None,
        "--rejects",
        help="Rejected rows with row number and reason (default: beside --out, as <stem>.rejects.csv).",
    ),
    reasons: bool = typer.Option(False, "--reasons", help="Add a 'reasons' column: up to four reason codes."),
) -> None:
    """Score every subject in a file of records: one row per subject, rejects kept with their reason."""
    try:
        book = load_rulebook(rulebook)
        # The spinner is for a person at a terminal; in a pipe or a log it would only leave an empty line.
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("starting", total=None)
            summary = run_batch(
                records,
                book,
                as_of.date(),
                out_path,
                rejects=rejects,
                reasons=reasons,
                progress=lambda phase: bar.update(task, description=phase),
            )
    except (RulebookError, InputError, OutputError) as exc:
        fail(escape(str(exc)))
    # Plain lines for scripts and logs: paths are neither wrapped nor read as markup.
    out.print(
        f"records read {summary.read:,}  accepted {summary.accepted:,}  rejected {summary.rejected:,}  "
        f"subjects {summary.subjects:,}  seconds {summary.seconds:.2f}",
        soft_wrap=True,
    )
    out.print(f"scores  → {summary.out}", markup=False, soft_wrap=True)
    out.print(f"rejects → {summary.rejects}" + ("" if summary.rejected else " (none)"), markup=False, soft_wrap=True)


def explain(
    *,
    subject_id: str = typer.Argument(..., help="The subject's identifier."),
    records: str = RecordsOpt,
    rulebook: Path = RulebookOpt,
    as_of: dt.datetime = AsOfOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the full explanation as JSON."),
) -> None:
    """Explain one subject's score: every record, dimension, list, measure, reason and the forecast."""
    try:
        book = load_rulebook(rulebook)
        explanations = explain_from_files(subject_id, records, book, as_of.date())
    except (RulebookError, InputError, SubjectNotFound) as exc:
        fail(escape(str(exc)))
    for explanation in explanations:
        if as_json:
            out.print_json(json.dumps(explanation.to_json(), ensure_ascii=False))
        else:
            render_explanation(explanation)
