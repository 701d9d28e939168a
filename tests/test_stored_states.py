"""One decoder for stored states (credo.store.states): the three ways columns arrive decode to the same state."""

from __future__ import annotations

import datetime as dt

from credo.domain.changes import ScoreState
from credo.store.states import decode_state

DAY = dt.date(2026, 6, 30)
EXPECTED = ScoreState(930, "B", {"fiscal": -70}, ("tax-arrears",), ("loan-review",), "2026.1", DAY)


def test_sqlalchemy_driver_and_duckdb_columns_decode_alike() -> None:
    through_sqlalchemy = decode_state(
        930, "B", {"fiscal": -70}, ["tax-arrears"], ["loan-review"], version="2026.1", as_of=DAY
    )
    driver_text = decode_state(
        930, "B", '{"fiscal": -70}', '["tax-arrears"]', '["loan-review"]', version="2026.1", as_of="2026-06-30"
    )
    duckdb_text = decode_state(
        930.0, "B", b'{"fiscal": -70}', '["tax-arrears"]', '["loan-review"]', version="2026.1", as_of=DAY
    )
    assert through_sqlalchemy == driver_text == duckdb_text == EXPECTED


def test_a_person_not_scored_has_no_score_and_no_grade() -> None:
    state = decode_state(None, "", "{}", '["dishonest-judgment-debtors"]', "[]", version="2026.1", as_of=DAY)
    assert (state.score, state.grade, state.lists) == (None, None, ("dishonest-judgment-debtors",))
