"""A rulebook compiled to one relational plan, written once as SQL.

The SQL uses DuckDB's dialect but only portable constructs (CASE, window
functions with RANGE frames, a VALUES table, integer arithmetic), so SQLGlot
can carry it to PostgreSQL and Spark (docs/adr/0002-batch-plan-sql-sqlglot.md).
Dates are day numbers and points hundredths: every engine does the same
exact integer arithmetic.

Input: the relation ``checked`` (see :mod:`credo.batch.validation`): every
row with typed fields, the exact integer subject key (ka, kb) and its
per-row reasons. Output (:attr:`ScoringPlan.subjects_sql`): one row per
well-shaped subject with its identifier problem (if any), whether it has an
accepted row, and its score, grade, dimensions, lists and measures.

Where the time goes, and what the plan does about it:

* Subjects are grouped and sorted by two BIGINTs, not 18-character text.
* Versions: a record is re-sent rarely, so duplicates are found by grouping
  a 64-bit hash of (source, record_id); only the few rows whose hash repeats
  are ranked exactly.
* Occurrences: only rules with ``repeat`` need n, and only whether n is 1 or
  at least 2. That is "an earlier record of the category lies inside the
  window", read from one window ordered by integers: the latest earlier day
  and the number of records on the same day. Only rows sharing a day with
  another record of the category are ranked by (source, record_id).
* Only rows that can matter reach those steps: records still counting,
  records that can precede them within a window, and recent negative records
  for ``clean_for`` lists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from credo.batch.sqltext import day_number, div_round_half_away_sql, lit
from credo.batch.validation import identifier_problem_sql
from credo.domain.rulebook import Rule, Rulebook

__all__ = ["ScoringPlan", "compile_plan"]


@dataclass(frozen=True)
class ScoringPlan:
    """The plan's SQL: per-subject results, then the published output columns in order."""

    subjects_sql: str
    output_sql: str  # over the materialised ``subject_scores`` table
    columns: tuple[str, ...]


def _base_points(rule: Rule) -> str:
    """Step 3 for one rule: tiers from the highest min_amount down, then plain points."""
    if not rule.tiers:
        return str(rule.points)
    tiers = sorted(rule.tiers, key=lambda t: -t.min_amount)
    whens = " ".join(f"WHEN amount >= {t.min_amount!r} THEN {t.points}" for t in tiers)
    return f"CASE {whens} ELSE {rule.points} END"


def _rules_values(book: Rulebook) -> str:
    rows = []
    names = list(book.dimensions)
    for rule_no, rule in enumerate(book.rules):
        repeat = rule.repeat
        for kind in rule.applies_to:
            rows.append(
                f"({rule_no}, {lit(rule.category)}, {lit(kind)}, {names.index(rule.dimension)}, {rule.counts_for}, "
                f"{int(rule.decay == 'linear')}, {int(repeat is not None)}, {rule.occurrence_window}, "
                f"{repeat.factor if repeat else 1}, {int(bool(repeat and repeat.first_is_warning))}, "
                f"{-1 if rule.ends_after_resolution is None else rule.ends_after_resolution})"
            )
    if not rows:  # a rulebook without rules still scores everybody at the base
        rows.append("(-1, '', '', -1, 1, 0, 0, 1, 1, 0, -1)")
    return ",\n            ".join(rows)


def _joined(flags: dict[str, str]) -> str:
    """Sorted ids of the true flags, joined by ';' (empty text when none)."""
    if not flags:
        return "''"
    parts = ", ".join(f"CASE WHEN {cond} THEN {lit(key)} END" for key, cond in sorted(flags.items()))
    return f"concat_ws(';', {parts})"


REASONS_SQL = """,
    harm AS (
        SELECT ka, kb, category, sum(contribution) AS points
        FROM scored WHERE counting AND contribution < 0 GROUP BY ka, kb, category
    ),
    reasons AS (
        SELECT ka, kb, string_agg(category, ';' ORDER BY rank_no) AS reasons
        FROM (SELECT *, row_number() OVER (PARTITION BY ka, kb ORDER BY points, category) AS rank_no FROM harm)
        WHERE rank_no <= 4 GROUP BY ka, kb
    )"""


