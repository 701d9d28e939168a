"""A rulebook compiled to one relational plan, written once as SQL.

The SQL uses DuckDB's dialect but only portable constructs (CASE, window
functions with RANGE frames, a VALUES table, integer arithmetic), so SQLGlot
can carry it to PostgreSQL and Spark (docs/adr/0002-batch-plan-sql-sqlglot.md).
Dates are day numbers and points hundredths: every engine does the same
exact integer arithmetic.

The plan has three steps, each one statement:

1. :attr:`ScoringPlan.rows_sql` reads the relation ``checked`` (every input
   row with its per-row reasons, see :mod:`credo.batch.validation`) once and
   keeps a narrow row per input row: the exact integer subject key (ka, kb),
   the rule, and everything about the record that depends only on the record
   (base points, end of the counting period, whether it is valid at T).
   The engine materialises it as ``batch_rows``.
2. :attr:`ScoringPlan.subjects_sql` scores every subject from ``batch_rows``.
3. :attr:`ScoringPlan.output_sql` and :attr:`ScoringPlan.rejects_sql` write them out.

With ``store=True`` the same plan scores records already checked by the
store (``credo rescore``, :mod:`credo.store.rescore`): ``checked`` then holds
only the latest version of each record, ``ka`` is the subject's surrogate id
and ``kb`` its kind (0 person, 1 organisation: the parity convention of the
identifier keys), so identifier checks, version ranking and identifier
reconstruction are skipped, and each subject also gets a conservative
``next_change`` day number. Scoring itself is the same SQL text.

Where the time goes, and what the plan does about it:

* Subjects are grouped and sorted by two BIGINTs, not 18-character text;
  the identifier is rebuilt from the key once per subject.
* Versions: a record is re-sent rarely, so duplicates are found by grouping
  a 64-bit hash of (source, record_id); only the few rows whose hash repeats
  are ranked exactly.
* Occurrences: only rules with ``repeat`` need n, and only whether n is 1 or
  at least 2: "an earlier record of the category lies inside the window".
  One window ordered by integers gives the latest earlier day and the number
  of records on the same day; only rows that share their day with another
  record of the category are ranked by (source, record_id).
* Only rows that can matter reach those steps: records still counting,
  records that can precede them within a window, recent negative records for
  ``clean_for`` lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from credo.batch.sqlids import base31
from credo.batch.sqltext import day_number, div_round_half_away_sql, lit
from credo.batch.validation import identifier_problem_from_key_sql, identifier_problem_sql
from credo.domain.rulebook import Rule, Rulebook

__all__ = ["ScoringPlan", "compile_plan"]

SUBJECT_ID_FROM_KEY = (
    "CASE WHEN kb % 2 = 0 THEN lpad(CAST(ka AS VARCHAR), 17, '0') || chr(CAST(kb // 2 AS INTEGER)) "
    f"ELSE {base31('ka', 9)} || {base31('(kb - 1) // 2', 9)} END"
)
SUBJECT_KIND_FROM_KEY = "CASE WHEN kb % 2 = 0 THEN 'person' ELSE 'organization' END"


@dataclass(frozen=True)
class ScoringPlan:
    rows_sql: str  # over ``checked``; materialised as ``batch_rows``
    subjects_sql: str  # over ``batch_rows``; materialised as ``subject_scores``
    output_sql: str  # over ``subject_scores``: the published columns
    rejects_sql: str  # over ``checked`` and ``subject_scores``
    columns: tuple[str, ...]
    # What was compiled, for engines that do not run SQL (the reference scorer) and to tell the plans apart.
    book: Rulebook
    as_of: dt.date
    reasons: bool
    store: bool


def _base_points(rule: Rule) -> str:
    """Step 3 for one rule: tiers from the highest min_amount down, then plain points."""
    if not rule.tiers:
        return str(rule.points)
    tiers = sorted(rule.tiers, key=lambda t: -t.min_amount)
    whens = " ".join(f"WHEN c.amount >= {t.min_amount!r} THEN {t.points}" for t in tiers)
    return f"CASE {whens} ELSE {rule.points} END"


def _by_rule(book: Rulebook, value: Callable[[Rule], object]) -> str:
    """A CASE over rule_no giving each rule's attribute as a SQL literal."""
    if not book.rules:
        return "0"
    whens = " ".join(f"WHEN {n} THEN {value(r)}" for n, r in enumerate(book.rules))
    return f"(CASE rule_no {whens} END)"


