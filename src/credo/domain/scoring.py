"""The reference scorer: SCORING.md, step by step, with a full explanation.

Written for reading, not speed. Every engine (DuckDB, and later PostgreSQL
and Spark) is tested to give exactly what this module gives.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from credo.domain.arithmetic import clamp, div_round_half_away
from credo.domain.explanation import (
    Contribution,
    DimensionResult,
    Explanation,
    ForecastPoint,
    IgnoredRecord,
    ReasonCode,
    Verdict,
)
from credo.domain.records import Record, RecordKey
from credo.domain.rulebook import Rule, Rulebook

__all__ = ["MAX_REASONS", "Standing", "counting_end", "explain", "latest_versions", "score_only"]

MAX_REASONS = 4  # the FCRA caps adverse-action reasons at four


def latest_versions(records: Iterable[Record]) -> list[Record]:
    """The latest version of each record: a later row with the same key replaces an earlier one."""
    latest: dict[RecordKey, Record] = {}
    for record in records:
        latest.pop(record.key, None)
        latest[record.key] = record
    return list(latest.values())


@dataclass(frozen=True)
class _Outcome:
    contributions: tuple[Contribution, ...]
    dimensions: tuple[DimensionResult, ...]
    score: int
    grade: str
    lists: tuple[Verdict, ...]
    measures: tuple[Verdict, ...]


def _occurrences_of(book: Rulebook, kind: str, valid: Sequence[Record]) -> dict[RecordKey, int]:
    """Step 4 for a subject of ``kind``: each record's n, with the windows of the rules that apply to it."""
    return _occurrences(valid, {r.category: r.occurrence_window for r in book.rules if kind in r.applies_to})


def _occurrences(valid: Sequence[Record], window_of: dict[str, int]) -> dict[RecordKey, int]:
    """Step 4: n for each record with a rule, counted within its category."""
    by_category: dict[str, list[Record]] = defaultdict(list)
    for record in valid:
        if record.category in window_of:
            by_category[record.category].append(record)
    n: dict[RecordKey, int] = {}
    for category, group in by_category.items():
        group.sort(key=lambda r: (r.occurred_on, r.source, r.record_id))
        window = window_of[category]
        days = [r.occurred_on for r in group]  # ascending: the records up to i dated on or before a cutoff
        for i, record in enumerate(group):  # are the first bisect_right(...) of them
            cutoff = record.occurred_on - dt.timedelta(days=window)
            n[record.key] = i + 1 - bisect_right(days, cutoff, 0, i + 1)
    return n


def _effective_points(rule: Rule, base: int, n: int) -> int:
    """Step 5: a warning for a first offence, a multiple for a repeat."""
    if rule.repeat is None:
        return base
    if n == 1:
        return 0 if rule.repeat.first_is_warning else base
    return base * rule.repeat.factor


class Dated(Protocol):
    """What a counting period needs of a record (a :class:`Record`, or what retention holds of one)."""

    @property
    def occurred_on(self) -> dt.date: ...

    @property
    def resolved_on(self) -> dt.date | None: ...


def counting_end(rule: Rule, record: Dated) -> dt.date:
    """Step 6: the exclusive end of the counting period."""
    end = record.occurred_on + dt.timedelta(days=rule.counts_for)
    if rule.ends_after_resolution is not None and record.resolved_on is not None:
        end = min(end, record.resolved_on + dt.timedelta(days=rule.ends_after_resolution))
    return end


def _points_on(rule: Rule, effective: int, since: dt.date, end: dt.date, as_of: dt.date) -> tuple[bool, float, int]:
    """Steps 6 and 7: whether a record counts on ``as_of``, its decay weight, and its points in hundredths."""
    if not since <= as_of < end:
        return False, 1.0, 0
    if rule.decay == "linear":
        full_end = (since + dt.timedelta(days=rule.counts_for) - as_of).days
        return True, full_end / rule.counts_for, div_round_half_away(100 * effective * full_end, rule.counts_for)
    return True, 1.0, 100 * effective


def _contribution(book: Rulebook, kind: str, record: Record, n: int | None, as_of: dt.date) -> Contribution:
    rule = book.rule_for(record.category, kind)
    about = (record.source, record.record_id, record.category, record.occurred_on, record.amount, record.resolved_on)
    if rule is None or n is None:
        return Contribution(*about, has_rule=False, note="no rule for this category and kind: counts nothing")
    base = rule.base_points(record.amount)
    effective = _effective_points(rule, base, n)
    end = counting_end(rule, record)
    counting, weight, points = _points_on(rule, effective, record.occurred_on, end, as_of)
    if not counting:
        note = f"stopped counting on {end.isoformat()}"
    elif rule.repeat is not None and n == 1 and rule.repeat.first_is_warning:
        note = "first occurrence in its window: a warning, no points"
    elif rule.repeat is not None and n >= 2:
        note = f"occurrence {n} within {rule.repeat.window} days: points times {rule.repeat.factor}"
    else:
        note = "counts"
    return Contribution(  # built once: a copy with replace() cost as much as the rest of this function
        *about,
        has_rule=True,
        dimension=rule.dimension,
        base_points=base,
        occurrence=n,
        effective_points=effective,
        counts_from=record.occurred_on,
        counts_until=end,
        decay_weight=weight if counting else 0.0,
        contribution=points,
        counting=counting,
        note=note,
    )


