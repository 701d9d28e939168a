"""New states in DuckDB: from the plan's ``subject_scores`` to ``current_scores`` rows, consent applied, changes found.

After an engine ran the store plan (:func:`score_tables`), ``new_states`` holds every subject's new state with
its JSON columns as the store keeps them; :func:`changes` compares it with the ``stored`` states (only subjects
whose state changed come back to Python, for :func:`credo.domain.changes.events_between`), and
:func:`write_states` upserts it in bulk (:func:`credo.services.bulk_writes.insert_select`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection

from credo import engines
from credo.batch.plan import store_plan
from credo.batch.sqltext import EPOCH, day_number, lit
from credo.domain.changes import ScoreState, events_between
from credo.domain.consent import ConsentHistory, consent_days, consent_on, without_consent
from credo.domain.rulebook import Rulebook
from credo.domain.scoring import score_only
from credo.engines import ScoringEngine
from credo.engines.base import STORE_INPUTS
from credo.services.bulk_writes import insert_select
from credo.store.rulebooks import Versions
from credo.store.states import decode_state
from credo.store.tables import current_scores

__all__ = ["apply_consent", "changed_states", "changes", "score_tables", "state_of", "write_states"]


def _json_list_sql(column: str) -> str:
    """';'-joined ids as the JSON text json.dumps writes (ids are slugs: no quoting needed)."""
    return f"""CASE WHEN {column} = '' THEN '[]' ELSE '["' || replace({column}, ';', '", "') || '"]' END"""


def _dimensions_sql(book: Rulebook) -> str:
    parts = [f"{lit(json.dumps(name) + ': ')} || CAST(dim_{i} AS VARCHAR)" for i, name in enumerate(book.dimensions)]
    return "'{' || " + " || ', ' || ".join(parts) + " || '}'" if parts else "'{}'"


def _empty_states_sql(book: Rulebook, as_of: dt.date) -> str:
    """A VALUES table with each kind's state when no record counts (subjects with no active record)."""
    rows = []
    for kb, kind in ((0, "person"), (1, "organization")):
        score, grade, dims, lists, measures = score_only(book, kind, [], as_of)
        rows.append(
            f"({kb}, {score}, {lit(grade)}, {lit(json.dumps(dict(dims)))}, "
            f"{lit(json.dumps(list(lists)))}, {lit(json.dumps(list(measures)))})"
        )
    return f"SELECT * FROM (VALUES {', '.join(rows)}) t(kb, score, grade, dimensions, lists, measures)"


def _new_states_sql(book: Rulebook, as_of: dt.date) -> str:
    """Every subject's new state, JSON columns as text, next_change as a DATE."""
    t = day_number(as_of)
    return f"""
    WITH scored AS (
        SELECT ka, kb, CAST(score AS BIGINT) AS score, grade, {_dimensions_sql(book)} AS dimensions,
               {_json_list_sql("lists")} AS lists, {_json_list_sql("measures")} AS measures,
               CASE WHEN next_change > {t} THEN DATE '{EPOCH.isoformat()}' + CAST(next_change AS INTEGER) END
                   AS next_change
        FROM subject_scores
    ),
    empty AS ({_empty_states_sql(book, as_of)})
    SELECT s.ka AS subject_id, s.kb, coalesce(x.score, e.score) AS score, coalesce(x.grade, e.grade) AS grade,
           coalesce(x.dimensions, e.dimensions) AS dimensions, coalesce(x.lists, e.lists) AS lists,
           coalesce(x.measures, e.measures) AS measures, x.next_change
    FROM store_subjects s LEFT JOIN scored x ON x.ka = s.ka JOIN empty e ON e.kb = s.kb"""


