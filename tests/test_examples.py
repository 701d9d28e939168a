"""Worked examples inside a rulebook: `credo rulebook check` runs them with the reference scorer."""

from __future__ import annotations

from pathlib import Path

import pytest

from credo.domain.identifiers import problem_with_identifier
from credo.domain.rulebook import Example
from credo.examples import EXAMPLE_SUBJECTS, example_records
from credo.rulebook_file import parse_rulebook
from tests.support import BASE_YAML, at, edit, line_of

# Computed by hand from BASE_YAML:
# * judgment default on 2026-03-01: -100 legal points, counting 5 years -> legal -100.00;
#   the late payment of 20000 reaches the 10000 tier (-20) but is the first in its
#   window and first_is_warning: 0 points. Score 900, grade B (A starts at 960).
#   On the black list, so the high-consumption restriction applies.
# * the organisation pays late twice, 150000 each (tier -50): the first is a warning,
#   the second is occurrence 2, so -50 * 2 = -100 points, decaying linearly over 730
#   days from 2026-04-10: 649 days are left on 2026-06-30, -10000 * 649 / 730 =
#   -8890.41 -> -8890 hundredths. Score 1000 - 88.90 = 911.1 -> 911, grade B;
#   fiscal -88.90 is at most -80, so procurement exclusion applies.
EXAMPLES = """\
examples:
  - name: judgment debtor with a warning
    as_of: 2026-06-30
    records:
      - {category: court.judgment_default, occurred_on: 2026-03-01, source: court}
      - {category: tax.late_payment, occurred_on: 2026-06-01, amount: 20000}
    expect:
      score: 900
      grade: B
      lists: [dishonest-judgment-debtors]
      measures: [high-consumption-restriction]
      dimensions: {legal: -100, fiscal: 0}
  - name: organisation paying late twice
    subject_kind: organization
    as_of: 2026-06-30
    records:
      - {category: tax.late_payment, occurred_on: 2026-01-10, amount: 150000}
      - {category: tax.late_payment, occurred_on: 2026-04-10, amount: 150000}
    expect:
      score: 911
      grade: B
      measures: [procurement-exclusion]
      dimensions: {fiscal: -88.90}
"""

WITH_EXAMPLES = BASE_YAML + EXAMPLES


def line_in_examples(text: str, needle: str) -> int:
    """The line of ``needle`` in the examples section (the rules above may contain the same text)."""
    start = line_of(text, "examples:")
    lines = text.splitlines()[start:]
    return start + 1 + next(i for i, line in enumerate(lines) if needle in line)


def test_right_expectations_pass() -> None:
    loaded = parse_rulebook(WITH_EXAMPLES)
    assert loaded.problems == ()
    assert loaded.ok
    assert loaded.rulebook is not None
    assert [e.name for e in loaded.rulebook.examples] == [
        "judgment debtor with a warning",
        "organisation paying late twice",
    ]


@pytest.mark.parametrize(
    ("old", "new", "place", "message"),
    [
        (
            "      score: 900\n",
            "      score: 901\n",
            "examples[0].expect.score",
            "expected score 901, the rules give 900",
        ),
        (
            "      grade: B\n      lists",
            "      grade: A\n      lists",
            "examples[0].expect.grade",
            "expected grade A, the rules give B",
        ),
        (
            "      lists: [dishonest-judgment-debtors]\n",
            "      lists: []\n",
            "examples[0].expect.lists",
            "expected lists [], the rules give ['dishonest-judgment-debtors']",
        ),
        (
            "      measures: [procurement-exclusion]\n",
            "      measures: [procurement-exclusion, loan-fast-track]\n",
            "examples[1].expect.measures",
            "expected measures ['loan-fast-track', 'procurement-exclusion'], the rules give ['procurement-exclusion']",
        ),
        (
            "      dimensions: {fiscal: -88.90}\n",
            "      dimensions: {fiscal: -88.91}\n",
            "examples[1].expect.dimensions.fiscal",
            "expected fiscal -88.91, the rules give -88.90",
        ),
        (
            "      dimensions: {legal: -100, fiscal: 0}\n",
            "      dimensions: {legal: -100, money: 0}\n",
            "examples[0].expect.dimensions.money",
            "dimension 'money' is not defined",
        ),
    ],
)
def test_wrong_expectations_are_placed(old: str, new: str, place: str, message: str) -> None:
    text = edit(WITH_EXAMPLES, old, new)
    loaded = parse_rulebook(text)
    assert not loaded.ok
    assert [p.place for p in loaded.problems] == [place]
    problem = loaded.problems[0]
    name = "judgment debtor with a warning" if place.startswith("examples[0]") else "organisation paying late twice"
    assert problem.message == f"example {name!r}: {message}"
    assert problem.line == line_in_examples(text, new.strip().splitlines()[0])


