"""A rulebook compiled to a relational plan, written once as SQL: the batch plan and the store plan.

The SQL uses DuckDB's dialect but only portable constructs (CASE, window
functions with RANGE frames, a VALUES table, integer arithmetic), so SQLGlot
can carry it to PostgreSQL and Spark (docs/adr/0002-batch-plan-sql-sqlglot.md).
Dates are day numbers and points hundredths: every engine does the same
exact integer arithmetic.

A plan has three steps, each one statement (an engine runs them, :mod:`credo.engines`):

1. :attr:`ScoringPlan.rows_sql` reads the relation ``checked`` (every input
   row with its per-row reasons, see :mod:`credo.batch.validation`) once and
   keeps a narrow row per input row: the exact integer subject key (ka, kb),
   the rule, and everything about the record that depends only on the record
   (base points, end of the counting period, whether it is valid at T;
   :mod:`credo.batch.plan_rows`). The engine materialises it as ``batch_rows``.
2. :attr:`ScoringPlan.subjects_sql` scores every subject from ``batch_rows``.
3. :attr:`ScoringPlan.output_sql` and :attr:`ScoringPlan.rejects_sql` write them out.

:func:`batch_plan` scores rows read from files (``credo batch``).
:func:`store_plan` scores records already checked by the store (``credo
rescore``, real-time scoring in bulk, :mod:`credo.services.bulk_scoring`): ``checked`` then holds
only the latest version of each record, ``ka`` is the subject's surrogate id
and ``kb`` its kind (0 person, 1 organisation: the parity convention of the
identifier keys), so identifier checks, version ranking and identifier
reconstruction are skipped, and each subject also gets a conservative
``next_change`` day number. Scoring itself (steps 2-12, :func:`_scoring` and
:func:`_subjects_sql`) is the same SQL text, built once for both.

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
from dataclasses import dataclass

from credo.batch.plan_rows import RAW_COLUMNS, RAW_NAMES, batch_rows_sql, by_rule, store_rows_sql
from credo.batch.sqlids import base31
from credo.batch.sqltext import day_number, div_round_half_away_sql, lit
from credo.batch.validation import identifier_problem_from_key_sql, identifier_problem_sql
from credo.domain.rulebook import Rulebook

__all__ = ["ScoringPlan", "batch_plan", "store_plan"]

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


def _joined(flags: dict[str, str]) -> str:
    """Sorted ids of the true flags, joined by ';' (empty text when none)."""
    if not flags:
        return "''"
    parts = ", ".join(f"CASE WHEN {cond} THEN {lit(key)} END" for key, cond in sorted(flags.items()))
    return f"concat_ws(';', {parts})"


@dataclass(frozen=True)
class _Scoring:
    """Steps 2-12 as SQL fragments for one rulebook at T: what both plans share."""

    t: int
    contribution: str
    win: str
    dim_no: str
    aggregates: str  # the per-subject sums and list flags of ``agg``
    flag_cols: str  # ", list_0, dirty_1, ...": the flags ``dims`` carries on
    clamped: str
    score: str
    grade: str
    dim_cols: str
    lists: str
    measures: str
    category_of: str


def _scoring(book: Rulebook, as_of: dt.date) -> _Scoring:  # one rulebook's steps 2-12, each a few lines
    t = day_number(as_of)
    dims = list(book.dimensions.items())
    names = list(book.dimensions)

    has_repeat = by_rule(book, lambda r: int(r.repeat is not None))
    factor = by_rule(book, lambda r: r.repeat.factor if r.repeat else 1)
    warn = by_rule(book, lambda r: int(bool(r.repeat and r.repeat.first_is_warning)))
    counts_for = by_rule(book, lambda r: r.counts_for)
    decay = by_rule(book, lambda r: int(r.decay == "linear"))
    effective = f"(CASE WHEN {has_repeat} = 0 THEN base WHEN repeated THEN base * {factor} WHEN {warn} = 1 THEN 0 ELSE base END)"
    linear = div_round_half_away_sql(f"100 * {effective} * (occ + {counts_for} - {t})", counts_for)

    sums = [
        f"sum(CASE WHEN counting AND dim_no = {i} THEN contribution ELSE 0 END) AS raw_{i}" for i in range(len(dims))
    ]
    list_aggs, list_flags = _list_steps(book, t)
    clamped = ", ".join(
        f"least(greatest(coalesce(raw_{i}, 0), {100 * b.min}), {100 * b.max}) AS dim_{i}"
        for i, (_, b) in enumerate(dims)
    )
    total = " + ".join([str(100 * book.score.base), *(f"dim_{i}" for i in range(len(dims)))])
    grades = sorted(book.grades, key=lambda g: -g.min)
    return _Scoring(
        t=t,
        contribution=f"(CASE WHEN {decay} = 1 THEN {linear} ELSE 100 * {effective} END)",
        win=by_rule(book, lambda r: r.occurrence_window),
        dim_no=by_rule(book, lambda r: names.index(r.dimension)),
        aggregates=", ".join([*sums, *list_aggs]),
        flag_cols="".join(", " + a.rsplit(" AS ", 1)[1] for a in list_aggs),
        clamped=clamped,
        score=f"least(greatest({div_round_half_away_sql(total, '100')}, {book.score.min}), {book.score.max})",
        grade="CASE " + " ".join(f"WHEN score >= {g.min} THEN {lit(g.grade)}" for g in grades) + " END",
        dim_cols=", ".join(f"dim_{i}" for i in range(len(dims))),
        lists=_joined(list_flags),
        measures=_joined(_measure_flags(book, list_flags)),
        category_of=by_rule(book, lambda r: lit(r.category)),
    )


def _list_steps(book: Rulebook, t: int) -> tuple[list[str], dict[str, str]]:
    """Step 10: the per-subject aggregates lists need, and each list's condition over them."""
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
    return list_aggs, list_flags


