"""Response models of the subjects' report and notices and of disputes, with the unit of every number.

Points come in two units, and each field says which: **points** (as the
rulebook writes them: ``base_points``, ``effective_points``, ``min``, ``max``,
a notice's ``why.points``) or **hundredths** of a point (the exact sums the
score is made of: a contribution, a dimension's ``hundredths`` and
``before_clamp``, a reason's ``points``). The names are the published
contract (docs/api.md, docs/scoring.md, ``credo explain --json``); a
dimension gives both, ``points`` and ``hundredths``.

Every model forbids fields it does not declare, so an answer that drifts
from its model fails in the tests (as a 500) instead of losing a field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DisputeOut",
    "DisputeUnderReview",
    "NoticeOut",
    "NoticesOut",
    "ReportOut",
    "SubjectReport",
]

HUNDREDTHS = "in hundredths of a point (-1313 is -13.13 points)"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DimensionOut(_Out):
    points: float = Field(description="The dimension's total after its clamp, in points (hundredths / 100)")
    hundredths: int = Field(description=f"The same total, {HUNDREDTHS}")
    before_clamp: int = Field(description=f"The total before the clamp to [min, max], {HUNDREDTHS}")
    min: int = Field(description="The dimension's floor, in points")
    max: int = Field(description="The dimension's ceiling, in points")


class VerdictOut(_Out):
    id: str = Field(description="The list's or measure's id")
    why: str = Field(description="Why it applies, in words")


class ContributionOut(_Out):
    source: str
    record_id: str
    category: str
    occurred_on: dt.date
    amount: float | None
    resolved_on: dt.date | None
    has_rule: bool = Field(description="Whether the rulebook in force has a rule for the category")
    dimension: str | None
    base_points: int | None = Field(description="The rule's points for the record's amount (tiers applied), in points")
    occurrence: int | None = Field(description="Which occurrence of the category within the repeat window (1 first)")
    effective_points: int | None = Field(
        description="The points after repetition (a first warning is 0), in points, before decay"
    )
    counts_from: dt.date | None
    counts_until: dt.date | None = Field(description="The first day it no longer counts (exclusive)")
    decay_weight: float | None = Field(description="The share still counted under linear decay (1 without decay)")
    contribution: int = Field(description=f"What the record adds to its dimension today, {HUNDREDTHS}")
    counting: bool
    note: str = Field(description="The same in words (points written as points)")


class IgnoredOut(_Out):
    source: str
    record_id: str
    category: str
    occurred_on: dt.date
    why: str


class ReasonOut(_Out):
    code: str = Field(description="The category")
    text: str = Field(description="The reason in words, its points written as points")
    points: int = Field(description=f"The (negative) sum of the category's contributions, {HUNDREDTHS}")


class ForecastOut(_Out):
    on: dt.date
    score: int
    grade: str
    records_ending: list[str] = Field(description="source/record_id of the records that stop counting that day")


class ConsentOut(_Out):
    required: bool = Field(description="Whether the rulebook in force scores this kind of subject only with consent")
    given: bool | None = Field(description="A person's consent today; null for an organisation")
    scored: bool
    message: str | None


class DecisionOut(_Out):
    decision_id: str
    asked_by: str = Field(description="The relying party that asked")
    measure: str
    applies: bool
    reason: str | None
    asked_at: str = Field(description="When, UTC, ISO 8601")
    rulebook_version: str


class AccessOut(_Out):
    at: str = Field(description="When, UTC, ISO 8601")
    who: str = Field(description='The principal who read or wrote; "you" for the subject')
    role: str
    action: str
    purpose: str


class SubjectReport(_Out):
    subject_id: str = Field(description="The caller's identifier")
    subject_kind: Literal["person", "organization"]
    as_of: dt.date
    rulebook: str
    rulebook_version: str
    base: int = Field(description="The rulebook's base score, in points")
    score: int | None = Field(description="The score, in points; null for a person not scored without consent")
    grade: str | None
    dimensions: dict[str, DimensionOut]
    lists: list[VerdictOut]
    measures: list[VerdictOut]
    contributions: list[ContributionOut] = Field(description="Every record that takes part, and its part")
    ignored: list[IgnoredOut] = Field(description="The subject's records that take no part, and why")
    reasons: list[ReasonOut] = Field(description="Up to four reason codes, the largest loss first")
    forecast: list[ForecastOut] = Field(description="How the score recovers if nothing new happens")
    consent: ConsentOut
    decisions: list[DecisionOut] = Field(description="Who asked about the subject, when, and the answer")
    accesses: list[AccessOut] = Field(description="Every access to the subject's data in the audit trail")


class ReportOut(_Out):
    as_of: dt.date
    subjects: list[SubjectReport] = Field(description="One report per stored subject the caller's identifier names")


class NoticeOut(_Out):
    notice_id: str = Field(description="Where it comes from: event-N, record-N, dispute-ID-opened, consent-N ...")
    on: dt.date
    kind: str
    what: str = Field(description="What happened, in words (points written as points)")
    why: dict[str, Any] = Field(
        description="The facts behind it: for a record, source, record_id, category, rule, gravity and points "
        "(the rule's points, in points); for a dispute, dispute_id, source, record_id (and outcome); for a "
        "change of standing, the list or measure and its legal basis"
    )
    what_you_can_do: str


class NoticesOut(_Out):
    as_of: dt.date
    notices: list[NoticeOut] = Field(description="Newest first")


class DisputeOut(_Out):
    dispute_id: str
    kind: Literal["dispute", "repair"]
    source: str
    record_id: str
    state: str = Field(description="open or decided")
    record_suspended: bool = Field(description="Whether the record stops counting while the dispute is open")
    opened_on: dt.date
    deadline: dt.date = Field(description="By when a reviewer decides; still open then, it is decided for the subject")
    outcome: str | None = Field(
        description="upheld, corrected, removed (a dispute), granted, refused (a repair), moved"
    )
    reasons: str | None
    decided_by: str | None
    decided_on: dt.date | None
    statement: str | None = Field(default=None, description="The subject's statement, where the caller may read it")


class RecordUnderReview(_Out):
    version: int
    category: str
    amount: float | None
    status: str | None
    reference: str | None
    occurred_on: dt.date | None
    resolved_on: dt.date | None


class DisputeUnderReview(DisputeOut):
    record: RecordUnderReview | None = Field(description="The record's latest version as stored; null if gone")
