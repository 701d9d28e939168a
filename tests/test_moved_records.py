"""A record its source moves to another subject (docs/due-process.md, "A record moved to another subject").

The disputes on it are the first holder's: a move closes the open ones as ``moved`` (both subjects told), the
new holder may dispute the record afresh, and no decision about the first holder's dispute (removed, upheld,
still open) acts on the new holder. The same on every path that can move a record: a push, a file ingest, a
quarantine retry; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from credo.services.ingest import ingest_path, retry_quarantine
from credo.store.sources import allow_categories
from credo.store.tables import disputes
from tests.apisupport import OTHER_PERSON, PERSON, SOURCE, TODAY, Api, record

RITA = ("reviewer", "rita")


def report(api: Api, who: str) -> dict[str, Any]:
    answer = api.client.get("/v1/me/report", headers=api.headers("subject", who))
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["subjects"][0])


def counted(api: Api, who: str) -> set[str]:
    return {c["record_id"] for c in report(api, who)["contributions"]}


def ignored(api: Api, who: str) -> dict[str, str]:
    return {i["record_id"]: i["why"] for i in report(api, who)["ignored"]}


def notices(api: Api, who: str) -> list[dict[str, Any]]:
    return list(api.client.get("/v1/me/notices", headers=api.headers("subject", who)).json()["notices"])


def dispute(api: Api, who: str, record_id: str) -> Any:
    return api.client.post(
        "/v1/me/disputes",
        json={"source": SOURCE, "record_id": record_id, "statement": "This judgment is not mine."},
        headers=api.headers("subject", who),
    )


def decide(api: Api, dispute_id: str, outcome: str) -> Any:
    return api.client.post(
        f"/v1/disputes/{dispute_id}/decision",
        json={"outcome": outcome, "reasons": "Checked with the court."},
        headers=api.headers(*RITA),
    )


def test_a_push_that_moves_a_disputed_record_closes_the_dispute_and_the_new_holder_may_dispute(api: Api) -> None:
    api.push(record("J-1"))
    opened = dispute(api, PERSON, "J-1")
    assert opened.status_code == 201, opened.text
    first_id = opened.json()["dispute_id"]
    assert ignored(api, PERSON) == {"J-1": "suspended by due process"}

    api.push(record("J-1", subject=OTHER_PERSON))  # the court names the other person

    # The first holder: the dispute closed as moved, told so twice (the dispute and the record), no record left.
    (mine,) = api.client.get("/v1/me/disputes", headers=api.headers("subject", PERSON)).json()
    assert (mine["state"], mine["outcome"], mine["decided_by"], mine["decided_on"]) == (
        "decided",
        "moved",
        SOURCE,
        TODAY,
    )
    told = {n["kind"]: n for n in notices(api, PERSON)}
    assert "was closed: the source attributed the record to another subject" in told["dispute_decided"]["what"]
    assert told["record_moved"]["why"] == {"source": SOURCE, "record_id": "J-1"}
    assert counted(api, PERSON) == set() and ignored(api, PERSON) == {}

    # The new holder: the record counts, is not suspended by another's dispute, and it may dispute it.
    assert counted(api, OTHER_PERSON) == {"J-1"} and ignored(api, OTHER_PERSON) == {}
    before_dispute = report(api, OTHER_PERSON)["score"]
    arrived = next(n for n in notices(api, OTHER_PERSON) if n["kind"] == "record_added")
    assert arrived["what"].startswith(f"{SOURCE} attributed to you a record it had against another subject")
    assert PERSON not in json.dumps(notices(api, OTHER_PERSON))  # never who had it
    theirs = dispute(api, OTHER_PERSON, "J-1")
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["record_suspended"] is True
    assert report(api, OTHER_PERSON)["score"] > before_dispute

    # The reviewers' queue holds the new dispute only; the closed one cannot be decided.
    queue = api.client.get("/v1/disputes", headers=api.headers(*RITA)).json()
    assert [d["dispute_id"] for d in queue] == [theirs.json()["dispute_id"]]
    assert decide(api, first_id, "removed").status_code == 409


def test_no_decision_about_the_first_holders_dispute_acts_on_the_new_holder(api: Api) -> None:
    api.push(record("J-1"), record("J-2", occurred_on="2026-03-02"))
    removed = dispute(api, PERSON, "J-1").json()["dispute_id"]
    upheld = dispute(api, PERSON, "J-2").json()["dispute_id"]
    assert decide(api, removed, "removed").status_code == 200
    assert decide(api, upheld, "upheld").status_code == 200
    assert counted(api, PERSON) == {"J-2"}

    api.push(record("J-1", subject=OTHER_PERSON), record("J-2", subject=OTHER_PERSON, occurred_on="2026-03-02"))

    # "removed" was about the first holder: the source's re-attribution counts for the new one.
    assert counted(api, OTHER_PERSON) == {"J-1", "J-2"} and ignored(api, OTHER_PERSON) == {}
    # An "upheld" for the first holder does not stop the new holder's first dispute from suspending the record.
    assert dispute(api, OTHER_PERSON, "J-2").json()["record_suspended"] is True
    # The first holder's decided disputes stay as they were decided.
    kept = {d["dispute_id"]: d["outcome"] for d in api.client.get(
        "/v1/me/disputes", headers=api.headers("subject", PERSON)).json()}  # fmt: skip
    assert kept == {removed: "removed", upheld: "upheld"}
    # Moved back to the first holder, its own "removed" holds again.
    api.push(record("J-1"))
    assert "J-1" in ignored(api, PERSON)


def test_a_file_ingest_and_a_quarantine_retry_that_move_a_record_close_its_disputes(api: Api, tmp_path: Path) -> None:
    api.push(record("J-1"), record("J-2", occurred_on="2026-03-02"))
    first = dispute(api, PERSON, "J-1").json()["dispute_id"]
    second = dispute(api, PERSON, "J-2").json()["dispute_id"]
    today = dt.date.fromisoformat(TODAY)

    moved = tmp_path / "moved.jsonl"
    moved.write_text(json.dumps({**record("J-1", subject=OTHER_PERSON), "source": SOURCE}) + "\n")
    summary = ingest_path(api.store, str(moved), today=today)
    assert summary.versions == 1

    # J-2 goes to the other person in a category the court may not report yet: quarantined, then retried.
    held = tmp_path / "held.jsonl"
    row = {**record("J-2", subject=OTHER_PERSON, occurred_on="2026-03-02"), "source": SOURCE}
    held.write_text(json.dumps({**row, "category": "tax.late_payment"}) + "\n")
    assert ingest_path(api.store, str(held), today=today).quarantined == 1
    with api.store.begin() as connection:
        assert connection.execute(sa.select(disputes.c.state).where(disputes.c.dispute_id == second)).scalar() == "open"
        allow_categories(connection, SOURCE, ["court.*", "civic.*", "tax.*"])
    assert retry_quarantine(api.store, today=today).resolved == 1

    with api.store.begin() as connection:
        outcomes = dict(connection.execute(sa.select(disputes.c.dispute_id, disputes.c.outcome)).all())
    assert outcomes == {first: "moved", second: "moved"}
    assert counted(api, PERSON) == set()
    assert {n["why"]["record_id"] for n in notices(api, PERSON) if n["kind"] == "record_moved"} == {"J-1", "J-2"}
    assert {"J-1", "J-2"} <= counted(api, OTHER_PERSON) | set(ignored(api, OTHER_PERSON))
    assert ignored(api, OTHER_PERSON) == {}