def _evaluate(book: Rulebook, kind: str, valid: Sequence[Record], as_of: dt.date) -> _Outcome:
    n = _occurrences_of(book, kind, valid)
    contributions = tuple(_contribution(book, kind, r, n.get(r.key), as_of) for r in valid)

    raw: dict[str, int] = dict.fromkeys(book.dimensions, 0)
    for c in contributions:
        if c.counting and c.dimension is not None:
            raw[c.dimension] += c.contribution
    dimensions, score = _totals(book, raw)
    grade = book.grade_for(score)
    lists = _lists(book, kind, valid, contributions, score=score, as_of=as_of)
    measures = _measures(book, {v.id for v in lists}, dimensions, score)
    return _Outcome(contributions, dimensions, score, grade, lists, measures)


def _totals(book: Rulebook, raw: dict[str, int]) -> tuple[tuple[DimensionResult, ...], int]:
    """Steps 8 and 9: each dimension clamped to its bounds, and the score from them, clamped to the range."""
    dimensions = tuple(
        DimensionResult(name, raw[name], clamp(raw[name], 100 * b.min, 100 * b.max), b.min, b.max)
        for name, b in book.dimensions.items()
    )
    total = 100 * book.score.base + sum(d.total for d in dimensions)
    return dimensions, clamp(div_round_half_away(total, 100), book.score.min, book.score.max)


def _lists(
    book: Rulebook,
    kind: str,
    valid: Sequence[Record],
    contributions: Sequence[Contribution],
    *,
    score: int,
    as_of: dt.date,
) -> tuple[Verdict, ...]:
    """Step 11."""
    verdicts = []
    for lst in book.lists:
        trigger = lst.enter_when
        if trigger.categories is not None:
            hits = [c for c in contributions if c.has_rule and c.counting and c.category in trigger.categories]
            if hits:
                verdicts.append(Verdict(lst.id, f"{len(hits)} counting record(s) in {', '.join(trigger.categories)}"))
        elif trigger.grade_at_least is not None and score >= book.grade_min(trigger.grade_at_least):
            if trigger.clean_for is not None:
                since = as_of - dt.timedelta(days=trigger.clean_for)
                negative = [
                    r
                    for r in valid
                    if r.occurred_on > since
                    and (rule := book.rule_for(r.category, kind)) is not None
                    and rule.base_points(r.amount) < 0
                ]
                if negative:
                    continue
                verdicts.append(
                    Verdict(
                        lst.id,
                        f"grade {trigger.grade_at_least} or better, no negative record in {trigger.clean_for} days",
                    )
                )
            else:
                verdicts.append(Verdict(lst.id, f"grade {trigger.grade_at_least} or better"))
    return tuple(verdicts)


def _measures(
    book: Rulebook, on_lists: Collection[str], dimensions: Sequence[DimensionResult], score: int
) -> tuple[Verdict, ...]:
    """Step 12."""
    totals = {d.name: d.total for d in dimensions}
    verdicts = []
    for measure in book.measures:
        when = measure.when
        if when.on_list is not None and when.on_list in on_lists:
            verdicts.append(Verdict(measure.id, f"on list {when.on_list}"))
        elif when.grade_at_least is not None and score >= book.grade_min(when.grade_at_least):
            verdicts.append(Verdict(measure.id, f"grade {when.grade_at_least} or better"))
        elif when.dimension_at_most is not None and all(
            totals[d] <= 100 * v for d, v in when.dimension_at_most.items()
        ):
            limits = ", ".join(f"{d} at most {v}" for d, v in when.dimension_at_most.items())
            verdicts.append(Verdict(measure.id, limits))
    return tuple(verdicts)


def _valid_and_ignored(
    records: Iterable[Record], as_of: dt.date, suppressed: Collection[RecordKey]
) -> tuple[list[Record], list[IgnoredRecord]]:
    """Step 1: the latest active versions dated on or before the as-of date."""
    valid: list[Record] = []
    ignored: list[IgnoredRecord] = []
    for record in latest_versions(records):
        why = None
        if record.status != "active":
            why = "withdrawn by its source"
        elif record.occurred_on > as_of:
            why = "dated after the as-of date"
        elif record.key in suppressed:
            why = "suspended by due process"
        if why is None:
            valid.append(record)
        else:
            ignored.append(IgnoredRecord(record.source, record.record_id, record.category, record.occurred_on, why))
    return valid, ignored


