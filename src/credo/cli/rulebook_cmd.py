"""``credo rulebook ...``: check a rulebook file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from credo.cli.console import err, out
from credo.rulebook_file import parse_rulebook

app = typer.Typer(help="Check rulebooks.", no_args_is_help=True)


@app.command("check")
def check(rulebook: Annotated[Path, typer.Argument(help="The rulebook YAML file.")]) -> None:
    """Check a rulebook: print a summary when valid, every problem with its line and place when not (exit 1)."""
    try:
        text = rulebook.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        err.print(f"error: cannot read {rulebook}: {reason}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    loaded = parse_rulebook(text, str(rulebook))
    if not loaded.ok or loaded.rulebook is None:
        err.print(f"{rulebook}: {len(loaded.problems)} problem(s)", style="bold red", markup=False, soft_wrap=True)
        for problem in loaded.problems:
            # Places such as rules[3] and messages quoting YAML must print as written, not as markup.
            err.print(f"  {problem}", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    book = loaded.rulebook
    lines = [
        f"{book.rulebook} version {book.version}, effective from {book.effective_from}: valid",
        f"  score      base {book.score.base}, range {book.score.min}..{book.score.max}",
        f"  grades     {', '.join(f'{g.grade}>={g.min}' for g in sorted(book.grades, key=lambda g: -g.min))}",
        f"  dimensions {', '.join(f'{n} [{b.min}, {b.max}]' for n, b in book.dimensions.items())}",
        f"  rules      {len(book.rules)}",
        f"  lists      {', '.join(f'{x.id} ({x.kind})' for x in book.lists) or 'none'}",
        f"  measures   {', '.join(f'{m.id} ({m.kind})' for m in book.measures) or 'none'}",
        f"  examples   {len(book.examples)} worked example(s), all pass",
        f"  sha256     {loaded.checksum}",
    ]
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)
