"""A subject's notices read while a record for the subject commits between two of the reads (found by the soak)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from credo.store.bootstrap import Store, init_store
from credo.store.notices import notices_of
from credo.store.rulebooks import rulebook_at
from tests.conftest import Backend
from tests.storedata import add_record, prepare
from tests.support import PERSON, D

TODAY = "2026-06-30"


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    backend.environ["CREDO_TODAY"] = TODAY
    made = backend.open()
    init_store(made)
    prepare(made)
    yield made
    made.engine.dispose()


def test_a_record_that_commits_between_the_reads_of_notices_is_no_error(store: Store) -> None:
    """Reads of notices take no snapshot: a push may commit between them. It answered 500 (KeyError) under load."""
    with store.begin() as connection:
        subject = add_record(connection, store, PERSON, "person", "court.judgment_default", "2026-03-01", "J-1")
    pushed: list[str] = []

    def push_between(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        reads_records = "FROM records" in statement and ("is_latest" in statement or "min(records.id)" in statement)
        if reads_records and not pushed:  # after the first read of the subject's records, once
            pushed.append("J-2")
            with store.begin() as other:
                add_record(other, store, PERSON, "person", "court.judgment_default", "2026-04-01", "J-2")

    with store.begin() as connection:
        _, book = rulebook_at(connection, D(TODAY))
        event.listen(store.engine, "after_cursor_execute", push_between)
        try:
            notices = notices_of(connection, book, subject)
        finally:
            event.remove(store.engine, "after_cursor_execute", push_between)
    assert pushed == ["J-2"]
    assert "J-1" in {n.why.get("record_id") for n in notices}  # J-2 came after: the next read has it
