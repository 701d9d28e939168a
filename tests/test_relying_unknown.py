"""A relying party cannot tell who is in the store: an unknown subject is answered as one with no records.

The miss is kept like any decision (the decisions log, without a subject, and the audit trail), and each party's
questions are limited in rate when the deployment says so (429 with Retry-After).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from credo.domain.identifiers import make_resident_id
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log, decisions
from tests.apisupport import BANK, OTHER_PERSON, PERSON, TODAY, Api, api_over, record

UNKNOWN = make_resident_id("440301", dt.date(1970, 2, 3), 7)
MEASURES = ("loan-fast-track", "high-consumption-restriction")


def _api(tmp_path: Path, **env: str) -> Iterator[Api]:
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY, **env})
    init_store(store)
    with api_over(store) as api:
        yield api
    store.engine.dispose()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from _api(tmp_path)


def _answer(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body.pop("decision_id")
    return body


def test_an_unknown_subject_is_answered_as_a_known_one_with_no_records(api: Api) -> None:
    api.push(record("J-1"))
    # OTHER_PERSON is known with no records: it gave an address before any record (the store holds the subject).
    contact = api.client.put(
        "/v1/me/contact", json={"email": "someone@example.org"}, headers=api.headers("subject", OTHER_PERSON)
    )
    assert contact.status_code < 300, contact.text
    for measure in MEASURES:
        known_empty = _answer(api.decide(measure, subject=OTHER_PERSON))
        unknown = _answer(api.decide(measure, subject=UNKNOWN))
        assert unknown == known_empty, measure
    assert _answer(api.decide("high-consumption-restriction"))["applies"] is True  # the known debtor still is


def test_a_miss_is_kept_in_the_decisions_log_and_the_audit_trail(api: Api) -> None:
    answer = api.decide("loan-fast-track", subject=UNKNOWN).json()
    with api.store.begin() as connection:
        kept = connection.execute(sa.select(decisions).where(decisions.c.decision_id == answer["decision_id"])).one()
        entry = connection.execute(
            sa.select(audit_log).where(audit_log.c.action == "decision").order_by(audit_log.c.id.desc())
        ).first()
    assert kept.subject_id is None and kept.relying_id == BANK and kept.applies is False
    assert entry is not None and entry.actor == BANK and entry.subject_id is None
    detail = entry.detail if isinstance(entry.detail, dict) else __import__("json").loads(entry.detail)
    assert detail["decision_id"] == answer["decision_id"]
    assert UNKNOWN not in str(detail)


def test_each_party_is_limited_in_rate_when_the_deployment_says_so(tmp_path: Path) -> None:
    for api in _api(tmp_path, CREDO_RELYING_RATE="0.001", CREDO_RELYING_BURST="2"):
        api.push(record("J-1"))
        assert [api.decide("loan-fast-track").status_code for _ in range(2)] == [200, 200]
        refused = api.decide("loan-fast-track", subject=UNKNOWN)
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "too-many-requests"
        assert int(refused.headers["Retry-After"]) >= 1
        assert PERSON not in refused.text and UNKNOWN not in refused.text
        other = api.client.get("/v1/me/report", headers=api.headers("subject", PERSON))
        assert other.status_code == 200  # only relying parties are limited, each on its own


def test_a_bad_rate_setting_stops_the_start(tmp_path: Path) -> None:
    from credo.api.app import create_app
    from credo.store.errors import StoreError

    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_RELYING_RATE": "fast"})
    init_store(store)
    with pytest.raises(StoreError, match="CREDO_RELYING_RATE"):
        create_app(store)
    store.engine.dispose()