def test_the_line_of_a_wrong_score_is_the_line_in_the_example() -> None:
    text = edit(WITH_EXAMPLES, "      score: 911\n", "      score: 912\n")
    [problem] = parse_rulebook(text).problems
    assert problem.line == line_of(text, "score: 912")
    assert str(problem) == (
        f"line {problem.line}: examples[1].expect.score: "
        "example 'organisation paying late twice': expected score 912, the rules give 911"
    )


def test_every_difference_is_reported() -> None:
    text = edit(WITH_EXAMPLES, "      score: 900\n      grade: B\n", "      score: 1000\n      grade: A\n")
    assert [p.place for p in parse_rulebook(text).problems] == ["examples[0].expect.score", "examples[0].expect.grade"]


def test_examples_are_not_run_while_the_rules_are_invalid() -> None:
    text = edit(WITH_EXAMPLES, "      score: 900\n", "      score: 901\n")
    text = edit(text, "  legal: {min: -400, max: 0}", "  legal: {min: 10, max: 0}")
    assert [p.place for p in parse_rulebook(text).problems] == ["dimensions.legal.min"]


def test_an_example_record_resolved_before_it_occurred() -> None:
    text = edit(
        WITH_EXAMPLES,
        "{category: court.judgment_default, occurred_on: 2026-03-01, source: court}",
        "{category: court.judgment_default, occurred_on: 2026-03-01, source: court, resolved_on: 2026-02-01}",
    )
    [problem] = parse_rulebook(text).problems
    assert (problem.place, problem.message) == (
        "examples[0].records[0].resolved_on",
        "resolved_on is before occurred_on",
    )
    assert problem.line == line_of(text, "resolved_on: 2026-02-01")


@pytest.mark.parametrize(
    ("old", "new", "place", "message"),
    [
        (
            "    as_of: 2026-06-30\n    records:\n      - {category: court",
            "    as_of: 2026-06-31\n    records:\n      - {category: court",
            "examples[0].as_of",
            "must be a date that exists, written YYYY-MM-DD",
        ),
        (
            "{category: tax.late_payment, occurred_on: 2026-06-01, amount: 20000}",
            "{category: tax.late_payment, occurred_on: 2026-06-01, amount: -1}",
            "examples[0].records[1].amount",
            "must be between 0 and 1000000000000000",
        ),
        (
            "{category: tax.late_payment, occurred_on: 2026-06-01, amount: 20000}",
            "{category: Tax Late, occurred_on: 2026-06-01}",
            "examples[0].records[1].category",
            "must be a dotted lowercase name such as tax.late_payment",
        ),
        (
            "{category: tax.late_payment, occurred_on: 2026-06-01, amount: 20000}",
            "{category: tax.late_payment, occurred_on: 2026-06-01, subject_id: x}",
            "examples[0].records[1].subject_id",
            "unknown key",
        ),
        (
            "    subject_kind: organization\n",
            "    subject_kind: company\n",
            "examples[1].subject_kind",
            "must be 'person' or 'organization'",
        ),
        ("      score: 911\n", "", "examples[1].expect.score", "required key is missing"),
    ],
)
def test_malformed_examples(old: str, new: str, place: str, message: str) -> None:
    text = edit(WITH_EXAMPLES, old, new)
    assert [(p.place, p.message) for p in at(parse_rulebook(text).problems, place)] == [(place, message)]


def test_example_subjects_are_synthetic_and_valid() -> None:
    for kind, subject in EXAMPLE_SUBJECTS.items():
        assert problem_with_identifier(subject, kind) is None


def test_example_records_number_themselves_and_keep_given_ids() -> None:
    example = Example.model_validate(
        {
            "name": "n",
            "as_of": "2026-06-30",
            "records": [
                {"category": "a.b", "occurred_on": "2026-01-01"},
                {"category": "a.b", "occurred_on": "2026-01-01", "record_id": "mine", "source": "court"},
            ],
            "expect": {"score": 1, "grade": "A"},
        }
    )
    records = example_records(example)
    assert [(r.source, r.record_id, r.subject_id) for r in records] == [
        ("example", "example-1", EXAMPLE_SUBJECTS["person"]),
        ("court", "mine", EXAMPLE_SUBJECTS["person"]),
    ]


DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("page", ["rulebook.md", "scoring.md"])
def test_the_rulebook_shown_in_the_docs_is_valid_and_its_examples_pass(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    first_yaml = text.split("\n```yaml\n", 1)[1].split("\n```\n", 1)[0] + "\n"
    loaded = parse_rulebook(first_yaml, page)
    assert loaded.problems == ()
    assert loaded.rulebook is not None
    assert len(loaded.rulebook.examples) >= 2
