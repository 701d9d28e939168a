"""Shared helpers for the domain and rulebook tests: synthetic subjects, rulebooks and records.

Every identifier here is built with the ``make_*`` helpers; no test names a
real person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from credo.domain.identifiers import make_resident_id, make_uscc
from credo.domain.records import Record
from credo.domain.rulebook import Rulebook
from credo.rulebook_file import PlacedProblem

# shared/ sits beside the repository both here and in CI.
SHARED = Path(__file__).resolve().parents[2] / "shared"
VECTORS = SHARED / "scoring-vectors"
needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"the published scoring vectors are not at {VECTORS} (shared/ beside the repository)"
)

PERSON = make_resident_id("110101", dt.date(1990, 1, 1), 1)
OTHER_PERSON = make_resident_id("310104", dt.date(1985, 6, 15), 42)
ORG = make_uscc("91110101", "MA000001")

D = dt.date.fromisoformat

# A complete, valid rulebook in block style, so that tests can point at lines.
BASE_YAML = """\
rulebook: test-city
version: "2026.1"
effective_from: 2026-01-01
description: A rulebook for tests.
score: {base: 1000, min: 0, max: 1300}
grades:
  - {grade: AA, min: 1030}
  - {grade: A, min: 960}
  - {grade: B, min: 0}
dimensions:
  fiscal: {min: -300, max: 50}
  legal: {min: -400, max: 0}
  civic: {min: 0, max: 100}
rules:
  - category: tax.late_payment
    title: Late tax payment
    dimension: fiscal
    gravity: minor
    points: -5
    tiers:
      - {min_amount: 100000, points: -50}
      - {min_amount: 10000, points: -20}
    counts_for: 2y
    decay: linear
    repeat: {window: 1y, factor: 2, first_is_warning: true}
    ends_after_resolution: 90d
  - category: court.judgment_default
    dimension: legal
    gravity: grave
    points: -100
    counts_for: 5y
    ends_after_resolution: 0d
  - category: civic.volunteer_service
    applies_to: [person]
    dimension: civic
    gravity: minor
    points: 10
    counts_for: 1y
  - category: traffic.violation
    applies_to: [person]
    dimension: legal
    gravity: serious
    points: -2
    tiers:
      - {min_amount: 500, points: -10}
    counts_for: 1y
lists:
  - id: dishonest-judgment-debtors
    kind: black
    title: Dishonest judgment debtors
    enter_when: {categories: [court.judgment_default]}
  - id: honour-roll
    kind: red
    title: Honour roll
    enter_when: {grade_at_least: AA, clean_for: 1y}
measures:
  - id: loan-fast-track
    kind: reward
    title: Fast-track loans
    context: [fiscal]
    when: {grade_at_least: AA}
  - id: high-consumption-restriction
    kind: penalty
    title: High consumption restriction
    context: [legal]
    legal_basis: Provisions on restricting high consumption by judgment debtors
    when: {on_list: dishonest-judgment-debtors}
  - id: procurement-exclusion
    kind: penalty
    title: Procurement exclusion
    context: [fiscal]
    legal_basis: Public procurement law, debarment clause
    when: {dimension_at_most: {fiscal: -80}}
"""


def edit(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence, so a test cannot silently edit nothing."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the nth line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} is not in the text {nth} time(s)"
    return hits[nth - 1]


def at(problems: Iterable[PlacedProblem], place: str) -> list[PlacedProblem]:
    """The problems placed exactly at ``place``."""
    return [p for p in problems if p.place == place]


def book(
    rules: Iterable[Mapping[str, Any]] = (),
    *,
    lists: Iterable[Mapping[str, Any]] = (),
    measures: Iterable[Mapping[str, Any]] = (),
    score: Mapping[str, int] | None = None,
    grades: Iterable[Mapping[str, Any]] | None = None,
    dimensions: Mapping[str, Mapping[str, int]] | None = None,
) -> Rulebook:
    """A rulebook model for scorer tests; rules default to the ``fiscal`` dimension."""
    return Rulebook.model_validate(
        {
            "rulebook": "scorer-test",
            "version": "1",
            "effective_from": "2020-01-01",
            "score": dict(score or {"base": 1000, "min": 0, "max": 1300}),
            "grades": list(
                grades or [{"grade": "AA", "min": 1030}, {"grade": "A", "min": 960}, {"grade": "B", "min": 0}]
            ),
            "dimensions": dict(
                dimensions
                or {
                    "fiscal": {"min": -300, "max": 50},
                    "legal": {"min": -400, "max": 0},
                    "civic": {"min": 0, "max": 100},
                }
            ),
            "rules": [{"dimension": "fiscal", "gravity": "serious", **r} for r in rules],
            "lists": list(lists),
            "measures": list(measures),
        }
    )


def rec(
    category: str,
    occurred_on: str,
    record_id: str = "r1",
    *,
    source: str = "src",
    subject_id: str = PERSON,
    kind: str = "person",
    amount: float | None = None,
    resolved_on: str | None = None,
    status: str = "active",
) -> Record:
    return Record(
        source=source,
        record_id=record_id,
        subject_id=subject_id,
        subject_kind=kind,
        category=category,
        occurred_on=D(occurred_on),
        amount=amount,
        resolved_on=D(resolved_on) if resolved_on else None,
        status=status,
    )
