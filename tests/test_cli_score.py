"""``credo score``, ``credo explain`` over the store and ``credo refresh``, with the clock set by CREDO_TODAY."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app
from credo.domain.identifiers import mask_identifier
from credo.store.bootstrap import init_store
from credo.store.tables import current_scores, outbox
from tests.conftest import Backend
from tests.storedata import add_record, prepare
from tests.support import ORG, OTHER_PERSON, PERSON

runner = CliRunner()


def credo(backend: Backend, today: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--db", backend.url, *args], env={**backend.environ, "CREDO_TODAY": today})
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def filled(backend: Backend) -> Iterator[Backend]:
    """A store with a judged person (paid on 2026-07-01) and an organisation with a late tax payment."""
    store = backend.open()
    init_store(store)
    prepare(store)
    with store.begin() as connection:
        add_record(
            connection, store, PERSON, "person", "court.judgment_default", "2026-03-01", "c1", resolved_on="2026-07-01"
        )
        add_record(connection, store, ORG, "organization", "tax.late_payment", "2026-02-01", "t1", amount=20000.0)
    store.engine.dispose()
    yield backend


def test_score_reads_the_current_state_and_keeps_it_current(filled: Backend) -> None:
    code, out, err = credo(filled, "2026-06-30", "score", PERSON, ORG, "--json")
    assert (code, err) == (0, "")
    person, org = (json.loads(line) for line in out.splitlines())
    assert person == {
        "subject_id": PERSON,
        "subject_kind": "person",
        "score": 900,
        "grade": "B",
        "dimensions": {"fiscal": 0, "legal": -10000, "civic": 0},
        "lists": ["dishonest-judgment-debtors"],
        "measures": ["high-consumption-restriction"],
        "rulebook_version": "2026.1",
        "as_of": "2026-06-30",
    }
    assert (org["subject_kind"], org["grade"]) == ("organization", "A")  # a first offence is a warning
    # A day later the judgment no longer counts: the read rescores and writes the events.
    code, out, _ = credo(filled, "2026-07-01", "score", PERSON)
    assert code == 0 and "score 1000, grade A" in out
    assert PERSON not in out and mask_identifier(PERSON) in out
    store = filled.open()
    with store.begin() as connection:
        types = list(connection.execute(sa.select(outbox.c.event_type).order_by(outbox.c.id)).scalars())
        as_of = connection.execute(sa.select(sa.func.max(current_scores.c.as_of))).scalar()
    store.engine.dispose()
    assert types[-3:] == ["grade_up", "list_left", "measure_lifted"]
    assert str(as_of) == "2026-07-01"


def test_score_as_of_recomputes_without_writing(filled: Backend) -> None:
    code, out, _ = credo(filled, "2026-06-30", "score", PERSON, "--as-of", "2026-02-15", "--json")
    assert code == 0 and json.loads(out)["score"] == 1000 and json.loads(out)["as_of"] == "2026-02-15"
    store = filled.open()
    with store.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(current_scores)).scalar() == 0
    store.engine.dispose()
    code, _, err = credo(filled, "2026-06-30", "score", PERSON, "--as-of", "2025-06-01")
    assert code == 1 and "no rulebook is in force on 2025-06-01" in err


def test_unknown_subjects_are_an_error_that_never_names_them(filled: Backend) -> None:
    code, out, err = credo(filled, "2026-06-30", "score", OTHER_PERSON)
    assert code == 1 and out == "" and OTHER_PERSON not in err
    assert "no subject with this identifier is in the store" in err
    code, out, err = credo(filled, "2026-06-30", "score", PERSON, "NOT-AN-ID", "--json")
    assert code == 1 and json.loads(out)["score"] == 900
    assert "subject 2 of 2: the identifier is neither" in err and "NOT-AN-ID" not in err
    code, _, err = credo(filled, "2026-06-30", "explain", OTHER_PERSON)
    assert code == 1 and OTHER_PERSON not in err and "no subject" in err


def test_explain_reads_the_store(filled: Backend) -> None:
    code, out, _ = credo(filled, "2026-06-30", "explain", PERSON, "--json")
    assert code == 0
    explanation = json.loads(out)
    assert (explanation["score"], explanation["grade"], explanation["as_of"]) == (900, "B", "2026-06-30")
    assert explanation["rulebook_version"] == "2026.1"
    code, out, _ = credo(filled, "2026-06-30", "explain", PERSON)
    assert code == 0 and mask_identifier(PERSON) in out and PERSON not in out and "court.judgment_default" in out
    code, out, _ = credo(filled, "2026-06-30", "explain", PERSON, "--as-of", "2026-07-02", "--json")
    assert json.loads(out)["score"] == 1000


def test_explain_file_mode_needs_its_options(filled: Backend) -> None:
    code, _, err = credo(filled, "2026-06-30", "explain", PERSON, "--records", "x.csv")
    assert code == 1 and "with --records, --rulebook and --as-of are required" in err
    code, _, err = credo(filled, "2026-06-30", "explain", PERSON, "--rulebook", "x.yaml")
    assert code == 1 and "--rulebook goes with --records" in err


def test_refresh_and_a_bad_clock(filled: Backend) -> None:
    assert credo(filled, "2026-06-30", "score", PERSON, ORG)[0] == 0
    code, out, _ = credo(filled, "2026-06-30", "refresh")
    assert (code, out) == (0, "refreshed as of 2026-06-30: 0 subject(s) rescored, 0 changed, 0 event(s) written\n")
    code, out, _ = credo(filled, "2026-07-02", "refresh")
    assert out.startswith("refreshed as of 2026-07-02: 1 subject(s) rescored, 1 changed, 3 event(s) written")
    code, _, err = credo(filled, "2026-13-01", "refresh")
    assert code == 1 and "CREDO_TODAY is not a valid date (YYYY-MM-DD)" in err
    code, _, err = credo(filled, "0001-01-01", "refresh")
    assert code == 1 and "CREDO_TODAY must be between 1900-01-01 and 2999-12-31" in err