def score_tables(
    con: duckdb.DuckDBPyConnection,
    book: Rulebook,
    as_of: dt.date,
    consent: Mapping[int, ConsentHistory] | None = None,
    engine: ScoringEngine | None = None,
) -> int:
    """Score the registered ``store_subjects`` (ka, kb) and ``store_records`` into ``new_states``; its size.

    The store plan runs on ``engine`` (default: DuckDB's), which gives ``subject_scores`` back as Arrow.

    ``store_records``: the latest active version of each record (ka, source,
    record_id, category, occ, res as day numbers, amount). ``new_states`` has
    one row per subject: subject_id, kb, score, grade, dimensions, lists and
    measures (JSON text as json.dumps writes it) and next_change (DATE or NULL).
    ``consent``: the consent histories of the subjects that have one
    (:func:`apply_consent`; None: nobody has one).
    """
    plan = store_plan(book, as_of)
    inputs = {name: con.sql(f"SELECT * FROM {name}").to_arrow_table() for name in STORE_INPUTS}
    con.register("subject_scores", (engine or engines.get("duckdb")).run(plan, inputs)["subject_scores"])
    con.execute(f"CREATE OR REPLACE TEMP TABLE new_states AS {_new_states_sql(book, as_of)}").fetchall()
    apply_consent(con, book, as_of, consent or {})
    return int(con.execute("SELECT count(*) FROM new_states").fetchall()[0][0])


def apply_consent(
    con: duckdb.DuckDBPyConnection, book: Rulebook, day: dt.date, consent: Mapping[int, ConsentHistory]
) -> None:
    """``new_states`` of persons without consent on ``day`` as :func:`without_consent` leaves them.

    Only under a rulebook that requires consent. The domain function is asked
    once for each distinct (lists, measures) pair among the unconsented, and
    its answer joined back: every engine applies the same function. A
    subject's ``next_change`` moves to the first consent entry dated ahead,
    if that is sooner.
    """
    if not book.score.requires_consent:
        return
    consented = [sid for sid, history in consent.items() if consent_on(history, day)]
    ahead = [(sid, min(days)) for sid, history in consent.items() if (days := consent_days(history, day))]
    con.register("consented", pa.table({"ka": pa.array(consented, pa.int64())}))
    unconsented = "n.kb = 0 AND n.subject_id NOT IN (SELECT ka FROM consented)"
    forms = con.execute(f"SELECT DISTINCT n.lists, n.measures FROM new_states n WHERE {unconsented}").fetchall()
    kept: dict[str, list[str]] = {"lists": [], "measures": [], "new_lists": [], "new_measures": []}
    for lists, measures in forms:
        state = ScoreState(0, "", {}, tuple(json.loads(lists)), tuple(json.loads(measures)), book.version, day)
        left = without_consent(book, state)
        kept["lists"].append(lists)
        kept["measures"].append(measures)
        kept["new_lists"].append(json.dumps(list(left.lists)))
        kept["new_measures"].append(json.dumps(list(left.measures)))
    con.register("consent_forms", pa.table({k: pa.array(v, pa.string()) for k, v in kept.items()}))
    con.execute(
        f"""UPDATE new_states n SET score = NULL, grade = NULL, dimensions = '{{}}', lists = m.new_lists,
                                    measures = m.new_measures
            FROM consent_forms m WHERE {unconsented} AND n.lists = m.lists AND n.measures = m.measures"""
    )
    con.register(
        "consent_ahead",
        pa.table(
            {"ka": pa.array([a for a, _ in ahead], pa.int64()), "day": pa.array([d for _, d in ahead], pa.date32())}
        ),
    )
    con.execute(
        """UPDATE new_states n SET next_change = least(coalesce(n.next_change, c.day), c.day)
           FROM consent_ahead c WHERE c.ka = n.subject_id"""
    )
    for name in ("consented", "consent_forms", "consent_ahead"):
        con.unregister(name)


# Score and grade compared NULL-safely (a person without consent has neither); a NULL grade read back by
# PostgreSQL's COPY arrives as '' (grades are never empty).
_DIFFERENT_STANDING = "o.score IS DISTINCT FROM n.score OR NULLIF(o.grade, '') IS DISTINCT FROM n.grade"