def _measure_flags(book: Rulebook, list_flags: dict[str, str]) -> dict[str, str]:
    """Step 11: each measure's condition."""
    names = list(book.dimensions)
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
    return measure_flags


@dataclass(frozen=True)
class _Shape:
    """What tells the two plans' ``subjects_sql`` apart (the rest is :class:`_Scoring`)."""

    versions: str  # CTEs ahead of ``repeating`` that pick each record's latest version
    shaped: str  # every row that can take part, with ``takes_part``
    dims_cte: str  # per subject: identity, clamped dimensions and flags
    identity: str  # the identity columns of the result
    extra: str = ""  # ", next_change" when the plan carries it
    reasons: bool = False


def _subjects_sql(s: _Scoring, shape: _Shape) -> str:
    """Steps 2-12 over ``batch_rows``: repeats, contributions, sums, lists, measures, score and grade."""
    extra = shape.extra
    extra_sum = ", min(next_change) AS next_change" if extra else ""
    reasons_cte = (
        f""",
    harm AS (
        SELECT ka, kb, {s.category_of} AS category, sum(contribution) AS points
        FROM scored WHERE counting AND contribution < 0 GROUP BY ka, kb, rule_no
    ),
    reasons AS (
        SELECT ka, kb, string_agg(category, ';' ORDER BY rank_no) AS reasons
        FROM (SELECT *, row_number() OVER (PARTITION BY ka, kb ORDER BY points, category) AS rank_no FROM harm)
        WHERE rank_no <= 4 GROUP BY ka, kb
    )"""
        if shape.reasons
        else ""
    )
    return f"""
    WITH {shape.versions}repeating AS (
        SELECT ka, kb, rule_no, occ, base, ends, accepted{extra},
               coalesce(lag(occ) OVER (PARTITION BY ka, kb, rule_no ORDER BY occ, source, record_id)
                        > occ - {s.win}, FALSE) AS repeated
        FROM ({shape.shaped}) WHERE takes_part AND in_window
    ),
    scored AS (
        SELECT ka, kb, accepted, rule_no, occ, base, takes_part, takes_part AND ends > {s.t} AS counting,
               {s.dim_no} AS dim_no, {s.contribution} AS contribution{extra}
        FROM (
            SELECT ka, kb, accepted, rule_no, occ, base, ends, takes_part, FALSE AS repeated{extra}
            FROM ({shape.shaped}) WHERE NOT (takes_part AND in_window)
            UNION ALL
            SELECT ka, kb, accepted, rule_no, occ, base, ends, TRUE, repeated{extra} FROM repeating
        )
    ),
    agg AS (
        SELECT ka, kb, bool_or(accepted) AS present, {s.aggregates}{extra_sum}
        FROM scored GROUP BY ka, kb
    ),
    {shape.dims_cte},
    totals AS (SELECT *, {s.score} AS score FROM dims){reasons_cte}
    SELECT {shape.identity}, s.score, {s.grade} AS grade,
           {s.dim_cols},
           {s.lists} AS lists, {s.measures} AS measures
           {", coalesce(rs.reasons, '') AS reasons" if shape.reasons else ""}{", s.next_change" if extra else ""}
    FROM totals s {"LEFT JOIN reasons rs ON rs.ka = s.ka AND rs.kb = s.kb" if shape.reasons else ""}
    """


