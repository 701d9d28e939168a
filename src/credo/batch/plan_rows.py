"""Step 1 of both plans: one narrow row per input row, everything that depends on the record alone.

Split from :mod:`credo.batch.plan` (which has the steps both plans share, the
two plans and the module's story) to keep each file readable.
"""

from __future__ import annotations

from collections.abc import Callable

from credo.batch.sqltext import lit
from credo.domain.rulebook import Rule, Rulebook

__all__ = ["RAW_COLUMNS", "RAW_NAMES", "batch_rows_sql", "by_rule", "store_rows_sql"]


def _base_points(rule: Rule) -> str:
    """Step 3 for one rule: tiers from the highest min_amount down, then plain points."""
    if not rule.tiers:
        return str(rule.points)
    tiers = sorted(rule.tiers, key=lambda t: -t.min_amount)
    whens = " ".join(f"WHEN c.amount >= {t.min_amount!r} THEN {t.points}" for t in tiers)
    return f"CASE {whens} ELSE {rule.points} END"


def by_rule(book: Rulebook, value: Callable[[Rule], object]) -> str:
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
    exact :func:`credo.domain.next_change.next_change` (it may be earlier).
    """
    decay = by_rule(book, lambda r: int(r.decay == "linear")).replace("rule_no", "r.rule_no")
    days = [f"CASE WHEN c.occ > {t} THEN c.occ END", f"CASE WHEN {{ends}} > {t} THEN {{ends}} END"]
    days += [f"CASE WHEN {{base}} < 0 AND c.occ + {cf} > {t} THEN c.occ + {cf} END" for cf in _clean_fors(book)]
    days.append(f"CASE WHEN {decay} = 1 AND c.occ <= {t} AND {{ends}} > {t} THEN {t + 1} END")
    return f"CASE WHEN c.status = 'active' AND r.rule_no IS NOT NULL THEN least({', '.join(days)}) END"


def _row_facts(book: Rulebook, t: int) -> tuple[str, str, str]:
    """Step 1's per-record facts for both plans: base points, end of the counting period, in a repeat window."""
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
    return base, ends, in_window


def batch_rows_sql(book: Rulebook, t: int) -> str:
    base, ends, in_window = _row_facts(book, t)
    rejected = "c.pre_reason IS NOT NULL OR c.post_reason IS NOT NULL"
    # The fields of a rejected row as read, in one list column: NULL (cheap) for the millions of good rows.
    raw_fields = ", ".join(f"CAST({col} AS VARCHAR)" for col in RAW_COLUMNS)
    raw = f"CASE WHEN {rejected} THEN [{raw_fields}] END AS raw"
    return f"""
    WITH rules (rule_no, category, kind) AS (VALUES {_rules_values(book)})
    SELECT c.file_no, c.row_no, c.source, c.record_id, c.ka, c.kb,
           c.pre_reason, c.post_reason, c.pre_reason IS NULL AND c.post_reason IS NULL AS accepted,
           hash(c.source, c.record_id) AS rh, r.rule_no, c.occ,
           c.status = 'active' AND c.occ <= {t} AND r.rule_no IS NOT NULL AS valid,
           {base} AS base, {ends} AS ends, {in_window} AS in_window, {raw}
    FROM checked c LEFT JOIN rules r ON r.category = c.category AND r.kind = c.subject_kind"""


def store_rows_sql(book: Rulebook, t: int) -> str:
    """Already checked, one row per record: no reasons, no version hash, no raw fields; a next_change."""
    base, ends, in_window = _row_facts(book, t)
    next_change = _next_change_sql(book, t).format(base=f"({base})", ends=f"({ends})")
    return f"""
    WITH rules (rule_no, category, kind) AS (VALUES {_rules_values(book)})
    SELECT c.source, c.record_id, c.ka, c.kb, TRUE AS accepted, r.rule_no, c.occ,
           c.status = 'active' AND c.occ <= {t} AND r.rule_no IS NOT NULL AS valid,
           {base} AS base, {ends} AS ends, {in_window} AS in_window, {next_change} AS next_change
    FROM checked c LEFT JOIN rules r ON r.category = c.category AND r.kind = c.subject_kind"""
