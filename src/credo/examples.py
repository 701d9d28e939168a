"""Worked examples carried inside a rulebook, run by ``credo rulebook check``.

Like the test tables that decision-table tools keep beside their rules: each
example gives records of one subject, an as-of date and the expected
outcome, and the reference scorer must reproduce it.
"""

from __future__ import annotations

import datetime as dt

from credo.domain.identifiers import make_resident_id, make_uscc
from credo.domain.policy import Problem
from credo.domain.records import Record
from credo.domain.rulebook import Example, Rulebook
from credo.domain.scoring import explain

__all__ = ["example_problems", "example_records", "EXAMPLE_SUBJECTS"]

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
    problems: list[Problem] = []
    for i, example in enumerate(book.examples):
        got = explain(book, EXAMPLE_SUBJECTS[example.subject_kind], example.subject_kind, example_records(example), example.as_of)
        want = example.expect
        where = ("examples", i, "expect")
        label = f"example {example.name!r}"
        if got.score != want.score:
            problems.append(Problem((*where, "score"), f"{label}: expected score {want.score}, the rules give {got.score}"))
        if got.grade != want.grade:
            problems.append(Problem((*where, "grade"), f"{label}: expected grade {want.grade}, the rules give {got.grade}"))
        if tuple(sorted(want.lists)) != got.list_ids:
            problems.append(Problem((*where, "lists"), f"{label}: expected lists {sorted(want.lists)}, the rules give {list(got.list_ids)}"))
        if tuple(sorted(want.measures)) != got.measure_ids:
            problems.append(Problem((*where, "measures"), f"{label}: expected measures {sorted(want.measures)}, the rules give {list(got.measure_ids)}"))
        for name, points in (want.dimensions or {}).items():
            if name not in book.dimensions:
                problems.append(Problem((*where, "dimensions", name), f"{label}: dimension {name!r} is not defined"))
            elif round(points * 100) != got.dimension_total(name):
                problems.append(Problem((*where, "dimensions", name), f"{label}: expected {name} {points:.2f}, the rules give {got.dimension_total(name) / 100:.2f}"))
    return problems
