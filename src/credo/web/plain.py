"""A rulebook arranged for reading: grade bands with their ranges, rules by dimension, lists and measures.

Pure (no I/O): it arranges what the rulebook says, and the templates word it in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from credo.domain.rulebook import CatalogueEntry, GradeTexts, ListDef, Measure, Rule, Rulebook

__all__ = ["Band", "Plain", "describe"]


@dataclass(frozen=True)
class Band:
    """A grade, the scores it covers (``low`` to ``high`` inclusive), and its meaning if the rulebook gives one."""

    grade: str
    low: int
    high: int
    meaning: str | None = None
    texts: Mapping[str, GradeTexts] = field(default_factory=dict)  # the meaning in other languages


@dataclass(frozen=True)
class Dimension:
    """A dimension of the score, its bounds, and the rules whose records count in it."""

    name: str
    low: int
    high: int
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Plain:
    """What the rulebook page shows, in the order it shows it."""

    book: Rulebook
    bands: tuple[Band, ...]  # best first
    dimensions: tuple[Dimension, ...]
    lists: tuple[ListDef, ...]
    measures: tuple[Measure, ...]
    catalogue: dict[str, CatalogueEntry]  # category -> its entry: the law that defines the breach, when given


def bands(book: Rulebook) -> tuple[Band, ...]:
    """The grade bands, best first: each from its ``min`` up to the next grade's minus one (the top to ``max``)."""
    ordered = sorted(book.grades, key=lambda g: g.min, reverse=True)
    found, high = [], book.score.max
    for grade in ordered:
        found.append(Band(grade.grade, max(grade.min, book.score.min), high, grade.meaning, grade.texts))
        high = grade.min - 1
    return tuple(found)


def describe(book: Rulebook) -> Plain:
    """The rulebook arranged for its public page."""
    dimensions = tuple(
        Dimension(name, bounds.min, bounds.max, tuple(r for r in book.rules if r.dimension == name))
        for name, bounds in book.dimensions.items()
    )
    catalogue = {entry.category: entry for entry in book.catalogue or ()}
    return Plain(book, bands(book), dimensions, book.lists, book.measures, catalogue)
