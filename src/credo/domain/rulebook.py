"""The rulebook as a typed, immutable model.

Field-level rules (types, required keys, unknown keys, durations) live here
as pydantic constraints; rules that relate several parts of a rulebook
(references, context-bound penalties, forbidden categories) live in
:mod:`credo.domain.policy`. Durations are held as whole days.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from credo.domain.durations import parse_duration
from credo.domain.records import CATEGORY_PATTERN, EARLIEST_DATE, LATEST_DATE, MAX_AMOUNT

__all__ = [
    "MAX_FACTOR",
    "MAX_POINTS",
    "MAX_SCORE",
    "CatalogueEntry",
    "Days",
    "DimensionBounds",
    "Disputes",
    "Example",
    "ExampleExpectation",
    "ExampleRecord",
    "Grade",
    "GradeTexts",
    "ListDef",
    "ListTrigger",
    "Measure",
    "MeasureTrigger",
    "PartTexts",
    "PositiveDays",
    "Repeat",
    "Retention",
    "Rule",
    "RuleTexts",
    "Rulebook",
    "ScoreRange",
    "Tier",
    "TopTexts",
    "text_in",
    "title_in",
]


# Bounds on every number a rulebook holds (docs/rulebook.md, "Limits"; ADR 0010). With durations of at most
# 100y they keep the batch SQL's integer arithmetic (hundredths x factor x days, summed) far inside 64 bits.
MAX_POINTS = 100_000  # |points| of a rule or a tier
MAX_FACTOR = 100  # repeat.factor
MAX_SCORE = 1_000_000  # |score.base/min/max|, |grade min|, |dimension min/max|, |dimension_at_most|
# A tier's min_amount is at most the largest amount a record may carry (MAX_AMOUNT), and the dates a
# rulebook may name are those a record may carry (EARLIEST_DATE .. LATEST_DATE): records.py has both.


def _between(low: int, high: int) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return AfterValidator(check)


def _in_date_range(day: dt.date) -> dt.date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return day


Points = Annotated[StrictInt, _between(-MAX_POINTS, MAX_POINTS)]
ScoreValue = Annotated[StrictInt, _between(-MAX_SCORE, MAX_SCORE)]
Day = Annotated[dt.date, AfterValidator(_in_date_range)]


def _days(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit: a duration is a whole number and one of d, w, m, y (e.g. {value}d)")
    raise ValueError("a duration is text such as 90d, 6m or 2y")


def _at_least_one_day(days: int) -> int:
    if days < 1:
        raise ValueError("must be at least one day (e.g. 1d)")
    return days


Days = Annotated[int, BeforeValidator(_days)]
PositiveDays = Annotated[int, BeforeValidator(_days), AfterValidator(_at_least_one_day)]
Kind = Literal["person", "organization"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A rulebook's texts in other languages, beside the text they translate (docs/rulebook.md, "Texts in other
# languages"): ``texts: {zh: {title: ...}}``. The language is a lowercase BCP 47 primary tag such as ``zh``.
# What is not translated is shown as written.
LanguageTag = Annotated[StrictStr, Field(pattern=r"^[a-z]{2,3}$")]
Text = Annotated[StrictStr, Field(min_length=1)]


class RuleTexts(_Model):
    title: Text | None = None


class GradeTexts(_Model):
    meaning: Text | None = None


class PartTexts(_Model):
    """A list's, a measure's or a catalogue entry's texts in another language."""

    title: Text | None = None
    description: Text | None = None
    legal_basis: Text | None = None


class TopTexts(_Model):
    description: Text | None = None


def text_in(part: BaseModel, field: str, language: str) -> str | None:
    """``part``'s ``field`` in ``language`` when the rulebook gives it, else as written (None when absent)."""
    texts = getattr(part, "texts", None) or {}
    local = texts.get(language)
    found = getattr(local, field, None) if local is not None else None
    return found if found is not None else getattr(part, field, None)


def title_in(part: ListDef | Measure, language: str) -> str:
    """A list's or a measure's title in ``language`` when the rulebook gives it, else as written."""
    local = part.texts.get(language)
    return local.title if local is not None and local.title else part.title


class ScoreRange(_Model):
    base: ScoreValue
    min: ScoreValue
    max: ScoreValue
    # Persons are scored only with their consent (credo.domain.consent, docs/due-process.md "Consent").
    requires_consent: StrictBool = False


class Grade(_Model):
    grade: StrictStr = Field(min_length=1)
    min: ScoreValue
    meaning: Text | None = None  # what the grade says about a subject, in one plain line
    texts: dict[LanguageTag, GradeTexts] = {}


class DimensionBounds(_Model):
    min: ScoreValue
    max: ScoreValue


class Disputes(_Model):
    while_open: Literal["suspend", "count"] = "suspend"
    decide_within: PositiveDays = 30


class Retention(_Model):
    """How long a record is kept after the last day it could count (docs/rulebook.md, ``retention``)."""

    keep_for: PositiveDays


class Tier(_Model):
    min_amount: Annotated[float, Field(allow_inf_nan=False), _between(0, MAX_AMOUNT)]
    points: Points


class Repeat(_Model):
    window: PositiveDays
    factor: Annotated[StrictInt, _between(1, MAX_FACTOR)]
    first_is_warning: StrictBool = False


