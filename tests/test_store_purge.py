"""``credo purge`` on both backends: records past retention erased, tombstones kept, the audit chain intact."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.cli.app import app as cli
from credo.domain.identifiers import make_resident_id
from credo.services.delivery_pass import run_pass
from credo.services.realtime_scoring import rescore_subjects
from credo.store.audit import verify
from credo.store.bootstrap import init_store, open_store
from credo.store.delivery import set_webhook
from credo.store.purge import sealed_record_id
from credo.store.tables import (
    audit_log,
    consents,
    current_scores,
    deliveries,
    disputes,
    list_members,
    outbox,
    quarantine,
    records,
    subject_contacts,
    subjects,
    tombstones,
)
from tests.apisupport import API_YAML, NOW, OTHER_PERSON, PERSON, TODAY, Api, api_over, record
from tests.conftest import Backend
from tests.support import D

runner = CliRunner()
KEPT_YAML = API_YAML.replace("effective_from: 2026-01-01\n", "effective_from: 2026-01-01\nretention: {keep_for: 1y}\n")
assert KEPT_YAML != API_YAML
# A judgment default of 2026-03-01 counts 5 years (1825 days: its last day is 2031-02-27), then is kept a year
# (through 2032-02-27): due from 2032-02-28.
LATER = "2032-06-30"
THIRD_PERSON = make_resident_id("110101", dt.date(1991, 2, 3), 7)


@pytest.fixture
def api(backend: Backend, request: pytest.FixtureRequest) -> Iterator[Api]:
    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store, book=getattr(request, "param", KEPT_YAML)) as running:
        yield running
    store.engine.dispose()


def run(api: Api, *args: str, today: str = LATER) -> Any:
    env = {**dict(api.store.environ or {}), "CREDO_TODAY": today}
    return runner.invoke(cli, ["--db", api.store.url.render_as_string(hide_password=False), *args], env=env)


def fill(api: Api) -> None:
    """PERSON: an old judgment (two versions) and a recent one; OTHER_PERSON: an old judgment only."""
    api.push(record("J-OLD", amount=10), record("J-OLD", amount=20), record("J-OTHER", OTHER_PERSON))
    api.push(record("J-NEW", occurred_on="2032-01-01"))


def table_counts(api: Api) -> dict[str, int]:
    with api.store.begin() as connection:
        return {
            t.name: connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (records, subjects, tombstones, current_scores, disputes, audit_log)
        }


def state_of(api: Api, subject: str) -> Any:
    """The subject's current state on LATER, as ``credo score --json`` gives it (and stores it)."""
    result = run(api, "score", subject, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_dry_run_says_what_would_go_and_changes_nothing(api: Api) -> None:
    fill(api)
    before = table_counts(api)
    result = run(api, "purge", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    said = json.loads(result.output)
    assert (said["dry_run"], said["records"], said["versions"], said["subjects"]) == (True, 2, 3, 1)
    assert said["by_category"] == [{"category": "court.judgment_default", "records": 2, "versions": 3}]
    assert said["keep_for_days"] == 365
    assert table_counts(api) == before  # nothing written, not even to the audit trail
    text = run(api, "purge", "--dry-run")
    assert text.exit_code == 0, text.output
    assert "dry run: as of 2032-06-30" in text.output
    assert (
        "2 record(s) (3 version(s)) would be purged, 1 subject(s) left with no record would be removed" in text.output
    )
    assert "court.judgment_default" in text.output
    assert PERSON not in text.output and OTHER_PERSON not in text.output


def test_nothing_is_due_before_the_retention_period_has_passed(api: Api) -> None:
    fill(api)
    result = run(api, "purge", "--future", "--json", today="2032-02-27")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["records"] == 0
    assert json.loads(run(api, "purge", "--future", "--json", today="2032-02-28").output)["records"] == 2


def test_purge_erases_the_records_keeps_tombstones_and_the_chain_verifies(api: Api) -> None:
    fill(api)
    result = run(api, "purge", "--future")
    assert result.exit_code == 0, result.output
    assert "2 record(s) (3 version(s)) were purged, 1 subject(s) left with no record were removed" in result.output
    with api.store.begin() as connection:
        ring = api.store.keys(connection)
        left = connection.execute(sa.select(records.c.record_id)).scalars().all()
        stones = connection.execute(
            sa.select(tombstones.c.record_id, tombstones.c.versions, tombstones.c.category, tombstones.c.counted_until,
                      tombstones.c.purged_on).order_by(tombstones.c.record_id)
        ).all()  # fmt: skip
        entry = connection.execute(sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(1)).one()
        report = verify(connection)
    assert left == ["J-NEW"]
    # The record id is kept only as a keyed hash: in clear it would join the audit trail's record.new entries.
    assert sorted(tuple(s) for s in stones) == sorted([
        (sealed_record_id(ring, "court", "J-OLD"), 2, "court.judgment_default", D("2031-02-27"), D(LATER)),
        (sealed_record_id(ring, "court", "J-OTHER"), 1, "court.judgment_default", D("2031-02-27"), D(LATER)),
    ])  # fmt: skip
    assert (entry.action, entry.actor_role, entry.subject_id) == ("records.purge", "operator", None)
    assert entry.actor.startswith("cli:")
    assert entry.detail == {
        "as_of": LATER, "rulebook_version": "2026.1", "keep_for_days": 365, "records": 2, "versions": 3, "subjects": 1,
        "quarantined": 0,
    }  # fmt: skip
    assert report.intact, report.problem
    verified = run(api, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    # Tampering is still detected after a purge: the purge's own entry, edited.
    with api.store.begin() as connection:
        connection.execute(sa.update(audit_log).where(audit_log.c.id == entry.id).values(detail={"records": 0}))
    broken = run(api, "audit", "verify")
    assert broken.exit_code == 1
    assert str(entry.id) in broken.output
    # Nothing is left to purge.
    again = json.loads(run(api, "purge", "--future", "--json").output)
    assert (again["records"], again["subjects"]) == (0, 0)


def test_a_subject_with_no_record_left_disappears_and_one_with_records_keeps_its_state(api: Api) -> None:
    fill(api)
    person = state_of(api, PERSON)
    with api.store.begin() as connection:
        stored = connection.execute(sa.select(current_scores).order_by(current_scores.c.subject_id)).all()
    assert run(api, "purge", "--future").exit_code == 0
    gone = api.client.get("/v1/me/report", headers=api.headers("subject", OTHER_PERSON))
    assert gone.status_code == 404  # the identifier's lookup finds nobody
    assert run(api, "score", OTHER_PERSON).exit_code == 1
    assert person["score"] == 900  # J-NEW counts; J-OLD stopped counting years ago
    kept = state_of(api, PERSON)
    for name in ("score", "grade", "dimensions", "lists", "measures"):
        assert kept[name] == person[name], name
    with api.store.begin() as connection:
        after = connection.execute(sa.select(current_scores).order_by(current_scores.c.subject_id)).all()
        kept_ids = connection.execute(sa.select(subjects.c.id)).scalars().all()
        # Rescored from what is left, the remaining subject's stored state is unchanged.
        outcome = rescore_subjects(connection, list(kept_ids), D(LATER))
    assert len(after) == 1 and after[0] in stored
    assert outcome.changed == 0


def test_an_open_dispute_keeps_its_record(api: Api) -> None:
    fill(api)
    opened = api.client.post(
        "/v1/me/disputes",
        json={"source": "court", "record_id": "J-OTHER", "statement": "Paid long ago."},
        headers=api.headers("subject", OTHER_PERSON),
    )
    assert opened.status_code == 201, opened.text
    # While open it blocks the purge of its record (a dry run does not decide overdue disputes, so it stays open;
    # a real purge first would, as the next test shows).
    said = json.loads(run(api, "purge", "--dry-run", "--json").output)
    assert (said["records"], said["subjects"]) == (1, 0)
    with api.store.begin() as connection:
        assert connection.execute(sa.select(records.c.record_id).where(records.c.record_id == "J-OTHER")).first()


@pytest.mark.parametrize("api", [API_YAML], indirect=True)
def test_a_rulebook_without_retention_purges_nothing(api: Api) -> None:
    fill(api)
    before = table_counts(api)
    result = run(api, "purge", "--future", today="2090-01-01")
    assert result.exit_code == 0, result.output
    assert "the rulebook in force (2026.1) sets no retention period: nothing is purged" in result.output
    said = json.loads(run(api, "purge", "--future", "--json", today="2090-01-01").output)
    assert (said["keep_for_days"], said["records"]) == (None, 0)
    assert table_counts(api) == before


def test_everything_about_a_gone_subject_goes_and_its_ids_are_never_given_again(api: Api) -> None:
    fill(api)
    other = api.headers("subject", OTHER_PERSON)
    with api.store.begin() as connection:  # the webhook receivers of the tests listen on this machine
        ring = api.store.keys(connection)
        set_webhook(connection, ring, ("source", "court"), "https://court.example/hooks", NOW, allowed_hosts=())
        other_id = connection.execute(sa.select(sa.func.max(subjects.c.id))).scalar_one()
    assert api.client.put("/v1/me/contact", json={"email": "other@example.org"}, headers=other).is_success
    assert api.client.post("/v1/me/consent", json={"given": True}, headers=other).is_success
    opened = api.client.post(
        "/v1/me/disputes", json={"source": "court", "record_id": "J-OTHER", "statement": "Paid."}, headers=other
    )
    decided = api.client.post(
        f"/v1/disputes/{opened.json()['dispute_id']}/decision",
        json={"outcome": "upheld", "reasons": "Not paid."},
        headers=api.headers("reviewer", "rita"),
    )
    assert decided.status_code == 200, decided.text
    run_pass(api.store, None, now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))  # owed: emails, and to the court (fails)
    with api.store.begin() as connection:
        owed = connection.execute(sa.select(sa.func.count()).where(deliveries.c.subject_id == other_id)).scalar_one()
    assert owed > 0

    assert run(api, "purge", "--future").exit_code == 0
    with api.store.begin() as connection:
        for table in (current_scores, list_members, outbox, disputes, consents, subject_contacts, deliveries):
            left = connection.execute(sa.select(sa.func.count()).where(table.c.subject_id == other_id)).scalar_one()
            assert left == 0, table.name
        statements = [ring.decrypt(p) for p in connection.execute(sa.select(deliveries.c.payload_enc)).scalars()]
    assert not any(b"Paid." in s for s in statements)  # the statement to the court went with the record

    api.push(record("J-THIRD", THIRD_PERSON, occurred_on="2032-06-01"))  # a new person after the purge
    with api.store.begin() as connection:
        third_id = connection.execute(sa.select(sa.func.max(subjects.c.id))).scalar_one()
    assert third_id > other_id  # never the purged person's surrogate id: decisions and audit entries name it
    seen = api.client.get("/v1/me/report", headers=api.headers("subject", THIRD_PERSON)).json()["subjects"][0]
    assert seen["decisions"] == [] and all(a["action"] != "contact.set" for a in seen["accesses"])


def test_quarantined_rows_are_kept_no_longer_than_records(api: Api) -> None:
    fill(api)
    bad = api.client.post(
        "/v1/records", json=[record("J-BAD", category="tax.late_payment")], headers=api.headers("source", "court")
    )
    assert bad.json()["rejected"] == 1
    # Kept a year from when it was received (the wall clock): not yet today, gone in 2032.
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert json.loads(run(api, "purge", "--dry-run", "--json", today=today).output)["quarantined"] == 0
    said = json.loads(run(api, "purge", "--future", "--json").output)
    assert said["quarantined"] == 1
    with api.store.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(quarantine)).scalar_one() == 0


def test_a_purge_dated_ahead_of_the_clock_needs_future_and_overdue_disputes_lapse_first(api: Api) -> None:
    fill(api)
    refused = run(api, "purge")  # CREDO_TODAY is years ahead of the real date
    assert refused.exit_code == 1 and "erases records that still count today" in refused.output
    opened = api.client.post(
        "/v1/me/disputes", json={"source": "court", "record_id": "J-OLD", "statement": "Not mine."},
        headers=api.headers("subject", PERSON),
    )  # fmt: skip
    assert opened.status_code == 201
    # Years past its deadline: the purge first decides it for the subject (as the daily refresh would), so the
    # record goes with the others instead of being held by an open dispute.
    said = json.loads(run(api, "purge", "--future", "--json").output)
    assert said["records"] == 2
    with api.store.begin() as connection:
        lapse = connection.execute(sa.select(audit_log).where(audit_log.c.action == "dispute.lapse")).one()
    assert lapse.subject_id is not None  # the subject sees it among the accesses to its data