def _rules_values(book: Rulebook) -> str:
    rows = [
        f"({n}, {lit(rule.category)}, {lit(kind)})" for n, rule in enumerate(book.rules) for kind in rule.applies_to
    ]
    return ", ".join(rows) if rows else "(-1, '', '')"


def _joined(flags: dict[str, str]) -> str:
    """Sorted ids of the true flags, joined by ';' (empty text when none)."""
    if not flags:
        return "''"
    parts = ", ".join(f"CASE WHEN {cond} THEN {lit(key)} END" for key, cond in sorted(flags.items()))
    return f"concat_ws(';', {parts})"


RAW_COLUMNS = (
    "c.subject_id",
    "c.subject_kind",
    "c.category",
    "c.raw_occurred_on",
    "c.raw_amount",
    "c.raw_resolved_on",
    "c.raw_status",
    "c.reference",
)
RAW_NAMES = ("subject_id", "subject_kind", "category", "occurred_on", "amount", "resolved_on", "status", "reference")


def _clean_fors(book: Rulebook) -> list[int]:
    return sorted({lst.enter_when.clean_for for lst in book.lists if lst.enter_when.clean_for is not None})


def _next_change_sql(book: Rulebook, t: int) -> str:
    """Per row of a store plan: the earliest day after T on which this record can change the state, or NULL.

    Conservative: its start (dated ahead), the end of its counting period, the
    end of each ``clean_for`` window it blocks (negative base points), and T+1
    while it decays linearly and counts. The state can change with time alone
    only on such a day, so the minimum per subject is never later than the
    exact :func:`credo.domain.changes.next_change` (it may be earlier).
    """
    decay = _by_rule(book, lambda r: int(r.decay == "linear")).replace("rule_no", "r.rule_no")
    days = [f"CASE WHEN c.occ > {t} THEN c.occ END", f"CASE WHEN {{ends}} > {t} THEN {{ends}} END"]
    days += [f"CASE WHEN {{base}} < 0 AND c.occ + {cf} > {t} THEN c.occ + {cf} END" for cf in _clean_fors(book)]
    days.append(f"CASE WHEN {decay} = 1 AND c.occ <= {t} AND {{ends}} > {t} THEN {t + 1} END")
    return f"CASE WHEN c.status = 'active' AND r.rule_no IS NOT NULL THEN least({', '.join(days)}) END"


def _rows_sql(book: Rulebook, t: int, *, store: bool = False) -> str:
    base_case = " ".join(f"WHEN {n} THEN {_base_points(r)}" for n, r in enumerate(book.rules))
    # BIGINT: points x 100 x factor x days would overflow the INTEGER that small literals give
    # (the rulebook's bounds keep it far inside 64 bits: docs/rulebook.md, "Limits").
    base = f"CAST(CASE r.rule_no {base_case} END AS BIGINT)" if book.rules else "CAST(0 AS BIGINT)"
    ends_parts = []
    for n, rule in enumerate(book.rules):
        full = f"c.occ + {rule.counts_for}"
        if rule.ends_after_resolution is None:
            ends_parts.append(f"WHEN {n} THEN {full}")
        else:
            short = f"c.res + {rule.ends_after_resolution}"
            ends_parts.append(f"WHEN {n} THEN CASE WHEN {short} < {full} THEN {short} ELSE {full} END")
    ends = f"CASE r.rule_no {' '.join(ends_parts)} END" if book.rules else "0"
    window_start = " ".join(
        f"WHEN {n} THEN {t - r.counts_for - r.occurrence_window}" for n, r in enumerate(book.rules) if r.repeat
    )
    in_window = f"coalesce(c.occ > CASE r.rule_no {window_start} END, FALSE)" if window_start else "FALSE"
    rejected = "c.pre_reason IS NOT NULL OR c.post_reason IS NOT NULL"
    # The fields of a rejected row as read, in one list column: NULL (cheap) for the millions of good rows.
    raw_fields = ", ".join(f"CAST({col} AS VARCHAR)" for col in RAW_COLUMNS)
    raw = f"CASE WHEN {rejected} THEN [{raw_fields}] END AS raw"
    if store:  # already checked, one row per record: no reasons, no version hash, no raw fields
        next_change = _next_change_sql(book, t).format(base=f"({base})", ends=f"({ends})")
        return f"""
    WITH rules (rule_no, category, kind) AS (VALUES {_rules_values(book)})
    SELECT c.source, c.record_id, c.ka, c.kb, TRUE AS accepted, r.rule_no, c.occ,
           c.status = 'active' AND c.occ <= {t} AND r.rule_no IS NOT NULL AS valid,
           {base} AS base, {ends} AS ends, {in_window} AS in_window, {next_change} AS next_change
    FROM checked c LEFT JOIN rules r ON r.category = c.category AND r.kind = c.subject_kind"""
    return f"""
    WITH rules (rule_no, category, kind) AS (VALUES {_rules_values(book)})
    SELECT c.file_no, c.row_no, c.source, c.record_id, c.ka, c.kb,
           c.pre_reason, c.post_reason, c.pre_reason IS NULL AND c.post_reason IS NULL AS accepted,
           hash(c.source, c.record_id) AS rh, r.rule_no, c.occ,
           c.status = 'active' AND c.occ <= {t} AND r.rule_no IS NOT NULL AS valid,
           {base} AS base, {ends} AS ends, {in_window} AS in_window, {raw}
    FROM checked c LEFT JOIN rules r ON r.category = c.category AND r.kind = c.subject_kind"""


