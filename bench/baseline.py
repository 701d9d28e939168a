"""The straightforward DuckDB query of the scoring contract, for comparison.

What a competent engineer writes first: keep the latest version with
``row_number()``, count occurrences with a RANGE window per category,
subtract the same-day records that come later, aggregate. It trusts its
input (typed Parquet, no validation), so the comparison flatters it.
"""

from __future__ import annotations

import datetime as dt

from credo.batch.plan import day_number
from credo.domain.rulebook import Rulebook

__all__ = ["baseline_sql"]


def baseline_sql(parquet: str, book: Rulebook, as_of: dt.date) -> str:
    t = day_number(as_of)
    rules = []
    for no, r in enumerate(book.rules):
        for kind in r.applies_to:
            rules.append(
                f"({no}, '{r.category}', '{kind}', '{r.dimension}', {r.points}, {r.counts_for}, "
                f"{int(r.decay == 'linear')}, {int(r.repeat is not None)}, {r.occurrence_window}, "
                f"{r.repeat.factor if r.repeat else 1}, {int(bool(r.repeat and r.repeat.first_is_warning))}, "
                f"{'NULL' if r.ends_after_resolution is None else r.ends_after_resolution})"
            )
    tiers = " ".join(
        f"WHEN rule_no = {no} AND amount >= {tier.min_amount!r} THEN {tier.points}"
        for no, r in enumerate(book.rules)
        for tier in sorted(r.tiers, key=lambda x: -x.min_amount)
    )
    windows = sorted({r.occurrence_window for r in book.rules})
    n_expr = (
        "CASE win "
        + " ".join(
            f"WHEN {w} THEN count(*) OVER (PARTITION BY subject_id, subject_kind, category ORDER BY occ "
            f"RANGE BETWEEN {w - 1} PRECEDING AND CURRENT ROW)"
            for w in windows
        )
        + " END"
    )
    dims = list(book.dimensions)
    dim_cols = ", ".join(
        f"least(greatest(coalesce(sum(c) FILTER (WHERE dimension = '{d}'), 0), {100 * b.min}), {100 * b.max}) AS d_{i}"
        for i, (d, b) in enumerate(book.dimensions.items())
    )
    total = " + ".join([str(100 * book.score.base), *(f"d_{i}" for i in range(len(dims)))])
    grade = (
        "CASE "
        + " ".join(f"WHEN score >= {g.min} THEN '{g.grade}'" for g in sorted(book.grades, key=lambda g: -g.min))
        + " END"
    )
    list_cols = []
    for lst in book.lists:
        if lst.enter_when.categories:
            cats = ", ".join(f"'{c}'" for c in lst.enter_when.categories)
            list_cols.append(f"bool_or(c IS NOT NULL AND category IN ({cats})) AS l_{lst.id.replace('-', '_')}")
    return f"""
    WITH src AS (SELECT *, file_row_number AS seq FROM read_parquet('{parquet}', file_row_number = true)),
    latest AS (
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY source, record_id ORDER BY seq DESC) AS rk FROM src)
        WHERE rk = 1
    ),
    rules (rule_no, category, kind, dimension, points, counts_for, decay, has_repeat, win, factor, warn, ear) AS (
        VALUES {", ".join(rules)}
    ),
    valid AS (
        SELECT l.subject_id, l.subject_kind, l.source, l.record_id, l.category, l.amount,
               occurred_on - DATE '1970-01-01' AS occ, resolved_on - DATE '1970-01-01' AS res, r.*
        FROM latest l JOIN rules r ON r.category = l.category AND r.kind = l.subject_kind
        WHERE l.status = 'active' AND l.occurred_on - DATE '1970-01-01' <= {t}
    ),
    numbered AS (
        SELECT *, CASE {tiers or "WHEN FALSE THEN 0"} ELSE points END AS base,
               {n_expr} - count(*) OVER (PARTITION BY subject_id, subject_kind, category, occ ORDER BY source, record_id
                                         ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS n,
               least(occ + counts_for, coalesce(res + ear, occ + counts_for)) AS ends
        FROM valid
    ),
    contributions AS (
        SELECT *, CASE WHEN ends > {t} THEN
            CASE WHEN decay = 1 THEN sign(eff) * round(abs(100.0 * eff * (occ + counts_for - {t}) / counts_for))
                 ELSE 100 * eff END END AS c
        FROM (SELECT *, CASE WHEN has_repeat = 0 THEN base WHEN n >= 2 THEN base * factor
                             WHEN warn = 1 THEN 0 ELSE base END AS eff FROM numbered)
    ),
    per_subject AS (
        SELECT subject_id, subject_kind, {dim_cols}{", " + ", ".join(list_cols) if list_cols else ""}
        FROM contributions GROUP BY subject_id, subject_kind
    ),
    scored AS (
        SELECT *, least(greatest(CAST(sign({total}) * round(abs({total}) / 100.0) AS BIGINT), {book.score.min}),
                        {book.score.max}) AS score
        FROM per_subject
    )
    SELECT *, {grade} AS grade FROM (
        SELECT s.subject_id, s.subject_kind, coalesce(score, {book.score.base}) AS score,
               p.* EXCLUDE (subject_id, subject_kind, score)
        FROM (SELECT DISTINCT subject_id, subject_kind FROM src) s
        LEFT JOIN scored p ON p.subject_id = s.subject_id AND p.subject_kind = s.subject_kind
    )
    """
