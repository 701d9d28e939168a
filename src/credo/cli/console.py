"""Shared console helpers: one clear line on failure, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.segment import Segment

__all__ = ["credo_command", "echo_json", "err", "fail", "json_text", "out", "phases", "printable", "shown"]

# Characters that reorder or hide text on a terminal without being control characters (bidi overrides, isolates).
_INVISIBLE = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in _INVISIBLE


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character a terminal would act on shown as its Python escape (``\\x1b``, ``\\u202e``).

    The one guard between stored data and a terminal: C0 and C1 control
    characters (ESC, BEL, CSI, NUL, CR ...), DEL, lone surrogates, and the
    bidirectional overrides and line separators that reorder or split what a
    person reads. A line break is escaped too unless ``keep_newlines``.
    """
    if text.isprintable() and not any(ch in _INVISIBLE for ch in text):
        return text
    return "".join(
        ch
        if not _unsafe(ch) or (keep_newlines and ch == "\n")
        else ch.encode("unicode_escape", "backslashreplace").decode()
        for ch in text
    )


def shown(value: object, *, keep_newlines: bool = False) -> str:
    """A value of the data, ready for a Rich format string: control characters escaped, markup not interpreted."""
    return escape(printable(str(value), keep_newlines=keep_newlines))


def json_text(value: object, *, indent: int | None = None, default: Callable[[Any], Any] = str) -> str:
    """``value`` as JSON (one line unless ``indent``; non-ASCII kept) in which no character acts on a terminal."""
    text = json.dumps(value, ensure_ascii=False, default=default, indent=indent)
    return "".join(f"\\u{ord(ch):04x}" if _unsafe(ch) and ch != "\n" else ch for ch in text)


def echo_json(value: object, *, indent: int | None = None, default: Callable[[Any], Any] = str) -> None:
    """Print ``value`` as JSON (:func:`json_text`) on stdout, for scripts."""
    typer.echo(json_text(value, indent=indent, default=default))


class SafeConsole(Console):
    """A Rich console whose every piece of text passes through :func:`printable` (line breaks kept).

    The net under :func:`shown`: whatever a command prints, a control
    character in it reaches the terminal escaped. Rich's own control
    segments (cursor moves of a progress bar) pass; styles are applied after
    this, so colours still work.
    """

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            text = segment.text if segment.control is not None else printable(segment.text, keep_newlines=True)
            yield segment if text is segment.text else Segment(text, segment.style)


out = SafeConsole(highlight=False)
err = SafeConsole(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """``error: MESSAGE`` on stderr and exit ``code``; the message is plain text (:func:`shown`), never markup."""
    err.print(f"[bold red]error:[/] {shown(message, keep_newlines=True)}", markup=True, soft_wrap=True)
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
