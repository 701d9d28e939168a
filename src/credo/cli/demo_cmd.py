"""``credo demo``: a synthetic town scored by the Demo City rulebook, in batch and through the store."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from credo.batch.engine import BatchSummary, run_batch
from credo.cli.console import credo_command, err, fail, out
from credo.cli.dates import DATE_METAVAR, date_parser
from credo.cli.explain_view import render_explanation
from credo.cli.store_ctx import cli_actor, db_option
from credo.demo import DEMO_AS_OF, TownStats, demo_rulebook_text, generate_town
from credo.demo.store_load import Agreement, StoreLoad, compare_with_batch, load_town
from credo.demo.summary import Count, RunSummary, lowest_scored, summarize
from credo.demo.visitors import Visitor, visitors, worth_disputing
from credo.domain.rulebook import Rulebook
from credo.rulebook_file import RulebookError, load_rulebook, parse_rulebook
from credo.services.explain_files import explain_from_files
from credo.store.bootstrap import open_store
from credo.store.database import display_url

__all__ = ["demo"]

_GENERATE_STEPS = 3  # making identifiers, drawing records, writing Parquet
_SCORE_STEPS = 4  # reading, validating and scoring, writing scores, writing rejects
SERVED_AT = "http://127.0.0.1:8000"  # where `credo serve` listens by default: the sign-in links point there


def _rulebook(path: Path | None) -> Rulebook:
    if path is not None:
        return load_rulebook(path)
    loaded = parse_rulebook(demo_rulebook_text(), "demo-city.yaml (built in)")
    if loaded.rulebook is None or not loaded.ok:
        raise RulebookError(loaded.path, loaded.problems)
    return loaded.rulebook


def _phases(bar: Progress, steps: int) -> Callable[[str], None]:
    """A progress callback that moves a new bar one step per phase announced."""
    task = bar.add_task("starting", total=steps)
    done = 0

    def phase(name: str) -> None:
        nonlocal done
        bar.update(task, description=name, completed=done)
        done = min(done + 1, steps)

    return phase


def _counts(
    title: str,
    header: str,
    rows: tuple[Count, ...],
    *,
    kind: bool = False,
    principal: bool = False,
    unit: str = "subjects",
) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    table.add_column(header)
    if kind:
        table.add_column("kind")
    table.add_column(unit, justify="right")
    table.add_column("%", justify="right")
    if principal:
        table.add_column("principal reason", justify="right")
    for row in rows:
        cells = [row.name, *([row.kind] if kind else []), f"{row.count:,}", f"{100 * row.share:.2f}"]
        table.add_row(*cells, *([f"{row.extra:,}"] if principal else []))
    return table


def _print_summary(town: TownStats, batch: BatchSummary, summary: RunSummary, timings: dict[str, float]) -> None:
    out.print()
    out.print(
        f"[bold]Town[/]  {town.people:,} people, {town.organizations:,} organisations; "
        f"{town.records:,} record rows ({town.later_versions:,} later versions, {town.withdrawn:,} withdrawals, "
        f"{town.future_dated:,} dated after the as-of date, {town.bad_rows:,} deliberately bad)"
    )
    out.print(f"[bold]Records[/]  read {batch.read:,}  accepted {batch.accepted:,}  rejected {batch.rejected:,}")
    kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(summary.by_kind.items()))
    kinds = f" ({kinds})" if kinds else ""
    out.print(f"[bold]Subjects[/]  {summary.subjects:,} scored{kinds}; subjects without records keep the base score")
    out.print()
    out.print(_counts("Grades", "grade", summary.grades))
    out.print(_counts("Lists", "list", summary.lists, kind=True))
    out.print(_counts("Measures in force", "measure", summary.measures, kind=True))
    out.print(_counts("Reason codes (top 10)", "reason code", summary.reasons, principal=True))
    if summary.rejects:
        out.print(_counts("Reject reasons", "reason", summary.rejects, unit="rows"))
    out.print("[bold]Time[/]  " + "  ".join(f"{phase} {seconds:.2f} s" for phase, seconds in timings.items()))


# Long: its options are its signature (40 lines); the body is the demo told in order (generate, score, store).
def demo(
    ctx: typer.Context,
    *,
    people: Annotated[int, typer.Option("--people", min=0, help="People in the synthetic town.")] = 100_000,
    organizations: Annotated[
        int, typer.Option("--organizations", min=0, help="Organisations in the synthetic town.")
    ] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same town: the generator is deterministic.")] = 7,
    as_of: Annotated[
        dt.date,
        typer.Option(
            "--as-of",
            parser=date_parser("--as-of"),
            metavar=DATE_METAVAR,
            show_default=DEMO_AS_OF.isoformat(),
            help="Generate and score as of this date. Fixed by default (the as-of date of the published "
            "scoring vectors) so that the demo gives the same figures on every run.",
        ),
    ] = DEMO_AS_OF,
    rulebook: Annotated[
        Path | None,
        typer.Option(
            "--rulebook",
            show_default="the built-in Demo City rulebook, identical to rulebooks/demo-city.yaml",
            help="Rulebook YAML file.",
        ),
    ] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for records.parquet, scores.parquet and rejects.csv.")
    ] = Path("out"),
    bad_rows: Annotated[
        int, typer.Option("--bad-rows", min=0, help="Deliberately invalid rows to add, to show rejects being counted.")
    ] = 16,
    store: Annotated[
        bool,
        typer.Option(
            "--store/--no-store",
            help="Also load the town into the store through ingestion (real-time scoring, quarantine) and check "
            "that its scores equal the batch's. The store is OUT/credo.db, made afresh on every run (its key file "
            "beside it), unless the global --db names another: that one is used as it is.",
        ),
    ] = True,
) -> None:
    """Generate a synthetic town, score it with the Demo City rulebook, load it into the store, summarise."""
    try:
        book = _rulebook(rulebook)
        text = demo_rulebook_text() if rulebook is None else rulebook.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{rulebook}: cannot read: {exc.strerror or exc}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"{out_dir}: cannot create folder: {exc.strerror or exc}")
    records, scores, rejects = (str(out_dir / name) for name in ("records.parquet", "scores.parquet", "rejects.csv"))
    day = as_of
    timings: dict[str, float] = {}
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    if people == 0 or organizations == 0:
        bad_rows = 0  # a bad row is made from a real person and organisation of the town
    try:
        with Progress(*columns, console=err, transient=True) as bar:
            town = generate_town(
                records, people, organizations, seed, day, progress=_phases(bar, _GENERATE_STEPS), bad_rows=bad_rows
            )
            timings["generate"] = town.seconds
            batch = run_batch(
                records, book, day, scores, rejects=rejects, reasons=True, progress=_phases(bar, _SCORE_STEPS)
            )
            timings["score"] = batch.seconds
            loaded = None
            if store:
                started = time.perf_counter()
                loaded = _load_store(ctx, out_dir, records, scores, text=text, day=day, bar=bar)
                timings["store"] = time.perf_counter() - started
    except (ValueError, OSError) as exc:
        fail(str(exc))
    started = time.perf_counter()
    summary = summarize(scores, book, rejects)
    timings["summarise"] = time.perf_counter() - started
    out.print(f"[bold]{book.rulebook}[/] {book.version}, as of {day.isoformat()}, seed {seed}")
    _print_summary(town, batch, summary, timings)
    out.print(f"records → {records}\nscores  → {scores}\nrejects → {rejects}")
    _explain_one(scores, records, book, day)
    if loaded is not None:
        where, load, agreement, welcome = loaded
        _print_store(where, load, agreement)
        _print_visitors(where, welcome)


def _load_store(
    ctx: typer.Context, out_dir: Path, records: str, scores: str, *, text: str, day: dt.date, bar: Progress
) -> tuple[str, StoreLoad, Agreement, list[Visitor]]:
    """Load the town into the store (a fresh OUT/credo.db unless --db names one) and compare with the batch."""
    db = db_option(ctx)
    if db is None:
        path = out_dir / "credo.db"
        for old in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", ".keys"))):
            old.unlink(missing_ok=True)  # the demo's own store of an earlier run
        db = f"sqlite:///{path}"
    task = bar.add_task("loading into the store", total=None)

    def progress(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    opened = open_store(db)
    try:
        now = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        loaded = load_town(opened, records, text, day, now, actor=cli_actor(), progress=progress)
        bar.update(task, description="comparing with the batch")
        agreement = compare_with_batch(opened, scores)
        bar.update(task, description="issuing sign-in links")
        welcome = visitors(opened, worth_disputing(records, scores), actor=cli_actor(), base_url=SERVED_AT)
    finally:
        opened.engine.dispose()
    return display_url(opened.url), loaded, agreement, welcome


def _print_visitors(where: str, welcome: list[Visitor]) -> None:
    """How to look around the pages: the command that serves the store, and who to sign in as."""
    out.print()
    out.print(f"[bold]Look around[/]  serve the store with: {credo_command()} --db {where} serve", soft_wrap=True)
    out.print(f"then open {SERVED_AT}/ and sign in with one of these links (each works once, for a day):")
    for visitor in welcome:
        out.print(f"  {visitor.who}:")
        out.print(f"    {visitor.link}", markup=False, soft_wrap=True)


def _print_store(where: str, loaded: StoreLoad, agreement: Agreement) -> None:
    ingest = loaded.ingest
    rate = ingest.read / ingest.seconds if ingest.seconds else 0.0
    out.print()
    out.print(
        f"[bold]Store[/]  {where}: {ingest.read:,} rows ingested in {ingest.seconds:.1f} s ({rate:,.0f} rows/s): "
        f"new {ingest.new:,}, new versions {ingest.versions:,}, unchanged {ingest.unchanged:,}, "
        f"quarantined {ingest.quarantined:,}; {loaded.subjects:,} subjects scored in real time under "
        f"{loaded.rulebook_version}, {loaded.events:,} events in the outbox"
    )
    if agreement.equal:
        out.print(
            f"[bold]Agreement[/]  the store's scores equal the batch engine's for all {agreement.compared:,} subjects"
        )
    else:
        out.print(
            f"[bold red]Disagreement[/]  of {agreement.compared:,} subjects, {agreement.differ:,} differ; "
            f"{agreement.only_in_batch:,} only in the batch, {agreement.only_in_store:,} only in the store"
        )
    out.print(
        f"Ask the store: {credo_command()} --db {where} score SUBJECT_ID | explain SUBJECT_ID | quarantine list",
        markup=False,
        soft_wrap=True,
    )


def _explain_one(scores: str, records: str, book: Rulebook, day: dt.date) -> None:
    """Explain the lowest-scored person on a black list (else the lowest score), as a subject would see it."""
    chosen = lowest_scored(scores)
    if chosen is None:
        return
    out.print()
    out.print("[bold]One subject, explained[/] (the lowest score in town; identifiers are masked on screen):")
    for explanation in explain_from_files(chosen, records, book, day):
        render_explanation(explanation)
    out.print(
        f"Explain anyone (identifiers are in {scores}): {credo_command()} explain SUBJECT_ID "
        f"--records {records} --rulebook rulebooks/demo-city.yaml --as-of {day.isoformat()}"
    )
