"""``credo rulebook ...``: check a rulebook file."""

from __future__ import annotations

from pathlib import Path

import typer

from credo.cli.console import err, out
from credo.rulebook_file import parse_rulebook

app = typer.Typer(help="Check rulebooks.", no_args_is_help=True)


@app.command("check")
def check(rulebook: Path = typer.Argument(..., help="The rulebook YAML file.")) -> None:
    """Check a rulebook: print a summary when valid, every problem when not (exit 1)."""
    try:
        text = rulebook.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"error: cannot read {rulebook}: {getattr(exc, 'strerror', None) or exc}")
        raise typer.Exit(1) from None
    loaded = parse_rulebook(text, str(rulebook))
    if not loaded.ok or loaded.rulebook is None:
        err.print(f"{rulebook}: {len(loaded.problems)} problem(s)", style="bold red")
        for problem in loaded.problems:
            err.print(f"  {problem}", soft_wrap=True)
        raise typer.Exit(1)
    book = loaded.rulebook
    out.print(f"[bold]{book.rulebook}[/] version {book.version}, effective from {book.effective_from}: valid")
    out.print(f"  score      base {book.score.base}, range {book.score.min}..{book.score.max}")
    out.print(f"  grades     {', '.join(f'{g.grade}>={g.min}' for g in sorted(book.grades, key=lambda g: -g.min))}")
    out.print(f"  dimensions {', '.join(f'{n} [{b.min}, {b.max}]' for n, b in book.dimensions.items())}")
    out.print(f"  rules      {len(book.rules)}")
    out.print(f"  lists      {', '.join(f'{x.id} ({x.kind})' for x in book.lists) or 'none'}")
    out.print(f"  measures   {', '.join(f'{m.id} ({m.kind})' for m in book.measures) or 'none'}")
    out.print(f"  examples   {len(book.examples)} worked example(s), all pass")
    out.print(f"  sha256     {loaded.checksum}")