def compile_plan(book: Rulebook, as_of: dt.date, *, reasons: bool = False, store: bool = False) -> ScoringPlan:
    """The whole contract (steps 1-12) for ``book`` at ``as_of``.

    ``store=True``: over the store's latest records (see the module docstring);
    ``subject_scores`` then has ``ka`` (surrogate id), ``kb`` (kind), the
    score, grade, ``dim_<i>`` in hundredths, lists, measures and ``next_change``
    (a day number, or NULL), and :attr:`ScoringPlan.output_sql` names them.
    """
    t = day_number(as_of)
    dims = list(book.dimensions.items())
    names = list(book.dimensions)

    has_repeat = _by_rule(book, lambda r: int(r.repeat is not None))
    factor = _by_rule(book, lambda r: r.repeat.factor if r.repeat else 1)
    warn = _by_rule(book, lambda r: int(bool(r.repeat and r.repeat.first_is_warning)))
    win = _by_rule(book, lambda r: r.occurrence_window)
    counts_for = _by_rule(book, lambda r: r.counts_for)
    decay = _by_rule(book, lambda r: int(r.decay == "linear"))
    dim_no = _by_rule(book, lambda r: names.index(r.dimension))
    effective = f"(CASE WHEN {has_repeat} = 0 THEN base WHEN repeated THEN base * {factor} WHEN {warn} = 1 THEN 0 ELSE base END)"
    linear = div_round_half_away_sql(f"100 * {effective} * (occ + {counts_for} - {t})", counts_for)
    contribution = f"(CASE WHEN {decay} = 1 THEN {linear} ELSE 100 * {effective} END)"

    sums = [
        f"sum(CASE WHEN counting AND dim_no = {i} THEN contribution ELSE 0 END) AS raw_{i}" for i in range(len(dims))
    ]
    list_aggs, list_flags = [], {}
    for i, lst in enumerate(book.lists):
        trigger = lst.enter_when
        if trigger.categories is not None:
            rule_nos = [str(n) for n, r in enumerate(book.rules) if r.category in trigger.categories]
            inside = f"rule_no IN ({', '.join(rule_nos)})" if rule_nos else "FALSE"
            list_aggs.append(f"bool_or(counting AND {inside}) AS list_{i}")
            list_flags[lst.id] = f"coalesce(list_{i}, FALSE)"
        else:
            assert trigger.grade_at_least is not None
            cond = f"score >= {book.grade_min(trigger.grade_at_least)}"
            if trigger.clean_for is not None:
                list_aggs.append(f"bool_or(takes_part AND base < 0 AND occ > {t - trigger.clean_for}) AS dirty_{i}")
                cond += f" AND NOT coalesce(dirty_{i}, FALSE)"
            list_flags[lst.id] = f"({cond})"
    measure_flags = {}
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
        f"least(greatest(coalesce(raw_{i}, 0), {100 * b.min}), {100 * b.max}) AS dim_{i}"
        for i, (_, b) in enumerate(dims)
    )
    total = " + ".join([str(100 * book.score.base), *(f"dim_{i}" for i in range(len(dims)))])
    score = f"least(greatest({div_round_half_away_sql(total, '100')}, {book.score.min}), {book.score.max})"
    grade = (
        "CASE "
        + " ".join(f"WHEN score >= {g.min} THEN {lit(g.grade)}" for g in sorted(book.grades, key=lambda g: -g.min))
        + " END"
    )
    flag_names = [a.rsplit(" AS ", 1)[1] for a in list_aggs]
    category_of = _by_rule(book, lambda r: lit(r.category))
    reasons_cte = (
        f""",
    harm AS (
        SELECT ka, kb, {category_of} AS category, sum(contribution) AS points
        FROM scored WHERE counting AND contribution < 0 GROUP BY ka, kb, rule_no
    ),
    reasons AS (
        SELECT ka, kb, string_agg(category, ';' ORDER BY rank_no) AS reasons
        FROM (SELECT *, row_number() OVER (PARTITION BY ka, kb ORDER BY points, category) AS rank_no FROM harm)
        WHERE rank_no <= 4 GROUP BY ka, kb
    )"""
        if reasons
        else ""
    )

    id_ok = f"({identifier_problem_sql('subject_id', 'subject_kind')}) IS NULL"
    # Every well-shaped row, and whether it takes part: accepted, valid at T, its record's latest version.
    # Written out twice below rather than as a CTE, so that no engine materialises ten million rows.
    shaped = """
        SELECT *, accepted AND valid AND (rh NOT IN (SELECT rh FROM dup)
                                          OR (file_no, row_no) IN (SELECT (file_no, row_no) FROM winners)) AS takes_part
        FROM batch_rows WHERE pre_reason IS NULL"""
    next_change_sum = ", min(next_change) AS next_change" if store else ""
    next_change_col = ", next_change" if store else ""
    if store:
        # One latest row per record (the store's is_latest): every row with its rule and status takes part.
        versions = ""
        shaped = "SELECT *, valid AS takes_part FROM batch_rows"
    else:
        versions = f"""dup AS (SELECT rh FROM batch_rows WHERE accepted GROUP BY rh HAVING count(*) > 1),
    winners AS (
        SELECT file_no, row_no FROM (
            SELECT file_no, row_no, ok, row_number() OVER (
                PARTITION BY source, record_id ORDER BY ok DESC, file_no DESC, row_no DESC) AS version_rank
            FROM (SELECT *, accepted AND {id_ok} AS ok
                  FROM (SELECT *, {SUBJECT_ID_FROM_KEY} AS subject_id, {SUBJECT_KIND_FROM_KEY} AS subject_kind
                        FROM batch_rows WHERE pre_reason IS NULL AND rh IN (SELECT rh FROM dup)))
        ) WHERE version_rank = 1 AND ok
    ),
    """
    flag_cols = "".join(", " + f for f in flag_names)
    if store:
        dims_cte = f"""dims AS (
        SELECT ka, kb, present, {clamped}{flag_cols}{next_change_col} FROM agg
    )"""
        identity = "s.ka, s.kb, s.present"
    else:
        dims_cte = f"""named AS (
        SELECT *, {SUBJECT_ID_FROM_KEY} AS subject_id, {SUBJECT_KIND_FROM_KEY} AS subject_kind FROM agg
    ),
    dims AS (
        SELECT ka, kb, subject_id, subject_kind, present,
               {identifier_problem_from_key_sql("ka", "kb", "subject_id")} AS id_problem,
               {clamped}{flag_cols}
        FROM named
    )"""
        identity = "s.ka, s.kb, s.subject_id, s.subject_kind, s.present, s.id_problem"
    subjects_sql = f"""
    WITH {versions}repeating AS (
        SELECT ka, kb, rule_no, occ, base, ends, accepted{next_change_col},
               coalesce(lag(occ) OVER (PARTITION BY ka, kb, rule_no ORDER BY occ, source, record_id)
                        > occ - {win}, FALSE) AS repeated
        FROM ({shaped}) WHERE takes_part AND in_window
    ),
    scored AS (
        SELECT ka, kb, accepted, rule_no, occ, base, takes_part, takes_part AND ends > {t} AS counting,
               {dim_no} AS dim_no, {contribution} AS contribution{next_change_col}
        FROM (
            SELECT ka, kb, accepted, rule_no, occ, base, ends, takes_part, FALSE AS repeated{next_change_col}
            FROM ({shaped}) WHERE NOT (takes_part AND in_window)
            UNION ALL
            SELECT ka, kb, accepted, rule_no, occ, base, ends, TRUE, repeated{next_change_col} FROM repeating
        )
    ),
    agg AS (
        SELECT ka, kb, bool_or(accepted) AS present, {", ".join([*sums, *list_aggs])}{next_change_sum}
        FROM scored GROUP BY ka, kb
    ),
    {dims_cte},
    totals AS (SELECT *, {score} AS score FROM dims){reasons_cte}
    SELECT {identity}, s.score, {grade} AS grade,
           {", ".join(f"dim_{i}" for i in range(len(dims)))},
           {_joined(list_flags)} AS lists, {_joined(measure_flags)} AS measures
           {", coalesce(rs.reasons, '') AS reasons" if reasons else ""}{", s.next_change" if store else ""}
    FROM totals s {"LEFT JOIN reasons rs ON rs.ka = s.ka AND rs.kb = s.kb" if reasons else ""}
    """
    dim_out = ", ".join(f"CAST(dim_{i} / 100.0 AS DECIMAL(18, 2)) AS dim_{n}" for i, (n, _) in enumerate(dims))
    columns = (
        "subject_id",
        "subject_kind",
        "score",
        "grade",
        *(f"dim_{n}" for n in book.dimensions),
        "lists",
        "measures",
        *(("reasons",) if reasons else ()),
    )
    output_sql = f"""
    SELECT subject_id, subject_kind, CAST(score AS INTEGER) AS score, grade, {dim_out}, lists, measures{", reasons" if reasons else ""}
    FROM subject_scores WHERE present AND id_problem IS NULL"""
    rejects_sql = f"""
    SELECT f.file, x.row_no AS row, reason, source, record_id, subject_id, subject_kind, category, occurred_on, amount,
           resolved_on, status, reference
    FROM (
        -- parse_row's order: the identifier's own problem comes before a bad category, date, amount or status
        SELECT b.file_no, b.row_no, coalesce(b.pre_reason, s.id_problem, b.post_reason) AS reason, b.source,
               b.record_id, {", ".join(f"b.raw[{i + 1}] AS {name}" for i, name in enumerate(RAW_NAMES))}
        FROM batch_rows b
        LEFT JOIN (SELECT ka, kb, id_problem FROM subject_scores WHERE id_problem IS NOT NULL) s
               ON s.ka = b.ka AND s.kb = b.kb
        WHERE NOT b.accepted
        UNION ALL
        SELECT c.file_no, c.row_no, s.id_problem, c.source, c.record_id,
               {", ".join(f"CAST({col} AS VARCHAR)" for col in RAW_COLUMNS)}
        FROM checked c JOIN subject_scores s ON s.ka = c.ka AND s.kb = c.kb
        WHERE s.id_problem IS NOT NULL AND c.pre_reason IS NULL AND c.post_reason IS NULL
    ) x JOIN input_files f ON f.file_no = x.file_no
    ORDER BY x.file_no, x.row_no"""
    if store:
        columns = (
            "subject_id",
            "subject_kind",
            "score",
            "grade",
            *(f"dim_{i}" for i in range(len(dims))),
            "lists",
            "measures",
            "next_change",
        )
        output_sql = f"""
    SELECT ka AS subject_id, {SUBJECT_KIND_FROM_KEY} AS subject_kind, CAST(score AS INTEGER) AS score, grade,
           {", ".join(f"CAST(dim_{i} AS BIGINT) AS dim_{i}" for i in range(len(dims)))}, lists, measures, next_change
    FROM subject_scores"""
        rejects_sql = ""  # the store checked every record on the way in
    rows_sql = _rows_sql(book, t, store=store)
    return ScoringPlan(rows_sql, subjects_sql, output_sql, rejects_sql, columns, book, as_of, reasons, store)
