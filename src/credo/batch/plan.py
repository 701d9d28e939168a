"""A rulebook compiled to one relational plan, written once as SQL.

The SQL is written in DuckDB's dialect using only portable constructs
(CASE, window functions, EXISTS, integer arithmetic, a VALUES table), so
that SQLGlot can transpile it to PostgreSQL and Spark SQL (see
docs/adr/0002-one-plan-sql-and-sqlglot.md). Dates are day numbers and points
are hundredths, so every engine does exact integer arithmetic.

The input is a relation ``records`` of accepted rows with columns
subject_id, subject_kind, source, record_id, category, occ (day number),
res (day number or NULL), amount (DOUBLE or NULL), status and seq (a later
row of the same record has a larger seq). The plan's output has one row per
subject with at least one row.

Where the time goes, and what the plan does about it:

* Only rules with ``repeat`` need the occurrence number n, and only whether
  n is 1 or at least 2. That holds exactly when an earlier record of the same
  category (in the contract's order) falls inside the window, which an EXISTS
  over the same subject and category answers without ranking every record.
* Only records still counting at T need n at all; earlier records are
  looked at only as predecessors, within one window of the oldest counting one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from credo.domain.rulebook import Rule, Rulebook

__all__ = ["EPOCH", "ScoringPlan", "compile_plan", "day_number"]

EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _div_round_half_away(numerator: str, denominator: str) -> str:
    """SQL for ``numerator / denominator`` (integer, denominator > 0), halves away from zero."""
    magnitude = f"((2 * abs({numerator}) + {denominator}) // (2 * {denominator}))"
    return f"(CASE WHEN ({numerator}) < 0 THEN -{magnitude} ELSE {magnitude} END)"


def _base_points(rule_no: int, rule: Rule) -> str:
    """Step 3 for one rule: tiers from the highest min_amount down, then plain points."""
    if not rule.tiers:
        return str(rule.points)
    tiers = sorted(rule.tiers, key=lambda t: -t.min_amount)
    whens = " ".join(f"WHEN amount >= {t.min_amount!r} THEN {t.points}" for t in tiers)
    return f"CASE {whens} ELSE {rule.points} END"


@dataclass(frozen=True)
class ScoringPlan:
    """The plan's SQL and the output columns it produces, in order."""

    sql: str
    columns: tuple[str, ...]


def _rules_values(book: Rulebook) -> str:
    rows = []
    for rule_no, rule in enumerate(book.rules):
        dim_no = list(book.dimensions).index(rule.dimension)
        repeat = rule.repeat
        for kind in rule.applies_to:
            rows.append(
                f"({rule_no}, {_lit(rule.category)}, {_lit(kind)}, {dim_no}, {rule.counts_for}, "
                f"{1 if rule.decay == 'linear' else 0}, {1 if repeat else 0}, "
                f"{repeat.window if repeat else rule.counts_for}, {repeat.factor if repeat else 1}, "
                f"{1 if repeat and repeat.first_is_warning else 0}, "
                f"{'NULL' if rule.ends_after_resolution is None else rule.ends_after_resolution})"
            )
    if not rows:  # a rulebook without rules still scores everybody at the base
        rows.append("(-1, NULL, NULL, -1, 1, 0, 0, 1, 1, 0, NULL)")
    return ",\n            ".join(rows)


