"""The command line reports every error as one line, in one place (credo.cli.errors, ADR 0019).

Before: a value an option does not take, an unknown command or a missing
argument printed Typer's boxed usage panel (``Usage: ...``, ``Try 'credo
--help'``, box-drawing characters) on several lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from credo.cli.app import app
from credo.cli.errors import one_line_errors
from credo.errors import NotFoundError

runner = CliRunner()
BOX = set("╭╮╰╯─│")


def _one_line(result: Result, status: int) -> str:
    """The exit status, nothing on stdout, and exactly one line on stderr: ``error: ...``, no box, no usage."""
    assert result.exit_code == status, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert not BOX & set(result.stderr) and "Usage:" not in result.stderr and "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "option", "expects"),
    [
        (["serve", "--port", "abc"], "--port", "valid integer"),
        (["serve", "--port", "0"], "--port", "greater than or equal to 1"),
        (["demo", "--people", "many"], "--people", "valid integer"),
        (["delivery", "list", "--state", "nope"], "--state", "must be pending, delivered, failed or cancelled"),
        (["delivery", "retry", "abc"], "delivery_id", "valid integer"),
        (["webhook", "rotate-secret", "relying", "bank", "--overlap", "9z"], "--overlap", "24h or 2d"),
    ],
)
def test_a_value_an_option_does_not_take_is_one_line_naming_it(args: list[str], option: str, expects: str) -> None:
    line = _one_line(runner.invoke(app, args), 2)
    assert line.startswith(f"error: {option}: ") and expects in line, line


@pytest.mark.parametrize(
    ("args", "option", "message"),
    [
        (["score", "X", "--as-of", "2024-13-40"], "--as-of", "--as-of is not a valid date (YYYY-MM-DD)"),
        (["rulebook", "activate", "1", "--from", "2026-02-30"], "--from", "--from is not a valid date (YYYY-MM-DD)"),
        (["dispute", "decide", "1", "upheld", "--amount", "lots"], "--amount", "--amount is not a decimal number"),
    ],
)
def test_a_date_or_amount_is_refused_in_the_words_of_records(args: list[str], option: str, message: str) -> None:
    """Dates and amounts are read as in a record (credo.cli.dates): exit 1, as before this change."""
    assert _one_line(runner.invoke(app, args), 1) == f"error: {message}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["frob"], "error: no such command 'frob'; see 'credo --help'"),
        (["--bogus"], "error: no such option: --bogus; see 'credo --help'"),
        (["--db"], "error: option '--db' requires an argument; see 'credo --help'"),
        (["score"], "error: missing argument 'subject_id'; see 'credo score --help'"),
        (["rulebook", "publish"], "error: missing argument 'rulebook'; see 'credo rulebook publish --help'"),
        (["batch", "--records", "r.csv"], "error: missing option '--rulebook'; see 'credo batch --help'"),
    ],
)
def test_an_unknown_command_or_a_missing_argument_is_one_line(args: list[str], message: str) -> None:
    assert _one_line(runner.invoke(app, args), 2) == message


def test_help_is_still_help() -> None:
    for args in (["--help"], ["batch", "--help"], ["rulebook"]):
        result = runner.invoke(app, args)
        assert "Usage:" in result.output, args
    assert runner.invoke(app, ["--help"]).exit_code == 0


def test_a_credo_error_from_a_command_is_one_line(tmp_path: Path) -> None:
    """Commands raise; the group prints (here: a store with no schema yet)."""
    result = runner.invoke(app, ["--db", f"sqlite:///{tmp_path / 'credo.db'}", "source", "list"])
    assert "run credo init" in _one_line(result, 1)


def test_the_one_place_turns_a_credo_error_into_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as stopped, one_line_errors():
        raise NotFoundError("no such dispute")
    assert stopped.value.exit_code == 1
    assert capsys.readouterr().err == "error: no such dispute\n"
