"""The public list lookup tells nothing about who is known: the same statements for known and unknown identifiers.

No timings here (a timing is not a test): the lookup is held to run exactly the same SQL, in the same order, for an
identifier Credo holds records about and one it has never seen, and to compute and write nothing on read. The
read model it reads (``list_members``) is held equal to the stored states through pushes, withdrawals, bulk
rescoring, the catch-up walk, key rotation and purges.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from credo.domain.identifiers import make_resident_id
from credo.services import lookups
from credo.store.bootstrap import Store, init_store, open_store
from credo.store.tables import audit_log, current_scores, list_members, outbox, subjects
from tests.apisupport import OTHER_PERSON, PERSON, TODAY, Api, api_over, record
from tests.conftest import Backend

UNKNOWN = make_resident_id("440301", dt.date(1970, 2, 3), 7)
BLACK = "dishonest-judgment-debtors"


@pytest.fixture
def traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, list[str]]]:
    monkeypatch.setattr(lookups, "CACHE_TTL", 3600.0)  # the rulebook and keys read once: only the lookups differ
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    statements: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    event.listen(store.engine, "connect", trace)
    store.engine.dispose()
    with api_over(store) as api:
        api.push(record("J-1"), record("V-1", subject=OTHER_PERSON, category="civic.volunteer_service"))
        yield api, statements
    store.engine.dispose()


def _lookup(api: Api, statements: list[str], list_id: str, subject: str) -> tuple[dict[str, Any], list[str]]:
    api.client.get(f"/v1/lists/{list_id}", params={"subject": subject})  # warm: the same caches for both
    statements.clear()
    answer = api.client.get(f"/v1/lists/{list_id}", params={"subject": subject})
    assert answer.status_code == 200, answer.text
    ran = [re.sub(r"[Xx]'[0-9A-Fa-f]*'", "x'?'", s) for s in statements if not s.startswith("PRAGMA")]
    return answer.json(), ran


@pytest.mark.parametrize("list_id", [BLACK, "honour-roll"])
def test_a_known_and_an_unknown_identifier_take_the_same_path(traced: tuple[Api, list[str]], list_id: str) -> None:
    api, statements = traced
    known, known_ran = _lookup(api, statements, list_id, OTHER_PERSON)  # records held, on no list
    unknown, unknown_ran = _lookup(api, statements, list_id, UNKNOWN)
    assert known == unknown
    assert known["listed"] is False
    assert known_ran == unknown_ran
    assert known_ran, "the lookup reads the store"
    assert not [s for s in known_ran if "current_scores" in s or "records" in s or "outbox" in s]


def test_a_lookup_computes_and_writes_nothing_even_when_the_state_is_stale(traced: tuple[Api, list[str]]) -> None:
    api, statements = traced
    listed = api.client.get(f"/v1/lists/{BLACK}", params={"subject": PERSON}).json()
    assert listed["listed"] is True
    assert listed["since"] == TODAY and listed["published_until"] == "2027-06-29"
    assert api.store.environ is not None
    api.store.environ["CREDO_TODAY"] = "2027-08-01"  # stored states are a year old; the publication is over
    with api.store.begin() as connection:
        before = connection.execute(sa.select(current_scores)).all()
    for subject in (PERSON, OTHER_PERSON, UNKNOWN):
        answer, ran = _lookup(api, statements, BLACK, subject)
        assert answer["listed"] is False, subject
        assert not [s for s in ran if re.match(r"\s*(INSERT|UPDATE|DELETE)", s, re.I)], ran
    with api.store.begin() as connection:
        assert connection.execute(sa.select(current_scores)).all() == before


def test_the_public_list_can_be_browsed_page_by_page(traced: tuple[Api, list[str]]) -> None:
    api, _ = traced
    api.push(*(record(f"M-{n}", subject=make_resident_id("110105", dt.date(1980, 1, 1), n)) for n in range(1, 6)))
    first = api.client.get(f"/v1/lists/{BLACK}", params={"limit": 4})
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["list"] == BLACK and page["kind"] == "black"
    assert len(page["entries"]) == 4 and page["next_offset"] == 4
    rest = api.client.get(f"/v1/lists/{BLACK}", params={"limit": 4, "offset": 4}).json()
    assert len(rest["entries"]) == 2 and rest["next_offset"] is None
    shown = [e["subject"] for e in page["entries"] + rest["entries"]]
    assert len(set(shown)) == 6
    assert PERSON not in json.dumps(page) + json.dumps(rest)  # identifiers masked as everywhere else
    assert all(e["since"] == TODAY and e["published_until"] == "2027-06-29" for e in page["entries"])
    with api.store.begin() as connection:  # each page read is audited once, naming the subjects shown
        pages = connection.execute(sa.select(audit_log.c.detail).where(audit_log.c.action == "list.browse")).all()
    details = [json.loads(d) if isinstance(d, str) else d for (d,) in pages]
    assert [(d["offset"], len(d["subjects"])) for d in details] == [(0, 4), (4, 2)]
    assert api.store.environ is not None
    api.store.environ["CREDO_TODAY"] = "2027-08-01"  # past the publication period: nobody shown
    assert api.client.get(f"/v1/lists/{BLACK}").json()["entries"] == []
    assert api.client.get("/v1/lists/no-such-list").status_code == 404


# -- the read model stays in step with the stored states ------------------------------------------


def members_in_step(store: Store) -> None:
    """``list_members`` holds exactly the stored states' lists, keyed by the subjects' keyed hashes."""
    with store.begin() as connection:
        held = {(r.list_id, bytes(r.subject_key), r.subject_id) for r in connection.execute(sa.select(list_members))}
        expected = set()
        for row in connection.execute(
            sa.select(current_scores.c.subject_id, current_scores.c.lists, subjects.c.subject_key).join(
                subjects, subjects.c.id == current_scores.c.subject_id
            )
        ):
            lists = json.loads(row.lists) if isinstance(row.lists, str) else row.lists
            expected |= {(name, bytes(row.subject_key), row.subject_id) for name in lists}
        assert held == expected
        entered = connection.execute(
            sa.select(outbox.c.subject_id, outbox.c.detail, outbox.c.as_of)
            .where(outbox.c.event_type == "list_entered")
            .order_by(outbox.c.id)
        ).all()
        last = {}
        for sid, detail, as_of in entered:
            last[(json.loads(detail) if isinstance(detail, str) else detail)["list"], sid] = as_of
        for r in connection.execute(sa.select(list_members)):
            assert r.since == last[(r.list_id, r.subject_id)]


def test_the_read_model_follows_every_path_that_changes_lists(backend: Backend) -> None:
    from credo.services.actor import Actor
    from credo.services.bulk_scoring import rescore_store
    from credo.services.daily_refresh import lapse_and_refresh
    from credo.services.retention import purge
    from credo.store.rotate import rotate_keys

    env = {**backend.environ, "CREDO_TODAY": TODAY}
    store = open_store(backend.url, environ=env)
    init_store(store)
    with api_over(store) as api:
        people = [make_resident_id("120101", dt.date(1975, 5, 5), n) for n in range(1, 8)]
        api.push(*(record(f"P-{n}", subject=p) for n, p in enumerate(people)))  # real time
        members_in_step(store)
        api.client.post("/v1/records/court/P-0/withdraw", headers=api.headers("source", "court"))
        members_in_step(store)
    rescore_store(store)  # bulk
    members_in_step(store)
    env["CREDO_TODAY"] = "2031-06-30"  # the judgments stop counting: everyone leaves the list in the catch-up walk
    with store.begin() as connection:
        lapse_and_refresh(connection, dt.date(2031, 6, 30), "test", store.clock())
    members_in_step(store)
    with store.begin() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(list_members)).scalar_one() == 0
    with api_over_again(store) as api:  # on 2031-06-30 still
        api.push(record("Q-1", occurred_on="2031-06-01"))
        members_in_step(store)
    rotate_keys(store)
    members_in_step(store)
    with api_over_again(store) as api:  # a server started on the new keys finds the entry by its new keyed hash
        answer = api.client.get(f"/v1/lists/{BLACK}", params={"subject": PERSON}).json()
    purge(store, Actor("operator", "test"), future=True, today=dt.date(2045, 1, 1))
    members_in_step(store)
    store.engine.dispose()
    assert answer["listed"] is True


def api_over_again(store: Store) -> Any:
    from fastapi.testclient import TestClient

    from credo.api.app import create_app

    class Again:
        def __enter__(self) -> Api:
            self.client = TestClient(create_app(store), raise_server_exceptions=False).__enter__()
            return Api(store, self.client)

        def __exit__(self, *exc: object) -> None:
            self.client.__exit__(*exc)

    return Again()


def test_migration_0011_fills_the_read_model_from_the_stored_states(backend: Backend) -> None:
    from alembic import command

    from credo.store.migrate import alembic_config, upgrade

    store = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as api:
        api.push(record("J-1"), record("J-2", subject=OTHER_PERSON), record("V-1", subject=UNKNOWN, category="civic.x"))
        api.client.post("/v1/records/court/J-2/withdraw", headers=api.headers("source", "court"))
    with store.begin() as connection:
        before = connection.execute(sa.select(list_members).order_by(list_members.c.subject_id)).all()
        command.downgrade(alembic_config(connection), "0010")
    upgrade(store.engine)
    members_in_step(store)
    with store.begin() as connection:
        assert connection.execute(sa.select(list_members).order_by(list_members.c.subject_id)).all() == before
    assert len(before) == 1
    store.engine.dispose()