def compile_plan(book: Rulebook, as_of: dt.date, *, reasons: bool = False) -> ScoringPlan:
    """The whole contract (steps 1-12) for ``book`` at ``as_of``."""
    t = day_number(as_of)
    dims = list(book.dimensions.items())
    clean = [lst.enter_when.clean_for for lst in book.lists if lst.enter_when.clean_for]
    dirty_from = t - max(clean) if clean else t  # negative records after this day matter to clean_for
    base_case = " ".join(f"WHEN {n} THEN {_base_points(r)}" for n, r in enumerate(book.rules))
    base_expr = f"CASE r.rule_no {base_case} END" if book.rules else "0"
    effective = "(CASE WHEN has_repeat = 0 THEN base WHEN repeated THEN base * factor WHEN warn = 1 THEN 0 ELSE base END)"
    linear = div_round_half_away_sql(f"100 * {effective} * (occ + counts_for - {t})", "counts_for")
    contribution = f"(CASE WHEN decay = 1 THEN {linear} ELSE 100 * {effective} END)"
    in_window = f"(has_repeat = 1 AND occ > {t} - counts_for - win)"  # a counting repeat record or a predecessor

    sums = [f"sum(CASE WHEN counting AND dim_no = {i} THEN contribution ELSE 0 END) AS raw_{i}" for i in range(len(dims))]
    list_aggs, list_flags = [], {}
    for i, lst in enumerate(book.lists):
        trigger = lst.enter_when
        if trigger.categories is not None:
            cats = ", ".join(lit(c) for c in trigger.categories)
            list_aggs.append(f"bool_or(counting AND category IN ({cats})) AS list_{i}")
            list_flags[lst.id] = f"coalesce(list_{i}, FALSE)"
        else:
            assert trigger.grade_at_least is not None
            cond = f"score >= {book.grade_min(trigger.grade_at_least)}"
            if trigger.clean_for is not None:
                list_aggs.append(f"bool_or(base < 0 AND occ > {t - trigger.clean_for}) AS dirty_{i}")
                cond += f" AND NOT coalesce(dirty_{i}, FALSE)"
            list_flags[lst.id] = f"({cond})"
    measure_flags = {}
    names = list(book.dimensions)
    for m in book.measures:
        when = m.when
        if when.on_list is not None:
            measure_flags[m.id] = list_flags[when.on_list]
        elif when.grade_at_least is not None:
            measure_flags[m.id] = f"(score >= {book.grade_min(when.grade_at_least)})"
        else:
            assert when.dimension_at_most is not None
            limits = [f"dim_{names.index(d)} <= {100 * v}" for d, v in when.dimension_at_most.items()]
            measure_flags[m.id] = "(" + " AND ".join(limits) + ")"

    clamped = ", ".join(
        f"least(greatest(coalesce(raw_{i}, 0), {100 * b.min}), {100 * b.max}) AS dim_{i}" for i, (_, b) in enumerate(dims)
    )
    total = " + ".join([str(100 * book.score.base), *(f"dim_{i}" for i in range(len(dims)))])
    score = f"least(greatest({div_round_half_away_sql(total, '100')}, {book.score.min}), {book.score.max})"
    grade = "CASE " + " ".join(
        f"WHEN score >= {g.min} THEN {lit(g.grade)}" for g in sorted(book.grades, key=lambda g: -g.min)
    ) + " END"
    flag_names = [a.rsplit(" AS ", 1)[1] for a in list_aggs]
    zero_cols = ", ".join(["NULL AS category", "FALSE AS counting", "0 AS dim_no", "0 AS contribution", "0 AS base", "0 AS occ"])
    row_cols = "ka, kb, source, record_id, category, occ, rule_no, dim_no, counts_for, decay, has_repeat, win, factor, warn, base, ends, counting"

    subjects_sql = f"""
    WITH rules (rule_no, category, kind, dim_no, counts_for, decay, has_repeat, win, factor, warn, ear) AS (
        VALUES
            {_rules_values(book)}
    ),
    shaped AS (SELECT * FROM checked WHERE pre_reason IS NULL),
    ok AS (
        SELECT ka, kb, source, record_id, subject_id, subject_kind, category, occ, res, amount, status, file_no, row_no,
               hash(source, record_id) AS rh
        FROM shaped WHERE post_reason IS NULL
    ),
    dup AS (SELECT rh FROM ok GROUP BY rh HAVING count(*) > 1),
    candidates AS (
        SELECT *, row_number() OVER (PARTITION BY source, record_id ORDER BY file_no DESC, row_no DESC) AS version_rank
        FROM ok
        WHERE rh IN (SELECT rh FROM dup) AND ({identifier_problem_sql("subject_id", "subject_kind")}) IS NULL
    ),
    latest AS (
        SELECT ka, kb, source, record_id, subject_kind, category, occ, res, amount, status
        FROM ok WHERE rh NOT IN (SELECT rh FROM dup)
        UNION ALL
        SELECT ka, kb, source, record_id, subject_kind, category, occ, res, amount, status
        FROM candidates WHERE version_rank = 1
    ),
    ruled AS (
        SELECT l.ka, l.kb, l.source, l.record_id, l.category, l.occ, r.rule_no, r.dim_no, r.counts_for, r.decay,
               r.has_repeat, r.win, r.factor, r.warn, {base_expr} AS base,
               CASE WHEN r.ear >= 0 AND l.res IS NOT NULL AND l.res + r.ear < l.occ + r.counts_for
                    THEN l.res + r.ear ELSE l.occ + r.counts_for END AS ends
        FROM latest l JOIN rules r ON r.category = l.category AND r.kind = l.subject_kind
        WHERE l.status = 'active' AND l.occ <= {t}
    ),
    relevant AS (
        SELECT ka, kb, source, record_id, category, occ, rule_no, dim_no, counts_for, decay, has_repeat, win, factor,
               warn, base, ends, ends > {t} AS counting
        FROM ruled
        WHERE ends > {t} OR (base < 0 AND occ > {dirty_from}) OR {in_window}
    ),
    days AS (
        SELECT {row_cols},
               max(occ) OVER (PARTITION BY ka, kb, rule_no ORDER BY occ
                              RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_day,
               count(*) OVER (PARTITION BY ka, kb, rule_no ORDER BY occ
                              RANGE BETWEEN CURRENT ROW AND CURRENT ROW) AS same_day
        FROM relevant WHERE {in_window}
    ),
    flagged AS (
        SELECT {row_cols}, coalesce(prev_day > occ - win, FALSE) AS repeated FROM days WHERE same_day = 1
        UNION ALL
        SELECT {row_cols}, coalesce(prev_day > occ - win, FALSE) OR day_rank > 1 AS repeated
        FROM (SELECT *, row_number() OVER (PARTITION BY ka, kb, rule_no, occ ORDER BY source, record_id) AS day_rank
              FROM days WHERE same_day > 1)
    ),
    scored AS (
        SELECT ka, kb, category, occ, dim_no, base, counting, {contribution} AS contribution
        FROM (
            SELECT {row_cols}, FALSE AS repeated FROM relevant WHERE NOT {in_window}
            UNION ALL
            SELECT {row_cols}, repeated FROM flagged
        )
    ),
    agg AS (
        SELECT ka, kb, any_value(subject_id) AS subject_id, any_value(subject_kind) AS subject_kind,
               bool_or(accepted) AS present,
               {", ".join([*sums, *list_aggs])}
        FROM (
            SELECT ka, kb, subject_id, subject_kind, post_reason IS NULL AS accepted, {zero_cols} FROM shaped
            UNION ALL
            SELECT ka, kb, NULL, NULL, FALSE, category, counting, dim_no, contribution, base, occ FROM scored
        )
        GROUP BY ka, kb
    ),
    dims AS (
        SELECT ka, kb, subject_id, subject_kind, present,
               {identifier_problem_sql("subject_id", "subject_kind")} AS id_problem,
               {clamped}{"".join(", " + f for f in flag_names)}
        FROM agg
    ),
    totals AS (SELECT *, {score} AS score FROM dims){REASONS_SQL if reasons else ""}
    SELECT s.ka, s.kb, s.subject_id, s.subject_kind, s.present, s.id_problem, s.score, {grade} AS grade,
           {", ".join(f"dim_{i}" for i in range(len(dims)))},
           {_joined(list_flags)} AS lists, {_joined(measure_flags)} AS measures
           {", coalesce(rs.reasons, '') AS reasons" if reasons else ""}
    FROM totals s {"LEFT JOIN reasons rs ON rs.ka = s.ka AND rs.kb = s.kb" if reasons else ""}
    """
    dim_out = ", ".join(f"CAST(dim_{i} / 100.0 AS DECIMAL(18, 2)) AS dim_{n}" for i, (n, _) in enumerate(dims))
    columns = (
        "subject_id", "subject_kind", "score", "grade", *(f"dim_{n}" for n in book.dimensions),
        "lists", "measures", *(("reasons",) if reasons else ()),
    )
    output_sql = f"""
    SELECT subject_id, subject_kind, score, grade, {dim_out}, lists, measures{", reasons" if reasons else ""}
    FROM subject_scores WHERE present AND id_problem IS NULL"""
    return ScoringPlan(subjects_sql, output_sql, columns)
