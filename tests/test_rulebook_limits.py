"""Limits on a rulebook file: its size, YAML anchors and depth, and every number and duration it holds.

A rulebook that passes ``check`` must run on every engine: the property test
at the end builds rulebooks at the bounds and scores them with the reference
scorer and the DuckDB batch engine (docs/rulebook.md, "Limits").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from credo.cli.app import app
from credo.domain.records import MAX_AMOUNT
from credo.domain.rulebook import (
    MAX_FACTOR,
    MAX_POINTS,
    MAX_SCORE,
    Rulebook,
)
from credo.rulebook_file import MAX_DEPTH, MAX_NODES, MAX_RULEBOOK_BYTES, parse_rulebook
from tests.conftest import Backend
from tests.strategies import AS_OF, ORGS, PEOPLE
from tests.support import BASE_YAML, at, edit
from tests.test_engine_parity import batch_rows, reference_rows

runner = CliRunner()


def problems(text: str) -> list[str]:
    return [str(p) for p in parse_rulebook(text).problems]


def check_cli(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "rulebook.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["rulebook", "check", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout + result.stderr


# -- the YAML itself -----------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["rulebook: *i"]
)


def test_an_anchor_is_refused_even_a_harmless_one() -> None:
    text = edit(BASE_YAML, "description: A rulebook for tests.", "description: &d A rulebook for tests.")
    assert problems(text) == [
        "line 4: (yaml): anchors and aliases (& and *) are not allowed in a rulebook; write each value out"
    ]


def test_an_alias_is_refused() -> None:
    text = BASE_YAML + "x: *nowhere\n"
    found = parse_rulebook(text).problems
    assert [p.place for p in found] == ["(yaml)"]
    assert "anchors and aliases" in found[0].message


def test_billion_laughs_is_refused_at_once() -> None:
    found = parse_rulebook(BILLION_LAUGHS).problems
    assert [(p.line, p.place) for p in found] == [(1, "(yaml)")]
    assert "anchors and aliases" in found[0].message


def test_a_recursive_alias_is_refused() -> None:
    found = parse_rulebook("a: &a [*a]\nrulebook: *a\n").problems
    assert [p.place for p in found] == ["(yaml)"]


def test_deep_nesting_is_refused() -> None:
    deep = 100_000
    found = parse_rulebook("rulebook: " + "[" * deep + "]" * deep + "\n").problems
    assert [p.place for p in found] == ["(yaml)"]
    assert found[0].message == f"not valid YAML: nested deeper than {MAX_DEPTH} levels"


def test_nesting_at_the_limit_is_read() -> None:
    # depth counts the top mapping as 1: the value of a key is at 2, and so on
    levels = MAX_DEPTH - 1
    found = parse_rulebook("x: " + "[" * levels + "]" * levels + "\n").problems
    assert "nested deeper" not in str(found)


def test_a_flood_of_values_is_refused() -> None:
    found = parse_rulebook("rulebook: [" + ",".join(["0"] * MAX_NODES) + "]\n").problems
    assert [(p.place, p.message) for p in found] == [("(yaml)", f"not valid YAML: more than {MAX_NODES} values")]


def test_a_file_over_the_size_limit_is_refused_without_parsing() -> None:
    text = BASE_YAML + "#" * MAX_RULEBOOK_BYTES + "\n"
    assert problems(text) == [f"(file): larger than {MAX_RULEBOOK_BYTES // 1024} KiB: a rulebook is at most that"]


def test_the_cli_refuses_hostile_yaml_in_one_line(tmp_path: Path) -> None:
    for text in (BILLION_LAUGHS, "a: &a [*a]\n", "[" * 50_000, "rulebook: " + "9" * 5000 + "\n"):
        code, out = check_cli(tmp_path, text)
        assert code == 1
        assert "Traceback" not in out
        assert len(out.strip().splitlines()) == 2, out  # the header and one problem


# -- numbers and durations -------------------------------------------------------------


def test_a_duration_over_100_years_is_refused() -> None:
    text = edit(BASE_YAML, "    counts_for: 5y\n", "    counts_for: 8000y\n")
    found = at(parse_rulebook(text).problems, "rules[1].counts_for")
    assert [p.message for p in found] == ["'8000y' is longer than 100y (36500 days), the longest duration allowed"]
    ok = edit(BASE_YAML, "    counts_for: 5y\n", "    counts_for: 36500d\n")
    assert parse_rulebook(ok).ok


def test_a_400_digit_points_is_refused() -> None:
    text = edit(BASE_YAML, "    points: -100\n", f"    points: -{'9' * 400}\n")
    found = at(parse_rulebook(text).problems, "rules[1].points")
    assert [p.message for p in found] == [f"must be between {-MAX_POINTS} and {MAX_POINTS}"]


def test_a_huge_points_crashes_no_command(tmp_path: Path) -> None:
    text = edit(BASE_YAML, "    points: -100\n", f"    points: -{'9' * 400}\n")
    code, out = check_cli(tmp_path, text)
    assert code == 1
    assert "rules[1].points: must be between" in out


BOUNDED: list[tuple[str, str, tuple[int, ...], tuple[int, ...]]] = [
    # (old text, new text with {}, values allowed, values refused for the format's bounds)
    ("    points: -100\n", "    points: {}\n", (-MAX_POINTS, MAX_POINTS), (-MAX_POINTS - 1, MAX_POINTS + 1)),
    (
        "{min_amount: 500, points: -10}",
        "{{min_amount: 500, points: {}}}",
        (-MAX_POINTS, MAX_POINTS),
        (-MAX_POINTS - 1, MAX_POINTS + 1),
    ),
    (
        "{min_amount: 500, points: -10}",
        "{{min_amount: {}, points: -10}}",
        (0, MAX_AMOUNT),
        (-1, MAX_AMOUNT + 1),
    ),
    ("repeat: {window: 1y, factor: 2,", "repeat: {{window: 1y, factor: {},", (1, MAX_FACTOR), (0, MAX_FACTOR + 1)),
    (
        "score: {base: 1000, min: 0, max: 1300}",
        "score: {{base: 1000, min: 0, max: {}}}",
        (MAX_SCORE,),
        (MAX_SCORE + 1,),
    ),
    ("score: {base: 1000, min: 0, max: 1300}", "score: {{base: 1000, min: {}, max: 1300}}", (), (-MAX_SCORE - 1,)),
    ("  - {grade: B, min: 0}", "  - {{grade: B, min: {}}}", (-MAX_SCORE,), (-MAX_SCORE - 1,)),
    ("  legal: {min: -400, max: 0}", "  legal: {{min: {}, max: 0}}", (-MAX_SCORE,), (-MAX_SCORE - 1,)),
    ("  civic: {min: 0, max: 100}", "  civic: {{min: 0, max: {}}}", (MAX_SCORE,), (MAX_SCORE + 1,)),
    (
        "when: {dimension_at_most: {fiscal: -80}}",
        "when: {{dimension_at_most: {{fiscal: {}}}}}",
        (-MAX_SCORE, MAX_SCORE),
        (-MAX_SCORE - 1, MAX_SCORE + 1),
    ),
]


@pytest.mark.parametrize(("old", "new", "allowed", "refused"), BOUNDED)
def test_every_number_is_bounded(old: str, new: str, allowed: tuple[int, ...], refused: tuple[int, ...]) -> None:
    for value in allowed:
        text = edit(BASE_YAML, old, new.format(value))
        assert parse_rulebook(text).ok, (value, problems(text))
    for value in refused:
        text = edit(BASE_YAML, old, new.format(value))
        assert any(": must be between " in p for p in problems(text)), (value, problems(text))


def test_dates_are_bounded() -> None:
    text = edit(BASE_YAML, "effective_from: 2026-01-01", "effective_from: 0001-01-01")
    found = at(parse_rulebook(text).problems, "effective_from")
    assert [p.message for p in found] == ["must be between 1900-01-01 and 2999-12-31"]


# -- a rulebook that passes check runs on every engine ------------------------------------


@st.composite
def rulebooks_at_the_bounds(draw: st.DrawFn) -> Rulebook:
    edge = st.sampled_from([-MAX_POINTS, -MAX_POINTS + 1, -1, 0, 1, MAX_POINTS - 1, MAX_POINTS])
    longest = st.sampled_from(["36500d", "100y", "1d", "5214w", "1216m"])
    rules: list[dict[str, Any]] = []
    for category in ("tax.late", "court.default"):
        rule: dict[str, Any] = {
            "category": category,
            "dimension": draw(st.sampled_from(["a", "b"])),
            "gravity": "grave",
            "points": draw(edge),
            "counts_for": draw(longest),
            "decay": draw(st.sampled_from(["none", "linear"])),
            "tiers": [
                {"min_amount": MAX_AMOUNT, "points": draw(edge)},
                {"min_amount": 0, "points": draw(edge)},
            ],
        }
        if draw(st.booleans()):
            rule["repeat"] = {"window": draw(longest), "factor": draw(st.sampled_from([1, MAX_FACTOR]))}
        if draw(st.booleans()):
            rule["ends_after_resolution"] = draw(longest)
        rules.append(rule)
    data: dict[str, Any] = {
        "rulebook": "bounds",
        "version": "1",
        "effective_from": "1900-01-01",
        "score": {"base": draw(st.sampled_from([-MAX_SCORE, 0, MAX_SCORE])), "min": -MAX_SCORE, "max": MAX_SCORE},
        "grades": [{"grade": "top", "min": MAX_SCORE}, {"grade": "low", "min": -MAX_SCORE}],
        "dimensions": {"a": {"min": -MAX_SCORE, "max": MAX_SCORE}, "b": {"min": -MAX_SCORE, "max": 0}},
        "rules": rules,
        "lists": [{"id": "watch", "kind": "black", "title": "Watch", "enter_when": {"categories": ["court.default"]}}],
        "measures": [
            {
                "id": "low-a",
                "kind": "penalty",
                "title": "t",
                "context": ["a"],
                "legal_basis": "a law",
                "when": {"dimension_at_most": {"a": draw(st.sampled_from([-MAX_SCORE, MAX_SCORE]))}},
            }
        ],
    }
    loaded = parse_rulebook(yaml.safe_dump(data, sort_keys=False), "bounds.yaml")
    assert loaded.ok and loaded.rulebook is not None, loaded.problems
    return loaded.rulebook


@st.composite
def rows_at_the_bounds(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["person", "organization"]))
        row: dict[str, Any] = {
            "source": "s",
            "record_id": f"r{i}",
            "subject_id": (PEOPLE if kind == "person" else ORGS)[0],
            "subject_kind": kind,
            "category": draw(st.sampled_from(["tax.late", "court.default"])),
            "occurred_on": draw(st.sampled_from(["1900-01-01", "1950-06-30", "2026-06-30"])),
        }
        amount = draw(st.sampled_from([None, 0, 1.5, MAX_AMOUNT]))
        if amount is not None:
            row["amount"] = amount
        if draw(st.booleans()):
            row["resolved_on"] = AS_OF.isoformat()
        rows.append(row)
    return rows


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=rulebooks_at_the_bounds(), rows=rows_at_the_bounds())
def test_a_rulebook_at_the_bounds_runs_on_every_engine(
    book: Rulebook, rows: list[dict[str, Any]], tmp_path: Path
) -> None:
    assert batch_rows(book, rows, tmp_path) == reference_rows(book, rows)


def test_publish_refuses_what_check_refuses(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(edit(BASE_YAML, "    points: -100\n", f"    points: -{'9' * 400}\n"), encoding="utf-8")
    assert runner.invoke(app, ["--db", backend.url, "init"], env=backend.environ).exit_code == 0
    result = runner.invoke(app, ["--db", backend.url, "rulebook", "publish", str(path)], env=backend.environ)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "rules[1].points: must be between -100000 and 100000" in result.stderr
