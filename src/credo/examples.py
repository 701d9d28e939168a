"""Worked examples carried inside a rulebook, run by ``credo rulebook check``.

Like the test tables that decision-table tools keep beside their rules: each
example gives records of one subject, an as-of date and the expected
outcome, and the reference scorer must reproduce it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from credo.domain.identifiers import make_resident_id, make_uscc
from credo.domain.policy import Problem
from credo.domain.records import Reason, Record
from credo.domain.rulebook import Example, Rulebook
from credo.domain.scoring import explain

__all__ = ["EXAMPLE_SUBJECTS", "example_problems", "example_records"]

# Synthetic identifiers with valid check characters: examples never name a real person.
EXAMPLE_SUBJECTS = {
    "person": make_resident_id("110101", dt.date(1990, 1, 1), 1),
    "organization": make_uscc("91110101", "MA000001"),
}


def example_records(example: Example) -> list[Record]:
    subject = EXAMPLE_SUBJECTS[example.subject_kind]
    return [
        Record(
            source=r.source,
            record_id=r.record_id or f"example-{i + 1}",
            subject_id=subject,
            subject_kind=example.subject_kind,
            category=r.category,
            occurred_on=r.occurred_on,
            amount=r.amount,
            resolved_on=r.resolved_on,
            status=r.status,
        )
        for i, r in enumerate(example.records)
    ]


def example_problems(book: Rulebook) -> list[Problem]:
    """Every way an example's expectation differs from what the rules give."""
    return [problem for i, example in enumerate(book.examples) for problem in _differences(book, i, example)]


def _differences(book: Rulebook, index: int, example: Example) -> Iterator[Problem]:
    early = [
        Problem(("examples", index, "records", j, "resolved_on"), Reason.RESOLVED_BEFORE)
        for j, r in enumerate(example.records)
        if r.resolved_on is not None and r.resolved_on < r.occurred_on
    ]
    if early:  # such a record would be rejected on ingestion, so it cannot illustrate the rules
        yield from early
        return
    subject = EXAMPLE_SUBJECTS[example.subject_kind]
    got = explain(book, subject, example.subject_kind, example_records(example), example.as_of)
    want = example.expect
    where = ("examples", index, "expect")
    label = f"example {example.name!r}"
    compared: list[tuple[str, object, object]] = [
        ("score", want.score, got.score),
        ("grade", want.grade, got.grade),
        ("lists", sorted(want.lists), list(got.list_ids)),
        ("measures", sorted(want.measures), list(got.measure_ids)),
    ]
    for field, expected, given in compared:
        if expected != given:
            yield Problem((*where, field), f"{label}: expected {field} {expected}, the rules give {given}")
    for name, points in (want.dimensions or {}).items():
        if name not in book.dimensions:
            yield Problem((*where, "dimensions", name), f"{label}: dimension {name!r} is not defined")
        elif round(points * 100) != got.dimension_total(name):
            given_points = got.dimension_total(name) / 100
            yield Problem(
                (*where, "dimensions", name),
                f"{label}: expected {name} {points:.2f}, the rules give {given_points:.2f}",
            )