def _changed_sql(version: str) -> str:
    """Subjects whose new state may differ from the stored one (JSON compared minified; Python decides)."""
    return f"""
    SELECT n.subject_id, n.score, n.grade, n.dimensions, n.lists, n.measures,
           o.subject_id IS NOT NULL AS had, o.rulebook_version, o.score, o.grade, o.dimensions, o.lists, o.measures
    FROM new_states n LEFT JOIN stored o ON o.subject_id = n.subject_id
    WHERE o.subject_id IS NULL OR o.rulebook_version <> {lit(version)} OR {_DIFFERENT_STANDING}
       OR json(o.dimensions) <> json(n.dimensions) OR json(o.lists) <> json(n.lists)
       OR json(o.measures) <> json(n.measures)
    ORDER BY n.subject_id"""


def state_of(row: Sequence[Any], version: str, as_of: dt.date) -> ScoreState:
    """A state from (score, grade, dimensions, lists, measures) as DuckDB gives them (JSON as text)."""
    score, grade, dims, lists, measures = row
    return decode_state(score, grade, dims, lists, measures, version=version, as_of=as_of)


def changes(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    book: Rulebook,
    *,
    version: str,
    as_of: dt.date,
    now: dt.datetime,
) -> tuple[int, list[dict[str, Any]]]:
    """After :func:`score_tables`: subjects whose state changed, and the outbox rows of their events."""
    books = Versions(connection)
    events: list[dict[str, Any]] = []
    changed = 0
    for subject_id, before, after in changed_states(con, version, as_of):
        changed += 1
        previous = books.previous(before.rulebook_version) if before and before.rulebook_version != version else None
        for event in events_between(book, before, after, previous_book=previous):
            events.append(
                {
                    "subject_id": subject_id,
                    "event_type": event.type,
                    "detail": dict(event.detail),
                    "as_of": dt.date.fromisoformat(event.detail["as_of"]),
                    "created_at": now,
                }
            )
    return changed, events


def changed_states(
    con: duckdb.DuckDBPyConnection, version: str, as_of: dt.date
) -> Iterator[tuple[int, ScoreState | None, ScoreState]]:
    """(subject, stored state or None, new state) of each subject whose state changed (``stored``, ``new_states``)."""
    for row in con.execute(_changed_sql(version)).fetchall():
        after = state_of(row[1:6], version, as_of)
        before = state_of(row[8:13], row[7], as_of) if row[6] else None
        if before is None or not before.same_as(after):
            yield int(row[0]), before, after


def _differs_sql(version: str, as_of: dt.date) -> str:
    """The new states that are not already stored, exact as they are (``stored``: the stored rows)."""
    return f"""
    SELECT n.subject_id, n.score, n.grade, n.dimensions, n.lists, n.measures, n.next_change
    FROM new_states n LEFT JOIN stored o ON o.subject_id = n.subject_id
    WHERE o.subject_id IS NULL OR o.rulebook_version <> {lit(version)} OR {_DIFFERENT_STANDING}
       OR json(o.dimensions) <> json(n.dimensions) OR json(o.lists) <> json(n.lists)
       OR json(o.measures) <> json(n.measures) OR CAST(o.as_of AS DATE) > DATE '{as_of.isoformat()}'
       OR CAST(NULLIF(o.next_change, '') AS DATE) IS DISTINCT FROM n.next_change"""


def write_states(
    connection: Connection,
    con: duckdb.DuckDBPyConnection,
    version: str,
    as_of: dt.date,
    now: dt.datetime,
    *,
    only_changed: bool = False,
) -> int:
    """Upsert ``new_states`` into ``current_scores`` in bulk, computed at ``now``; the rows written.

    With ``only_changed``, a subject whose stored row already holds the same
    state and ``next_change`` (stored for an earlier or the same day) is left
    as it is: still exact (:func:`credo.services.realtime_scoring.is_exact`). Only for a
    whole-store rescore: there the records are those the stored states were
    computed from, since every change of records rescored its subjects.
    """
    query = (
        _differs_sql(version, as_of)
        if only_changed
        else "SELECT subject_id, score, grade, dimensions, lists, measures, next_change FROM new_states"
    )
    return insert_select(
        connection,
        con,
        current_scores,
        query,
        constants={"as_of": as_of, "rulebook_version": version, "computed_at": now},
        on_conflict=("subject_id",),
    )
