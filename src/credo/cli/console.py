"""Shared console helpers: one clear line on failure, never a traceback."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["credo_command", "err", "fail", "out", "phases"]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def phases() -> Iterator[Callable[[str], None]]:
    """A spinner showing the phase it is given and the time elapsed, on stderr.

    For a person at a terminal only: in a pipe or a log it would only leave an empty line.
    """
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("starting", total=None)
        yield lambda phase: bar.update(task, description=phase)


def credo_command() -> str:
    """How to type ``credo`` here: plain when PATH finds this very program, else its path (``.venv/bin/credo``).

    A hint such as "ask the store: credo score ..." must work when pasted: after
    ``scripts/demo`` the command lives in ``.venv/bin``, which is seldom on PATH.
    """
    running = Path(sys.argv[0])
    if running.name != "credo" or not running.exists():
        return "credo"
    found = shutil.which("credo")
    if found is not None and Path(found).resolve() == running.resolve():
        return "credo"
    try:
        return os.path.relpath(running)
    except ValueError:  # another drive
        return str(running)
