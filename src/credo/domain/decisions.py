"""Why a measure applies to a subject or not, from its state alone (pure).

A relying party gets a yes/no answer, the reason and the legal basis, not the
subject's file. The reason names the measure's trigger and how the subject's
state stands against it, in the words of the reference scorer's verdicts
(:func:`credo.domain.scoring.explain`), and nothing more: no score, no record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credo.domain.changes import ScoreState
from credo.domain.rulebook import Measure, Rulebook

__all__ = ["NOT_SCORED", "MeasureAnswer", "answer_measure", "find_measure"]


@dataclass(frozen=True, slots=True)
class MeasureAnswer:
    measure: str
    kind: str
    title: str
    applies: bool
    reason: str
    legal_basis: str | None
    trigger: dict[str, Any]


def find_measure(book: Rulebook, measure_id: str) -> Measure | None:
    return next((m for m in book.measures if m.id == measure_id), None)


NOT_SCORED = "the subject is not scored without consent (the rulebook in force requires it)"


def _reason(measure: Measure, state: ScoreState, applies: bool) -> str:
    when = measure.when
    if state.score is None and not applies and (measure.kind == "reward" or when.on_list is None):
        return NOT_SCORED  # no reward, and nothing on a grade or a dimension, without consent
    if when.on_list is not None:
        return f"on list {when.on_list}" if applies else f"not on list {when.on_list}"
    if when.grade_at_least is not None:
        return f"grade {when.grade_at_least} or better" if applies else f"grade below {when.grade_at_least}"
    limits = when.dimension_at_most or {}
    if applies:
        return ", ".join(f"{d} at most {v}" for d, v in limits.items())
    above = [d for d, v in limits.items() if state.dimensions.get(d, 0) > 100 * v]
    return ", ".join(f"{d} above {limits[d]}" for d in above) or "the measure's conditions are not met"


def answer_measure(book: Rulebook, measure: Measure, state: ScoreState) -> MeasureAnswer:
    """Whether ``measure`` applies in ``state`` (as the scorer decided it) and why, in one line."""
    applies = measure.id in state.measures
    return MeasureAnswer(
        measure=measure.id,
        kind=measure.kind,
        title=measure.title,
        applies=applies,
        reason=_reason(measure, state, applies),
        legal_basis=measure.legal_basis,
        trigger=measure.when.model_dump(exclude_none=True),
    )
