"""`credo rulebook check`: a summary for a valid rulebook, every placed problem for an invalid one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credo.cli.app import app
from credo.rulebook_file import parse_rulebook
from tests.support import BASE_YAML, VECTORS, edit, line_of, needs_vectors
from tests.test_examples import WITH_EXAMPLES

runner = CliRunner()


def check(path: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["rulebook", "check", str(path)])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str, name: str = "rulebook.yaml") -> Path:
    # a deep folder, so that a wrapped line would show in the assertions
    folder = tmp_path / "operators" / "city-of-example" / "published-rulebooks" / "2026"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_rulebook_gives_a_summary(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_YAML)
    code, out, err = check(path)
    assert code == 0
    assert err == ""
    assert out.splitlines() == [
        "test-city version 2026.1, effective from 2026-01-01: valid",
        "  score      base 1000, range 0..1300",
        "  grades     AA>=1030, A>=960, B>=0",
        "  dimensions fiscal [-300, 50], legal [-400, 0], civic [0, 100]",
        "  rules      4",
        "  lists      dishonest-judgment-debtors (black), honour-roll (red)",
        "  measures   loan-fast-track (reward), high-consumption-restriction (penalty), "
        "procurement-exclusion (penalty)",
        "  examples   0 worked example(s), all pass",
        f"  sha256     {hashlib.sha256(path.read_bytes()).hexdigest()}",
    ]


def test_an_invalid_rulebook_lists_every_problem_with_line_and_place(tmp_path: Path) -> None:
    text = edit(BASE_YAML, "{min_amount: 500, points: -10}", "{min_amount: 500, points: -10, colour: red}")
    text = edit(
        text,
        "    context: [fiscal]\n    when: {grade_at_least: AA}",
        "    context: [fiscal]\n    when: {grade_at_least: AAA}",
    )
    text = edit(text, "  - category: civic.volunteer_service", "  - category: religion.attendance")
    path = write(tmp_path, text)
    expected = [str(p) for p in parse_rulebook(text).problems]
    code, out, err = check(path)
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == f"{path}: 1 problem(s)"  # a type problem stops the check before the policy checks
    assert lines[1:] == [f"  {p}" for p in expected]
    assert lines[1] == f"  line {line_of(text, 'colour: red')}: rules[3].tiers[0].colour: unknown key"


def test_policy_problems_are_printed_with_their_lines(tmp_path: Path) -> None:
    text = edit(BASE_YAML, "    when: {grade_at_least: AA}", "    when: {grade_at_least: AAA}")
    text = edit(text, "  - category: civic.volunteer_service", "  - category: religion.attendance")
    code, _, err = check(write(tmp_path, text))
    assert code == 1
    lines = err.splitlines()
    assert lines[1] == (
        f"  line {line_of(text, 'religion.attendance')}: rules[2].category: "
        "the 'religion' namespace scores expression, belief or who a person is; Credo refuses such rules"
    )
    assert lines[2] == f"  line {line_of(text, 'AAA')}: measures[0].when.grade_at_least: grade 'AAA' is not defined"
    assert len(lines) == 3


def test_brackets_in_keys_are_printed_as_written(tmp_path: Path) -> None:
    text = BASE_YAML + '"[bold]": 1\n'
    code, _, err = check(write(tmp_path, text))
    assert code == 1
    assert err.splitlines()[1:] == [f"  line {line_of(text, '[bold]')}: [bold]: unknown key"]


def test_an_impossible_date_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    code, _, err = check(write(tmp_path, edit(BASE_YAML, "effective_from: 2026-01-01", "effective_from: 2026-02-30")))
    assert code == 1
    assert err.splitlines()[1:] == ["  line 3: effective_from: must be a date that exists, written YYYY-MM-DD"]


def test_a_yaml_syntax_error(tmp_path: Path) -> None:
    code, _, err = check(write(tmp_path, "rulebook: [unclosed\nversion: 1\n"))
    assert code == 1
    assert err.splitlines()[1:] == ["  line 2: (yaml): not valid YAML: expected ',' or ']', but got ':'"]


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    code, out, err = check(path)
    assert code == 1
    assert out == ""
    assert err.splitlines() == [f"error: cannot read {path}: No such file or directory"]


def test_a_folder_is_one_line(tmp_path: Path) -> None:
    code, _, err = check(tmp_path)
    assert code == 1
    assert err.splitlines() == [f"error: cannot read {tmp_path}: Is a directory"]


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rulebook: caf\u00e9\n".encode("latin-1"))
    code, _, err = check(path)
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith(f"error: cannot read {path}: 'utf-8' codec can't decode byte 0xe9")


@needs_vectors
@pytest.mark.parametrize("name", ["v1", "v2", "v3"])
def test_published_vector_rulebooks_check(name: str) -> None:
    code, out, _ = check(VECTORS / f"{name}-rulebook.yaml")
    assert code == 0
    assert out.splitlines()[0].startswith(f"vector-{name[1]} version ")


def test_worked_examples_are_counted_in_the_summary(tmp_path: Path) -> None:
    code, out, _ = check(write(tmp_path, WITH_EXAMPLES))
    assert code == 0
    assert "  examples   2 worked example(s), all pass" in out.splitlines()


def test_a_failing_worked_example_fails_the_check(tmp_path: Path) -> None:
    text = edit(WITH_EXAMPLES, "      score: 911\n", "      score: 912\n")
    code, _, err = check(write(tmp_path, text))
    assert code == 1
    assert err.splitlines()[1:] == [
        f"  line {line_of(text, 'score: 912')}: examples[1].expect.score: "
        "example 'organisation paying late twice': expected score 912, the rules give 911"
    ]
