"""What Credo tells parties (webhook bodies), how far back it looks, and the e-mail check: without a database."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from credo.domain.outbound import (
    ASKED_WITHIN,
    LOOKBACK,
    decision_changed,
    dispute_decided,
    dispute_opened,
    email_problem,
)


@pytest.mark.parametrize("email", ["name@example.org", "a.b+tag@sub.example.cn", "x@y.z"])
def test_plain_ascii_addresses_are_kept(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email",
    ["", "no-at-sign", "name@localhost", "name@exa mple.org", "名字@example.org", "a@b.c\n", "x" * 250 + "@ex.org"],
)
def test_other_addresses_are_refused_with_one_message(email: str) -> None:
    assert email_problem(email) == "email must be a plain ASCII address such as name@example.org"


def test_a_changed_decision_names_the_partys_decisions_and_never_the_subject() -> None:
    detail = {"measure": "M1", "kind": "penalty", "legal_basis": "Art. 3", "rulebook_version": "v2"}
    body = decision_changed(41, "measure_lifted", dt.date(2026, 6, 30), detail, ("d-1", "d-2"))
    assert body == {
        "type": "decision.changed",
        "event_id": "event-41",
        "measure": "M1",
        "applies": False,
        "since": "2026-06-30",
        "kind": "penalty",
        "legal_basis": "Art. 3",
        "rulebook_version": "v2",
        "decision_ids": ["d-1", "d-2"],
        "what_to_do": "Ask again: GET /v1/decisions/M1?subject=<the subject you asked about>",
    }
    assert decision_changed(41, "measure_applied", dt.date(2026, 6, 30), detail, [])["applies"] is True


def _dispute(**changes: object) -> SimpleNamespace:
    fields: dict[str, object] = {
        "dispute_id": "dsp-1",
        "kind": "dispute",
        "source_id": "court",
        "record_id": "r-9",
        "opened_on": dt.date(2026, 6, 1),
        "deadline": dt.date(2026, 7, 1),
        "suspends": 1,
        "outcome": None,
        "reasons": None,
        "decided_on": None,
    }
    return SimpleNamespace(**{**fields, **changes})


def test_an_opened_dispute_tells_the_source_the_statement_deadline_and_suspension() -> None:
    assert dispute_opened(_dispute(), "I paid in May.") == {
        "type": "dispute.opened",
        "dispute_id": "dsp-1",
        "kind": "dispute",
        "source": "court",
        "record_id": "r-9",
        "opened_on": "2026-06-01",
        "deadline": "2026-07-01",
        "record_suspended": True,
        "statement": "I paid in May.",
    }


def test_a_decided_dispute_tells_the_source_the_outcome_and_reasons() -> None:
    decided = _dispute(outcome="removed", reasons="The source confirmed payment.", decided_on=dt.date(2026, 6, 20))
    assert dispute_decided(decided) == {
        "type": "dispute.decided",
        "dispute_id": "dsp-1",
        "kind": "dispute",
        "source": "court",
        "record_id": "r-9",
        "outcome": "removed",
        "reasons": "The source confirmed payment.",
        "decided_on": "2026-06-20",
    }


def test_the_windows_are_the_ones_docs_due_process_promises() -> None:
    """A late address still hears of the last 7 days' notices; a relying party is told of changes for 180 days."""
    assert LOOKBACK.days == 7
    assert ASKED_WITHIN.days == 180
