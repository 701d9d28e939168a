"""The rulebook as SQL facts for the catch-up walk (:mod:`credo.services.catchup`): which rules decay, which
lists' windows cut the walk, and when a segment's grade and measures are settled.
"""

from __future__ import annotations

from credo.batch.sqltext import div_round_half_away_sql
from credo.domain.rulebook import Rulebook

__all__ = ["clean_fors", "rule_facts_sql", "settled_sql"]


def rule_facts_sql(book: Rulebook) -> str:
    """Per rule: whether it decays, its dimension, whether a list counts its records, how long after a record it
    can still precede a repeat."""
    names = list(book.dimensions)
    listed = {c for lst in book.lists for c in lst.enter_when.categories or ()}
    rows = [
        f"({n}, {str(r.decay == 'linear').upper()}, {names.index(r.dimension)}, {str(r.category in listed).upper()}, "
        f"{r.counts_for + r.occurrence_window if r.repeat else 'NULL'})"
        for n, r in enumerate(book.rules)
    ]
    values = ", ".join(rows) or "(-1, FALSE, 0, FALSE, NULL)"
    return f"""SELECT rule_no, decays, dim_no, listed, CAST(repeat_reach AS BIGINT) AS repeat_reach
               FROM (VALUES {values}) f(rule_no, decays, dim_no, listed, repeat_reach)"""


def clean_fors(book: Rulebook) -> list[int]:
    return sorted({lst.enter_when.clean_for for lst in book.lists if lst.enter_when.clean_for is not None})


def settled_sql(book: Rulebook) -> str:
    """Whether grade and every ``dimension_at_most`` measure hold the same on every day of a segment.

    ``x.dims`` and ``y.dims`` are the dimension totals on its first and last
    day (NULL: nothing counts), each total moving one way in between.
    """
    names = list(book.dimensions)
    first = [f"coalesce(x.dims[{i + 1}], 0)" for i in range(len(names))]
    last = [f"coalesce(y.dims[{i + 1}], 0)" for i in range(len(names))]
    low = [f"least({a}, {b})" for a, b in zip(first, last, strict=True)]
    high = [f"greatest({a}, {b})" for a, b in zip(first, last, strict=True)]

    def score(parts: list[str]) -> str:
        total = " + ".join([str(100 * book.score.base), *parts])
        return f"least(greatest({div_round_half_away_sql(total, '100')}, {book.score.min}), {book.score.max})"

    lowest, highest = score(low), score(high)
    settled = [f"NOT ({lowest} < {g.min} AND {highest} >= {g.min})" for g in book.grades]
    for m in book.measures:
        limits = m.when.dimension_at_most
        if limits:
            always = " AND ".join(f"{high[names.index(d)]} <= {100 * v}" for d, v in limits.items())
            never = " OR ".join(f"{low[names.index(d)]} > {100 * v}" for d, v in limits.items())
            settled.append(f"(({always}) OR ({never}))")
    return " AND ".join(settled)