def _batch_shape(book: Rulebook, s: _Scoring, *, reasons: bool) -> _Shape:
    id_ok = f"({identifier_problem_sql('subject_id', 'subject_kind')}) IS NULL"
    # Every well-shaped row, and whether it takes part: accepted, valid at T, its record's latest version.
    # Written out twice in subjects_sql rather than as a CTE, so that no engine materialises ten million rows.
    shaped = """
        SELECT *, accepted AND valid AND (rh NOT IN (SELECT rh FROM dup)
                                          OR (file_no, row_no) IN (SELECT (file_no, row_no) FROM winners)) AS takes_part
        FROM batch_rows WHERE pre_reason IS NULL"""
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
    dims_cte = f"""named AS (
        SELECT *, {SUBJECT_ID_FROM_KEY} AS subject_id, {SUBJECT_KIND_FROM_KEY} AS subject_kind FROM agg
    ),
    dims AS (
        SELECT ka, kb, subject_id, subject_kind, present,
               {identifier_problem_from_key_sql("ka", "kb", "subject_id")} AS id_problem,
               {s.clamped}{s.flag_cols}
        FROM named
    )"""
    identity = "s.ka, s.kb, s.subject_id, s.subject_kind, s.present, s.id_problem"
    return _Shape(versions, shaped, dims_cte, identity, reasons=reasons)


def _rejects_sql() -> str:
    return f"""
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


def batch_plan(book: Rulebook, as_of: dt.date, *, reasons: bool = False) -> ScoringPlan:
    """The whole contract (steps 1-12) for ``book`` at ``as_of`` over rows read from files (``credo batch``).

    ``subject_scores`` is keyed by the identifier's exact integer key and has
    the identifier's problem, if any; :attr:`ScoringPlan.output_sql` gives the
    published columns (``reasons``: and up to four reason codes).
    """
    s = _scoring(book, as_of)
    dims = list(book.dimensions)
    dim_out = ", ".join(f"CAST(dim_{i} / 100.0 AS DECIMAL(18, 2)) AS dim_{n}" for i, n in enumerate(dims))
    columns = (
        "subject_id",
        "subject_kind",
        "score",
        "grade",
        *(f"dim_{n}" for n in dims),
        "lists",
        "measures",
        *(("reasons",) if reasons else ()),
    )
    output_sql = f"""
    SELECT subject_id, subject_kind, CAST(score AS INTEGER) AS score, grade, {dim_out}, lists, measures{", reasons" if reasons else ""}
    FROM subject_scores WHERE present AND id_problem IS NULL"""
    subjects_sql = _subjects_sql(s, _batch_shape(book, s, reasons=reasons))
    return ScoringPlan(
        batch_rows_sql(book, s.t), subjects_sql, output_sql, _rejects_sql(), columns, book, as_of, reasons, False
    )


def store_plan(book: Rulebook, as_of: dt.date) -> ScoringPlan:
    """The same contract over the store's latest records (``credo rescore``, real-time scoring in bulk).

    See the module docstring: ``subject_scores`` has ``ka`` (surrogate id),
    ``kb`` (kind), the score, grade, ``dim_<i>`` in hundredths, lists,
    measures and ``next_change`` (a day number, or NULL), and
    :attr:`ScoringPlan.output_sql` names them. No rejects: the store checked
    every record on the way in.
    """
    s = _scoring(book, as_of)
    n_dims = len(book.dimensions)
    shape = _Shape(
        versions="",  # one latest row per record (the store's is_latest): every row with its rule and status takes part
        shaped="SELECT *, valid AS takes_part FROM batch_rows",
        dims_cte=f"""dims AS (
        SELECT ka, kb, present, {s.clamped}{s.flag_cols}, next_change FROM agg
    )""",
        identity="s.ka, s.kb, s.present",
        extra=", next_change",
    )
    columns = ("subject_id", "subject_kind", "score", "grade", *(f"dim_{i}" for i in range(n_dims)))
    output_sql = f"""
    SELECT ka AS subject_id, {SUBJECT_KIND_FROM_KEY} AS subject_kind, CAST(score AS INTEGER) AS score, grade,
           {", ".join(f"CAST(dim_{i} AS BIGINT) AS dim_{i}" for i in range(n_dims))}, lists, measures, next_change
    FROM subject_scores"""
    return ScoringPlan(
        store_rows_sql(book, s.t),
        _subjects_sql(s, shape),
        output_sql,
        "",
        (*columns, "lists", "measures", "next_change"),
        book,
        as_of,
        False,
        True,
    )
