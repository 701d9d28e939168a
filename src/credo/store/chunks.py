"""One way to cut a long list of keys into IN (...) lists a database takes: :func:`chunks` of :data:`IN_LIST`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = ["IN_LIST", "chunks"]

IN_LIST = 5_000  # values per IN (...) list: well below SQLite's and PostgreSQL's parameter limits

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = IN_LIST) -> Iterator[Sequence[T]]:
    """``values`` in order, ``size`` at a time (the last part may be shorter; none for no values)."""
    if size < 1:
        raise ValueError("a chunk holds at least one value")
    for start in range(0, len(values), size):
        yield values[start : start + size]
