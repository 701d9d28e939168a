"""Shared console helpers: one clear line on failure, never a traceback."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

__all__ = ["err", "fail", "out"]

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)
