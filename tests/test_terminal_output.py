"""Data already in a store reaches the operator's terminal escaped: no control character, no Rich markup
(issue 11, finding 5). Intake refuses control characters; rows stored before that, or by other paths, remain.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credo.cli.app import app
from credo.cli.console import printable, shown
from credo.domain.disputes import Filing
from credo.store.bootstrap import init_store, open_store
from credo.store.disputes import open_dispute
from credo.store.quarantine import quarantine_row
from credo.store.rulebooks import rulebook_at
from tests.storedata import NOW, SOURCE, add_record, prepare
from tests.support import PERSON, D

# Clear the screen, set the window title, a C1 CSI, a right-to-left override, Rich markup, a forged line.
HOSTILE = "J-\x1b[2J\x1b]0;owned\x07\x9b31m\u202e[bold]x[/bold] [link=http://x]y[/link]\nfake: line\x00"
TODAY = "2026-06-30"


def _controls(text: str) -> list[str]:
    return sorted({repr(c) for c in text if c != "\n" and (unicodedata.category(c) in ("Cc", "Cs", "Cf"))})


def test_printable_escapes_control_characters_and_keeps_text() -> None:
    assert printable("plain 中文 text") == "plain 中文 text"
    assert printable("a\x1b[2Jb\x9b\u202ec\nd\ud800") == "a\\x1b[2Jb\\x9b\\u202ec\\nd\\ud800"
    assert printable("a\nb", keep_newlines=True) == "a\nb"
    assert shown("[bold]x[/]\x07") == "\\[bold]x\\[/]\\x07"
    assert shown(12) == "12"


pytestmark = pytest.mark.usefixtures("wide_terminal")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'credo.db'}"
    store = open_store(url, environ={"CREDO_TODAY": TODAY})
    init_store(store)
    prepare(store)
    with store.begin() as connection:
        subject = add_record(connection, store, PERSON, "person", "court.judgment_default", "2026-03-01", HOSTILE)
        ring = store.keys(connection)
        _, book = rulebook_at(connection, D(TODAY))
        filing = Filing(SOURCE, HOSTILE, f"not mine {HOSTILE}")
        open_dispute(connection, ring, book, subject, filing, today=D(TODAY), now=NOW)
        quarantine_row(
            connection, ring, file=f"in{HOSTILE}.csv", row_number=2, reason="a reason", now=NOW,
            raw={"source": SOURCE, "record_id": HOSTILE, "subject_id": PERSON, "malformed": None},
        )  # fmt: skip
    store.engine.dispose()
    yield url


COMMANDS = [
    ["explain", PERSON],
    ["explain", PERSON, "--json"],
    ["dispute", "list"],
    ["dispute", "list", "--json"],
    ["quarantine", "list"],
    ["quarantine", "list", "--json"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_stored_control_characters_and_markup_reach_the_terminal_escaped(db: str, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["--db", db, *args], env={"CREDO_TODAY": TODAY, "COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    output = result.stdout + result.stderr
    assert _controls(output) == [], output
    assert "fake: line" in output  # the text is all there, its line break shown as \n
    assert "\nfake: line" not in output
    if "--json" in args:
        json.loads(result.stdout)  # still JSON, the escapes are JSON's own
    else:
        assert "[bold]x[/bold]" in output  # markup in the data is shown, not applied


def test_an_error_message_quoting_data_is_shown_as_written(db: str) -> None:
    hostile_id = "[/]\x1b[2J[bold]x"
    result = CliRunner().invoke(
        app,
        ["--db", db, "dispute", "decide", hostile_id, "--outcome", "upheld", "--reasons", "r"],
        env={"CREDO_TODAY": TODAY},
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit | None), result.exception
    assert "[/]\\x1b[2J[bold]x" in result.stderr, result.stderr
    assert _controls(result.stderr) == []