def _reasons(book: Rulebook, kind: str, contributions: Sequence[Contribution]) -> tuple[ReasonCode, ...]:
    """The rules that lower the score most, at most four, most harmful first."""
    lowered: dict[str, list[int]] = defaultdict(list)
    for c in contributions:
        if c.counting and c.contribution < 0:
            lowered[c.category].append(c.contribution)
    ranked = sorted(lowered.items(), key=lambda item: (sum(item[1]), item[0]))[:MAX_REASONS]
    reasons = []
    for category, points in ranked:
        rule = book.rule_for(category, kind)
        assert rule is not None
        total = sum(points)
        text = f"{rule.label}: {len(points)} record(s) lower the score by {abs(total) / 100:.2f} points"
        reasons.append(ReasonCode(category, text, total))
    return tuple(reasons)


def _forecast(book: Rulebook, kind: str, valid: Sequence[Record], outcome: _Outcome) -> tuple[ForecastPoint, ...]:
    """The score on each future date when a record now counting stops, if nothing new happens.

    Only the records valid at the as-of date take part: a record dated after it
    has not happened yet as far as this explanation knows.
    """
    ending: dict[dt.date, list[str]] = defaultdict(list)
    for c in outcome.contributions:
        if c.counting and c.counts_until is not None:
            ending[c.counts_until].append(f"{c.source}/{c.record_id}")
    # The same records on every day, so the same rule, occurrence n, points and counting period for each: only
    # steps 6 to 10 are done again, day by day (the score and grade; a forecast names no list or measure).
    scored = [
        (rule, c.dimension, c.effective_points, c.counts_from, c.counts_until)
        for c in outcome.contributions
        if (rule := book.rule_for(c.category, kind)) is not None
        and c.has_rule and c.dimension is not None and c.effective_points is not None
        and c.counts_from is not None and c.counts_until is not None
    ]  # fmt: skip
    points = []
    for day in sorted(ending):
        raw: dict[str, int] = dict.fromkeys(book.dimensions, 0)
        for rule, dimension, effective, since, end in scored:
            counting, _, hundredths = _points_on(rule, effective, since, end, day)
            if counting:
                raw[dimension] += hundredths
        _, score = _totals(book, raw)
        points.append(ForecastPoint(day, score, book.grade_for(score), tuple(sorted(ending[day]))))
    return tuple(points)


def explain(
    book: Rulebook,
    subject_id: str,
    subject_kind: str,
    records: Iterable[Record],
    as_of: dt.date,
    *,
    suppressed: Collection[RecordKey] = frozenset(),
) -> Explanation:
    """Score one subject at ``as_of`` and say why, record by record.

    ``records`` are rows in arrival order (later versions later). Versions are
    per (source, record_id), so the latest version is found before rows of
    other subjects are set aside: a record re-sent naming another subject no
    longer belongs to this one. ``suppressed`` holds the keys of records that
    due process takes out (open or upheld disputes).
    """
    mine = [r for r in latest_versions(records) if r.subject_id == subject_id and r.subject_kind == subject_kind]
    valid, ignored = _valid_and_ignored(mine, as_of, suppressed)
    outcome = _evaluate(book, subject_kind, valid, as_of)
    return Explanation(
        subject_id=subject_id,
        subject_kind=subject_kind,
        as_of=as_of,
        rulebook=book.rulebook,
        rulebook_version=book.version,
        base=book.score.base,
        score=outcome.score,
        grade=outcome.grade,
        dimensions=outcome.dimensions,
        lists=outcome.lists,
        measures=outcome.measures,
        contributions=outcome.contributions,
        ignored=tuple(ignored),
        reasons=_reasons(book, subject_kind, outcome.contributions),
        forecast=_forecast(book, subject_kind, valid, outcome),
    )


class Standing(NamedTuple):
    """A subject's score, grade, dimension totals (hundredths), lists and measures (ids, sorted)."""

    score: int
    grade: str
    dimensions: dict[str, int]
    lists: tuple[str, ...]
    measures: tuple[str, ...]


def score_only(book: Rulebook, subject_kind: str, records: Iterable[Record], as_of: dt.date) -> Standing:
    """The subject's standing without the explanation or the forecast (the fast path of real-time scoring)."""
    valid, _ = _valid_and_ignored(records, as_of, frozenset())
    out = _evaluate(book, subject_kind, valid, as_of)
    return Standing(
        out.score,
        out.grade,
        {d.name: d.total for d in out.dimensions},
        tuple(sorted(v.id for v in out.lists)),
        tuple(sorted(v.id for v in out.measures)),
    )