def compile_plan(book: Rulebook, as_of: dt.date, *, reasons: bool = False) -> ScoringPlan:
    """The whole contract (steps 1-12) for ``book`` at ``as_of`` as one SQL query."""
    t = day_number(as_of)
    dims = list(book.dimensions.items())
    clean_days = [lst.enter_when.clean_for for lst in book.lists if lst.enter_when.clean_for]
    dirty_from = t - max(clean_days) if clean_days else t + 1  # negative records after this day matter
    base_case = " ".join(f"WHEN {n} THEN {_base_points(n, r)}" for n, r in enumerate(book.rules))
    base_expr = f"CASE rule_no {base_case} END" if book.rules else "0"
    effective = "(CASE WHEN has_repeat = 0 THEN base WHEN repeated THEN base * factor WHEN warn = 1 THEN 0 ELSE base END)"
    linear = _div_round_half_away(f"100 * {effective} * (occ + counts_for - {t})", "counts_for")
    contribution = f"(CASE WHEN decay = 1 THEN {linear} ELSE 100 * {effective} END)"

    dim_sums = ",\n            ".join(
        f"sum(CASE WHEN counting AND dim_no = {i} THEN contribution ELSE 0 END) AS raw_{i}" for i in range(len(dims))
    )
    list_flags = []
    for i, lst in enumerate(book.lists):
        trigger = lst.enter_when
        if trigger.categories is not None:
            cats = ", ".join(_lit(c) for c in trigger.categories)
            list_flags.append(f"bool_or(counting AND category IN ({cats})) AS list_{i}")
        elif trigger.clean_for is not None:
            list_flags.append(f"bool_or(base < 0 AND occ > {t - trigger.clean_for}) AS dirty_{i}")
    agg_cols = ",\n            ".join([dim_sums, *list_flags])

    clamped = [
        f"least(greatest(coalesce(a.raw_{i}, 0), {100 * b.min}), {100 * b.max})" for i, (_, b) in enumerate(dims)
    ]
    total = " + ".join([str(100 * book.score.base), *(f"dim_{i}" for i in range(len(dims)))])
    flag_names = [f.rsplit(" AS ", 1)[1] for f in list_flags]
    carried = "".join(f", a.{name}" for name in flag_names)
    score = f"least(greatest({_div_round_half_away(total, '100')}, {book.score.min}), {book.score.max})"
    grades = sorted(book.grades, key=lambda g: -g.min)
    grade = "CASE " + " ".join(f"WHEN score >= {g.min} THEN {_lit(g.grade)}" for g in grades) + " END"

    list_exprs: dict[str, str] = {}
    for i, lst in enumerate(book.lists):
        trigger = lst.enter_when
        if trigger.categories is not None:
            list_exprs[lst.id] = f"coalesce(list_{i}, FALSE)"
        else:
            assert trigger.grade_at_least is not None
            cond = f"score >= {book.grade_min(trigger.grade_at_least)}"
            if trigger.clean_for is not None:
                cond += f" AND NOT coalesce(dirty_{i}, FALSE)"
            list_exprs[lst.id] = f"({cond})"
    measure_exprs: dict[str, str] = {}
    for m in book.measures:
        when = m.when
        if when.on_list is not None:
            measure_exprs[m.id] = list_exprs[when.on_list]
        elif when.grade_at_least is not None:
            measure_exprs[m.id] = f"(score >= {book.grade_min(when.grade_at_least)})"
        else:
            assert when.dimension_at_most is not None
            names = list(book.dimensions)
            measure_exprs[m.id] = "(" + " AND ".join(
                f"dim_{names.index(d)} <= {100 * v}" for d, v in when.dimension_at_most.items()
            ) + ")"

    def joined(exprs: dict[str, str]) -> str:
        if not exprs:
            return "''"
        parts = ", ".join(f"CASE WHEN {e} THEN {_lit(k)} END" for k, e in sorted(exprs.items()))
        return f"concat_ws(';', {parts})"

    dim_out = ", ".join(f"CAST(dim_{i} / 100.0 AS DECIMAL(18, 2)) AS dim_{name}" for i, (name, _) in enumerate(dims))
    dim_inner = ", ".join(f"{c} AS dim_{i}" for i, c in enumerate(clamped))
    reason_cte = ""
    reason_col = ""
    reason_join = ""
    if reasons:
        reason_cte = f""",
    harm AS (
        SELECT subject_id, subject_kind, category, sum(contribution) AS points
        FROM scored WHERE counting AND contribution < 0
        GROUP BY subject_id, subject_kind, category
    ),
    ranked_harm AS (
        SELECT *, row_number() OVER (PARTITION BY subject_id, subject_kind ORDER BY points, category) AS rank_no
        FROM harm
    ),
    reasons AS (
        SELECT subject_id, subject_kind, string_agg(category, ';' ORDER BY rank_no) AS reasons
        FROM ranked_harm WHERE rank_no <= 4 GROUP BY subject_id, subject_kind
    )"""
        reason_col = ", coalesce(rs.reasons, '') AS reasons"
        reason_join = "LEFT JOIN reasons rs ON rs.subject_id = t.subject_id AND rs.subject_kind = t.subject_kind"

    sql = f"""
    WITH rules (rule_no, category, kind, dim_no, counts_for, decay, has_repeat, win, factor, warn, ear) AS (
        VALUES
            {_rules_values(book)}
    ),
    newest AS (
        SELECT source, record_id, max(seq) AS seq, count(*) AS versions
        FROM records GROUP BY source, record_id
    ),
    latest AS (
        SELECT r.* FROM records r
        WHERE NOT EXISTS (
            SELECT 1 FROM newest n
            WHERE n.versions > 1 AND n.source = r.source AND n.record_id = r.record_id AND n.seq > r.seq
        )
    ),
    ruled AS (
        SELECT l.subject_id, l.subject_kind, l.source, l.record_id, l.category, l.occ, l.amount,
               r.rule_no, r.dim_no, r.counts_for, r.decay, r.has_repeat, r.win, r.factor, r.warn,
               CASE WHEN r.ear IS NOT NULL AND l.res IS NOT NULL AND l.res + r.ear < l.occ + r.counts_for
                    THEN l.res + r.ear ELSE l.occ + r.counts_for END AS ends
        FROM latest l JOIN rules r ON r.category = l.category AND r.kind = l.subject_kind
        WHERE l.status = 'active' AND l.occ <= {t}
    ),
    based AS (
        SELECT *, {base_expr} AS base, ends > {t} AS counting FROM ruled
        WHERE ends > {t} OR occ > {dirty_from}
    ),
    flagged AS (
        SELECT c.*, EXISTS (
            SELECT 1 FROM ruled p
            WHERE p.subject_id = c.subject_id AND p.subject_kind = c.subject_kind AND p.category = c.category
              AND p.occ > c.occ - c.win
              AND (p.occ < c.occ OR (p.occ = c.occ AND (p.source < c.source
                   OR (p.source = c.source AND p.record_id < c.record_id))))
        ) AS repeated
        FROM based c WHERE c.has_repeat = 1 AND c.counting
    ),
    scored AS (
        SELECT *, {contribution} AS contribution FROM (
            SELECT *, FALSE AS repeated FROM based WHERE NOT (has_repeat = 1 AND counting)
            UNION ALL
            SELECT * FROM flagged
        )
    ),
    agg AS (
        SELECT subject_id, subject_kind,
            {agg_cols}
        FROM scored GROUP BY subject_id, subject_kind
    ),
    subjects AS (
        SELECT DISTINCT subject_id, subject_kind FROM records
    ){reason_cte},
    dims AS (
        SELECT s.subject_id, s.subject_kind, {dim_inner}{carried}
        FROM subjects s LEFT JOIN agg a ON a.subject_id = s.subject_id AND a.subject_kind = s.subject_kind
    ),
    totals AS (
        SELECT *, {score} AS score FROM dims
    )
    SELECT t.subject_id, t.subject_kind, t.score, {grade} AS grade, {dim_out},
           {joined(list_exprs)} AS lists, {joined(measure_exprs)} AS measures{reason_col}
    FROM totals t {reason_join}
    """
    columns = (
        "subject_id",
        "subject_kind",
        "score",
        "grade",
        *(f"dim_{name}" for name in book.dimensions),
        "lists",
        "measures",
        *(("reasons",) if reasons else ()),
    )
    return ScoringPlan(sql, columns)
