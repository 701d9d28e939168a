"""What a subject asks about itself, as services (services/subjects.py), over a store in memory.

Consent over the API and the command line, on both backends, is in tests/test_consent_api.py; here each
rule is one use case call, in milliseconds (tests/inmemory.py, ADR 0020).
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from credo.services import rulebooks, subjects
from credo.services.actor import Actor
from credo.store.rulebooks import NoActiveRulebookError
from credo.store.tables import audit_log, current_scores
from credo.store.tables import subjects as subject_rows
from tests.apisupport import API_YAML, PERSON, record
from tests.inmemory import InMemory
from tests.support import edit

CONSENT_YAML = edit(
    edit(API_YAML, 'version: "2026.1"', 'version: "2026.2"'),
    "score: {base: 1000, min: 0, max: 1300}",
    "score: {base: 1000, min: 0, max: 1300, requires_consent: true}",
)


def consent_required(store: InMemory) -> None:
    """From the tests' day on, the rulebook in force scores a person only with its consent."""
    with store.unit() as uow:
        rulebooks.publish(uow, Actor("operator", "alice"), CONSENT_YAML, "consent.yaml")
        rulebooks.activate(uow, Actor("operator", "alice"), "2026.2", store.today)


def score_of(store: InMemory, subject_id: int) -> int | None:
    score: int | None = store.scalar(sa.select(current_scores.c.score).where(current_scores.c.subject_id == subject_id))
    return score


def test_a_person_not_stored_reads_its_consent_and_leaves_no_entry(in_memory: InMemory) -> None:
    consent_required(in_memory)
    with in_memory.unit() as uow:
        seen = subjects.consent(uow, None)
        assert uow.entries == []
    assert (seen["rulebook_version"], seen["requires_consent"], seen["given"], seen["scored"]) == (
        "2026.2",
        True,
        False,
        False,
    )
    assert in_memory.scalar(sa.select(sa.func.count()).select_from(subject_rows)) == 0


def test_consent_given_in_advance_is_kept_and_a_repeat_changes_nothing(in_memory: InMemory) -> None:
    consent_required(in_memory)
    with in_memory.unit() as uow:
        given = subjects.set_consent_of(uow, PERSON, True)
        assert uow.to_rescore == set()  # no record yet: nothing to rescore
    with in_memory.unit() as uow:
        again = subjects.set_consent_of(uow, PERSON, True)
    assert (given["given"], given["scored"], given["since"], given["changed"]) == (True, True, "2026-06-30", True)
    assert (again["given"], again["changed"], len(again["history"])) == (True, False, 1)
    details = in_memory.rows(sa.select(audit_log.c.action, audit_log.c.detail).order_by(audit_log.c.id))
    assert [(a, d) for a, d in details if a.startswith("consent.")] == [
        ("consent.give", {"given": True, "changed": True}),
        ("consent.give", {"given": True, "changed": False}),
    ]


def test_giving_and_withdrawing_consent_rescores_a_person_with_records(in_memory: InMemory) -> None:
    consent_required(in_memory)
    in_memory.push(record("J-1"))
    subject_id = in_memory.subject(PERSON)
    assert score_of(in_memory, subject_id) is None  # not scored without consent
    with in_memory.unit() as uow:
        subjects.set_consent_of(uow, PERSON, True)
        assert uow.to_rescore == {subject_id}
    assert score_of(in_memory, subject_id) == 900
    with in_memory.unit() as uow:
        withdrawn = subjects.set_consent_of(uow, PERSON, False)
    assert (withdrawn["given"], withdrawn["scored"], withdrawn["changed"]) == (False, False, True)
    assert score_of(in_memory, subject_id) is None


def test_without_a_rulebook_in_force_consent_is_refused_before_anything_is_written(in_memory: InMemory) -> None:
    before_any = dt.date(2025, 12, 31)
    with pytest.raises(NoActiveRulebookError), in_memory.unit(today=before_any) as uow:
        subjects.set_consent_of(uow, PERSON, True)
    assert in_memory.scalar(sa.select(sa.func.count()).select_from(subject_rows)) == 0


def test_a_report_is_todays_and_each_read_is_an_entry_the_subject_then_sees(in_memory: InMemory) -> None:
    in_memory.push(record("J-1"))
    subject_id = in_memory.subject(PERSON)
    for _ in range(2):
        with in_memory.unit() as uow:
            report = subjects.reports(uow, [(subject_id, "person")], PERSON)
            assert [(e.action, e.subject_id) for e in uow.entries] == [("report.read", subject_id)]
    (body,) = report["subjects"]
    assert (report["as_of"], body["subject_id"], body["score"], body["consent"]["required"]) == (
        "2026-06-30",
        PERSON,
        900,
        False,
    )
    assert [(a["action"], a["who"]) for a in body["accesses"]] == [("report.read", "you")]  # the first read
