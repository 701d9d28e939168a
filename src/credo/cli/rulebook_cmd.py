"""``credo rulebook ...``: check a rulebook file; publish, activate and list the versions in the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from credo.cli.console import err, fail, out, shown
from credo.cli.dates import DATE_METAVAR, date_parser
from credo.cli.store_ctx import cli_operator, open_from
from credo.rulebook_file import RulebookError, parse_rulebook, read_rulebook_text
from credo.services import rulebooks
from credo.services.unit_of_work import unit_of_work

app = typer.Typer(help="Check, publish, activate and list rulebooks.", no_args_is_help=True)


@app.command("check")
def check(rulebook: Annotated[Path, typer.Argument(help="The rulebook YAML file.")]) -> None:
    """Check a rulebook: print a summary when valid, every problem with its line and place when not (exit 1)."""
    try:
        text = read_rulebook_text(rulebook)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        err.print(f"error: cannot read {rulebook}: {reason}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except RulebookError as exc:
        text, problems = None, exc.problems
    if text is not None:
        loaded = parse_rulebook(text, str(rulebook))
        problems = loaded.problems
    if text is None or not loaded.ok or loaded.rulebook is None:
        err.print(f"{rulebook}: {len(problems)} problem(s)", style="bold red", markup=False, soft_wrap=True)
        for problem in problems:
            # Places such as rules[3] and messages quoting YAML must print as written, not as markup.
            err.print(f"  {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    book = loaded.rulebook
    lines = [
        f"{book.rulebook} version {book.version}, effective from {book.effective_from}: valid",
        f"  score      base {book.score.base}, range {book.score.min}..{book.score.max}",
        f"  grades     {', '.join(f'{g.grade}>={g.min}' for g in sorted(book.grades, key=lambda g: -g.min))}",
        f"  dimensions {', '.join(f'{n} [{b.min}, {b.max}]' for n, b in book.dimensions.items())}",
        *(
            [f"  catalogue  {len(book.catalogue)} categories, each with the law that defines the breach"]
            if book.catalogue
            else []
        ),
        f"  rules      {len(book.rules)}",
        f"  lists      {', '.join(f'{x.id} ({x.kind})' for x in book.lists) or 'none'}",
        f"  measures   {', '.join(f'{m.id} ({m.kind})' for m in book.measures) or 'none'}",
        f"  examples   {len(book.examples)} worked example(s), all pass",
        f"  sha256     {loaded.checksum}",
    ]
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)


def _read(path: Path) -> str:
    try:
        return read_rulebook_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fail(f"cannot read {path}: {reason}")


@app.command("publish")
def publish(ctx: typer.Context, rulebook: Annotated[Path, typer.Argument(help="The rulebook YAML file.")]) -> None:
    """Store a checked rulebook as an immutable version; other content under a published version is refused."""
    text = _read(rulebook)
    with open_from(ctx) as store, unit_of_work(store) as uow:
        done = rulebooks.publish(uow, cli_operator(), text, str(rulebook))
    state = "published" if done.created else "already published with identical content; nothing changed"
    out.print(f"version {done.version} {state} (sha256 {done.checksum})", markup=False, soft_wrap=True)


@app.command("activate")
def activate(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="A published version.")],
    from_: Annotated[
        dt.date | None,
        typer.Option(
            "--from",
            parser=date_parser("--from"),
            metavar=DATE_METAVAR,
            help="First day in force; default: its effective_from.",
        ),
    ] = None,
) -> None:
    """Put a published version in force from a date; scores as of that date on use it."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        done = rulebooks.activate(uow, cli_operator(), version, from_)
    out.print(f"version {done.version} in force from {done.active_from}", markup=False, soft_wrap=True)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every published version, its checksum and the dates it was activated from."""
    with open_from(ctx) as store, unit_of_work(store) as uow:
        found = rulebooks.versions(uow)
    if not found:
        out.print("no rulebook published: credo rulebook publish FILE")
        return
    table = Table("version", "name", "effective from", "active from", "sha256")
    for v in found:
        starts = ", ".join(str(d) for d in v.active_from) or "not activated"
        table.add_row(shown(v.version), shown(v.name), str(v.effective_from), starts, v.checksum[:16])
    out.print(table)