class Rule(_Model):
    category: StrictStr = Field(pattern=CATEGORY_PATTERN)
    title: StrictStr | None = None
    applies_to: tuple[Kind, ...] = Field(default=("person", "organization"), min_length=1)
    dimension: StrictStr
    gravity: Literal["minor", "serious", "grave"]
    points: Points
    tiers: tuple[Tier, ...] = ()
    counts_for: PositiveDays
    decay: Literal["none", "linear"] = "none"
    repeat: Repeat | None = None
    ends_after_resolution: Days | None = None
    # Credit repair: a resolved record of this rule may be taken out early, on the subject's application and a
    # reviewer's decision, once this long has passed since resolved_on (docs/due-process.md).
    repair_after: PositiveDays | None = None
    texts: dict[LanguageTag, RuleTexts] = {}

    @property
    def label(self) -> str:
        """Plain-language name for reasons: the title, or the category spelled out."""
        if self.title:
            return self.title
        return self.category.replace(".", " ").replace("_", " ").capitalize()

    def label_in(self, language: str) -> str:
        """The label in ``language`` when the rulebook translates the title, else :attr:`label`."""
        local = self.texts.get(language)
        return local.title if local is not None and local.title else self.label

    def base_points(self, amount: float | None) -> int:
        """Step 3: the points of the highest tier the amount reaches, else ``points``."""
        if amount is not None:
            reached = [t for t in self.tiers if t.min_amount <= amount]
            if reached:
                return max(reached, key=lambda t: t.min_amount).points
        return self.points

    @property
    def occurrence_window(self) -> int:
        return self.repeat.window if self.repeat else self.counts_for


class CatalogueEntry(_Model):
    """A category the rulebook may use and the law that defines the breach (docs/rulebook.md, ``catalogue``)."""

    category: StrictStr = Field(pattern=CATEGORY_PATTERN)
    title: StrictStr | None = None
    legal_basis: StrictStr
    texts: dict[LanguageTag, PartTexts] = {}


class ListTrigger(_Model):
    categories: tuple[StrictStr, ...] | None = Field(default=None, min_length=1)
    grade_at_least: StrictStr | None = None
    clean_for: PositiveDays | None = None


class ListDef(_Model):
    id: StrictStr = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["black", "red"]
    title: StrictStr
    description: StrictStr | None = None
    legal_basis: StrictStr | None = None
    enter_when: ListTrigger
    # How long an entry is public from the day the subject entered (GET /v1/lists, docs/rulebook.md).
    # A black list without it is never public; a red list without it is public while the subject is on it.
    publish_for: PositiveDays | None = None
    texts: dict[LanguageTag, PartTexts] = {}


class MeasureTrigger(_Model):
    on_list: StrictStr | None = None
    grade_at_least: StrictStr | None = None
    dimension_at_most: dict[StrictStr, ScoreValue] | None = Field(default=None, min_length=1)


class Measure(_Model):
    id: StrictStr = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: Literal["reward", "penalty"]
    title: StrictStr
    description: StrictStr | None = None
    context: tuple[StrictStr, ...] = Field(min_length=1)
    legal_basis: StrictStr | None = None
    when: MeasureTrigger
    texts: dict[LanguageTag, PartTexts] = {}


class ExampleRecord(_Model):
    """A record inside a worked example; the subject is the example's own."""

    category: StrictStr = Field(pattern=CATEGORY_PATTERN)
    occurred_on: Day
    source: StrictStr = "example"
    record_id: StrictStr | None = None
    amount: Annotated[float, Field(allow_inf_nan=False), _between(0, MAX_AMOUNT)] | None = None
    resolved_on: Day | None = None
    status: Literal["active", "withdrawn"] = "active"


class ExampleExpectation(_Model):
    score: StrictInt
    grade: StrictStr
    lists: tuple[StrictStr, ...] = ()
    measures: tuple[StrictStr, ...] = ()
    dimensions: dict[StrictStr, float] | None = None


class Example(_Model):
    name: StrictStr
    subject_kind: Kind = "person"
    as_of: Day
    records: tuple[ExampleRecord, ...] = ()
    expect: ExampleExpectation


class Rulebook(_Model):
    rulebook: StrictStr = Field(min_length=1)
    version: StrictStr = Field(min_length=1)
    effective_from: Day
    description: StrictStr | None = None
    score: ScoreRange
    grades: tuple[Grade, ...] = Field(min_length=1)
    dimensions: dict[StrictStr, DimensionBounds] = Field(min_length=1)
    disputes: Disputes = Disputes()
    retention: Retention | None = None  # without it, nothing is ever purged
    # As China's national basic catalogue of public credit information: when given, the only categories
    # rules and lists may use, each with the law that defines the breach.
    catalogue: tuple[CatalogueEntry, ...] | None = Field(default=None, min_length=1)
    rules: tuple[Rule, ...] = ()
    lists: tuple[ListDef, ...] = ()
    measures: tuple[Measure, ...] = ()
    examples: tuple[Example, ...] = ()
    texts: dict[LanguageTag, TopTexts] = {}

    # -- lookups used by every engine -------------------------------------

    def rule_for(self, category: str, kind: str) -> Rule | None:
        """Step 2: the rule for a category and subject kind, if any (the first that applies)."""
        return self.rule_index.get((category, kind))

    @cached_property
    def rule_index(self) -> dict[tuple[str, str], Rule]:
        """(category, kind) -> the first rule for them: scoring looks a rule up for every record, every day."""
        index: dict[tuple[str, str], Rule] = {}
        for rule in self.rules:
            for kind in rule.applies_to:
                index.setdefault((rule.category, kind), rule)
        return index

    def grade_for(self, score: int) -> str:
        """Step 10: the grade with the highest ``min`` not above the score."""
        eligible = [g for g in self.grades if g.min <= score]
        return max(eligible, key=lambda g: g.min).grade

    def grade_min(self, grade: str) -> int:
        return next(g.min for g in self.grades if g.grade == grade)

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(self.dimensions)
