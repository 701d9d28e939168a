"""The refresh's catch-up in bulk: stale states walked over any number of missed days, set-wise in DuckDB.

A state stored days (or years) ago is brought to today with every event dated
the day its change happened, under the rulebook version, the disputes and
the consent of that day (docs/changes.md). The walk in Python finds those
days one subject at a time (:func:`credo.services.realtime_scoring.refresh_due`, for a
few subjects); this finds them for many at once, in three steps.

1. **Cuts.** Apart from linear decay, a subject's state can change only on a
   few days: the day after the stored one, a record's start, the end of its
   counting period, the end of a ``clean_for`` window it blocks, a version
   coming into force, a dispute's period starting or ending
   (:mod:`credo.domain.suppression`), a consent entry. Between two cuts (a
   *segment*) the records that count, the rulebook, the suppressions and the
   consent stay as they are.
2. **Days scored.** Each segment's first day is scored, and its last day
   too when a linearly decaying record counts in it. A decaying contribution
   only moves towards 0, so where a dimension's decaying records share one
   sign its total moves one way through the segment and stays between its
   values on the first and the last day. If the score's bounds then fall in
   one grade and every ``dimension_at_most`` measure is settled, nothing an
   event reports (grade, lists, measures, being scored) changes inside the
   segment, and the days between are skipped. Otherwise (a grade line within
   reach, or decaying records of both signs in one dimension) every day of
   the segment is scored.
3. **Many days in one run.** The contract compares dates only with each
   other, so moving every date of a subject by the same number of days moves
   its state by that many days. A (subject, day) pair is scored as a
   pseudo-subject whose records and consent entries are moved forward by
   ``today - day``, by the store-mode plan compiled for ``today``: one run of
   the batch plan per rulebook version scores all its pairs. A pair gets only
   the records that can matter on its day (counting, blocking a ``clean_for``
   window, or still inside a repeat window) and none that a dispute holds
   out on that day.

Consecutive states of each subject are compared in DuckDB; only the steps
where being scored, the grade, the lists or the measures change come back to
Python for :func:`credo.domain.changes.events_between`, dated the day scored.
Today's state is scored as :func:`credo.services.bulk_scoring.rescore_many` does,
compared with the last day walked, and written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection

from credo.batch.files import connect
from credo.batch.plan import store_plan
from credo.batch.sqltext import EPOCH, day_number, lit
from credo.domain.changes import events_between
from credo.domain.consent import ConsentHistory
from credo.domain.rulebook import Rulebook
from credo.services.bulk_scoring import load_suppressions, load_tables
from credo.services.bulk_states import changed_states, changes, score_tables, state_of, write_states
from credo.services.catchup_sql import clean_fors, rule_facts_sql, settled_sql
from credo.store.bulk_reads import consent_of
from credo.store.list_members import write_events
from credo.store.rulebooks import Versions, rulebook_at, versions_in_force

__all__ = ["PAIRS_PER_RUN", "SPLIT", "catch_up_many"]

PAIRS_PER_RUN = 250_000  # (subject, day) pairs scored per run of the plan: bounds DuckDB's memory
SPLIT = 4  # an unsettled segment is scored at 3 days in between and looked at again as 4 parts

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class _Version:
    no: int
    version: str
    book: Rulebook
    first: int  # day numbers, inclusive
    last: int


def _view(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")


def _register_ints(con: duckdb.DuckDBPyConnection, name: str, **columns: Sequence[int]) -> None:
    """Make Python's integer columns a DuckDB view ``name`` (BIGINT each), in the order given."""
    con.register(name, pa.table({column: pa.array(values, pa.int64()) for column, values in columns.items()}))


class _Walk:
    """One chunk of stale subjects walked from their stored days to the day before today, in one DuckDB."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        versions: list[_Version],
        consent: Mapping[int, ConsentHistory],
        today: dt.date,
    ) -> None:
        self.con, self.versions, self.consent, self.today = con, versions, consent, today
        self.t = day_number(today)

    # -- step 1: cuts and segments --------------------------------------------------------------

    # Long: step 1 is a sequence of DuckDB statements, each building on the one before (read top to bottom).
    def prepare(self, stale: Sequence[tuple[int, dt.date]]) -> None:
        con, t = self.con, self.t
        _register_ints(con, "due", ka=[sid for sid, _ in stale], since=[day_number(d) for _, d in stale])
        _register_ints(
            con,
            "versions",
            vno=[v.no for v in self.versions],
            first=[v.first for v in self.versions],
            last=[v.last for v in self.versions],
        )
        entries = [(sid, day_number(on)) for sid, history in self.consent.items() for on, _ in history]
        _register_ints(con, "consent_days", ka=[e[0] for e in entries], t=[e[1] for e in entries])
        con.execute(
            """CREATE OR REPLACE TEMP TABLE rule_rows (vno BIGINT, ka BIGINT, source VARCHAR, record_id VARCHAR,
               category VARCHAR, occ BIGINT, res BIGINT, amount DOUBLE, base BIGINT, ends BIGINT, decays BOOLEAN,
               dim_no BIGINT, listed BOOLEAN, reach BIGINT)"""
        )
        windows: list[tuple[int, int]] = []
        for v in self.versions:
            self._rule_rows(v)
            windows += [(v.no, cf) for cf in clean_fors(v.book)]
        _register_ints(con, "clean_fors", vno=[c[0] for c in windows], cf=[c[1] for c in windows])
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE directions AS
            SELECT r.vno, r.ka, r.dim_no,
                   CASE WHEN bool_and(r.base > 0) THEN -1 WHEN bool_and(r.base < 0) THEN 1 ELSE 0 END AS way
            FROM rule_rows r JOIN due d ON d.ka = r.ka
            WHERE r.decays AND r.base <> 0 AND r.ends > d.since AND r.occ < {t}
            GROUP BY r.vno, r.ka, r.dim_no"""
        )
        # A record's start or end that moves its dimension the way its decay does is no cut (see _Walk).
        moves_along = "coalesce(w.way, 0) <> 0 AND NOT r.listed AND sign(r.base) IN (0, {sign} w.way)"
        with_way = "rule_rows r LEFT JOIN directions w ON w.vno = r.vno AND w.ka = r.ka AND w.dim_no = r.dim_no"
        dirties = "EXISTS (SELECT 1 FROM clean_fors f WHERE f.vno = r.vno)"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE cuts AS
            SELECT DISTINCT c.ka, c.t FROM (
                SELECT ka, since + 1 AS t FROM due
                UNION ALL SELECT ka, {t} FROM due
                UNION ALL SELECT d.ka, v.first FROM due d CROSS JOIN versions v
                UNION ALL SELECT ka, start FROM periods
                UNION ALL SELECT ka, stop FROM periods WHERE stop IS NOT NULL
                UNION ALL SELECT ka, t FROM consent_days
                UNION ALL SELECT r.ka, r.occ FROM {with_way}
                          WHERE NOT ({moves_along.format(sign="")} AND NOT (r.base < 0 AND {dirties}))
                UNION ALL SELECT r.ka, r.ends FROM {with_way} WHERE NOT ({moves_along.format(sign="-")})
                UNION ALL SELECT r.ka, r.occ + f.cf FROM rule_rows r JOIN clean_fors f ON f.vno = r.vno WHERE r.base < 0
            ) c JOIN due d ON d.ka = c.ka
            WHERE c.t > d.since AND c.t <= {t}"""
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE segments AS
            SELECT s.ka, s.a, s.b, v.vno,
                   EXISTS (SELECT 1 FROM rule_rows r
                           WHERE r.vno = v.vno AND r.ka = s.ka
                             AND ((r.decays AND r.occ <= s.a AND r.ends > s.a)
                                  OR r.occ BETWEEN s.a + 1 AND s.b OR r.ends BETWEEN s.a + 1 AND s.b)) AS moves,
                   EXISTS (SELECT 1 FROM directions w WHERE w.vno = v.vno AND w.ka = s.ka AND w.way = 0) AS mixed
            FROM (SELECT ka, t AS a, lead(t) OVER (PARTITION BY ka ORDER BY t) - 1 AS b FROM cuts) s
            JOIN versions v ON s.a BETWEEN v.first AND v.last
            WHERE s.b IS NOT NULL"""
        )

    def _rule_rows(self, v: _Version) -> None:
        """The records a rule of version ``v`` scores, with what the plan says of each and until when it can matter.

        ``reach``: the first day on which the record can no longer change a
        state: after its counting period, the longest ``clean_for`` window it
        blocks, and the repeat window in which it can be a predecessor.
        """
        plan = store_plan(v.book, self.today)
        _view(
            self.con,
            "checked",
            """SELECT r.ka, s.kb, CASE WHEN s.kb = 0 THEN 'person' ELSE 'organization' END AS subject_kind,
                      r.source, r.record_id, r.category, r.occ, r.res, r.amount, 'active' AS status
               FROM walk_records r JOIN subjects_now s ON s.ka = r.ka""",
        )
        clean = clean_fors(v.book)
        blocks = f"CASE WHEN b.base < 0 THEN b.occ + {clean[-1]} END" if clean else "NULL"
        self.con.execute(
            f"""INSERT INTO rule_rows
            WITH b AS ({plan.rows_sql}), facts AS ({rule_facts_sql(v.book)})
            SELECT {v.no}, b.ka, b.source, b.record_id, w.category, b.occ, w.res, w.amount, b.base, b.ends,
                   f.decays, f.dim_no, f.listed, greatest(b.ends, {blocks}, b.occ + f.repeat_reach)
            FROM b JOIN facts f ON f.rule_no = b.rule_no
            JOIN walk_records w ON w.ka = b.ka AND w.source = b.source AND w.record_id = b.record_id"""
        )

    # -- steps 2 and 3: scoring days ------------------------------------------------------------

    def walk(self) -> None:
        """Score each segment's first day, and its last if anything moves in it; then split the unsettled ones.

        A segment whose grade or dimension measures may change inside is
        scored on :data:`SPLIT` - 1 days in between and looked at again in
        parts, until every part is settled or short enough to score whole: a
        few days per change found, rather than every day. A subject with
        decaying records of both signs in one dimension has every day scored.
        """
        con = self.con
        con.execute(
            """CREATE OR REPLACE TEMP TABLE walked (ka BIGINT, t BIGINT, version VARCHAR, score BIGINT,
               grade VARCHAR, dimensions VARCHAR, lists VARCHAR, measures VARCHAR)"""
        )
        con.execute("CREATE OR REPLACE TEMP TABLE day_dims (ka BIGINT, t BIGINT, dims BIGINT[])")
        self._score(
            """SELECT ka, a AS t, vno FROM segments
               UNION SELECT ka, b, vno FROM segments WHERE moves AND b > a
               UNION SELECT ka, unnest(range(a + 1, b)), vno FROM segments WHERE moves AND mixed AND b > a + 1"""
        )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE pending AS
            SELECT ka, a, b, vno FROM segments WHERE moves AND NOT mixed AND b > a + 1"""
        )
        while True:
            con.execute("CREATE OR REPLACE TEMP TABLE unsettled (ka BIGINT, a BIGINT, b BIGINT, vno BIGINT)")
            for v in self.versions:
                con.execute(
                    f"""INSERT INTO unsettled
                    SELECT s.ka, s.a, s.b, s.vno FROM pending s
                    LEFT JOIN day_dims x ON x.ka = s.ka AND x.t = s.a
                    LEFT JOIN day_dims y ON y.ka = s.ka AND y.t = s.b
                    WHERE s.vno = {v.no} AND NOT ({settled_sql(v.book)})"""
                )
            if not con.execute("SELECT count(*) FROM unsettled").fetchall()[0][0]:
                return
            # Short parts are scored whole; longer ones on SPLIT - 1 days in between, then looked at again in parts.
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE parts AS
                SELECT DISTINCT ka, vno, a, b, a + (b - a) * j // {SPLIT} AS t
                FROM unsettled, range(0, {SPLIT} + 1) k(j) WHERE b - a > {SPLIT}"""
            )
            self._score(
                f"""SELECT ka, t, vno FROM parts WHERE t > a AND t < b
                    UNION SELECT ka, unnest(range(a + 1, b)), vno FROM unsettled WHERE b - a <= {SPLIT}"""
            )
            con.execute(
                """CREATE OR REPLACE TEMP TABLE pending AS
                SELECT ka, t AS a, next AS b, vno
                FROM (SELECT ka, vno, t, lead(t) OVER (PARTITION BY ka, vno, a ORDER BY t) AS next FROM parts)
                WHERE next > t + 1"""
            )

    def _score(self, days_sql: str) -> None:
        """Score the (subject, day) pairs ``days_sql`` gives, at most :data:`PAIRS_PER_RUN` per run of the plan."""
        con = self.con
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE pairs AS
            SELECT row_number() OVER (ORDER BY w.vno, w.ka, w.t) AS pk, w.ka, s.kb, w.t, w.vno
            FROM ({days_sql}) w JOIN subjects_now s ON s.ka = w.ka"""
        )
        for v in self.versions:
            low, high = con.execute(f"SELECT min(pk), max(pk) FROM pairs WHERE vno = {v.no}").fetchall()[0]
            for start in range(low or 1, (high or 0) + 1, PAIRS_PER_RUN):
                self._score_run(v, f"p.pk BETWEEN {start} AND {min(start + PAIRS_PER_RUN - 1, high)}")

    def _score_run(self, v: _Version, chosen: str) -> None:
        """Score the pairs ``chosen`` (all of version ``v``) as pseudo-subjects moved to today (step 3)."""
        con, t = self.con, self.t
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE moved_records AS
            SELECT p.pk AS ka, r.source, r.record_id, r.category, r.occ + ({t} - p.t) AS occ,
                   r.res + ({t} - p.t) AS res, r.amount
            FROM pairs p JOIN rule_rows r ON r.vno = p.vno AND r.ka = p.ka AND r.occ <= p.t AND p.t < r.reach
            LEFT JOIN periods q ON q.source = r.source AND q.record_id = r.record_id
                               AND q.start <= p.t AND (q.stop IS NULL OR p.t < q.stop)
            WHERE {chosen} AND q.source IS NULL"""
        )
        _view(con, "store_subjects", f"SELECT p.pk AS ka, p.kb FROM pairs p WHERE {chosen}")
        _view(con, "store_records", "SELECT * FROM moved_records")
        score_tables(con, v.book, self.today, self._moved_consent(v, chosen))
        con.execute(
            f"""INSERT INTO walked
            SELECT p.ka, p.t, {lit(v.version)}, n.score, n.grade, n.dimensions, n.lists, n.measures
            FROM new_states n JOIN pairs p ON p.pk = n.subject_id"""
        )
        dims = ", ".join(f"x.dim_{i}" for i in range(len(v.book.dimensions)))
        con.execute(
            f"""INSERT INTO day_dims SELECT p.ka, p.t, [{dims}]
            FROM subject_scores x JOIN pairs p ON p.pk = x.ka WHERE {chosen}"""
        )

    def _moved_consent(self, v: _Version, chosen: str) -> dict[int, ConsentHistory]:
        """Each pair's consent history, moved forward with its records (only under a version that asks for it)."""
        if not v.book.score.requires_consent or not self.consent:
            return {}
        _register_ints(self.con, "consenting", ka=sorted(self.consent))
        rows = self.con.execute(
            f"SELECT p.pk, p.ka, p.t FROM pairs p WHERE {chosen} AND p.ka IN (SELECT ka FROM consenting)"
        ).fetchall()
        self.con.unregister("consenting")
        moved: dict[int, ConsentHistory] = {}
        for pk, ka, day in rows:
            shift = dt.timedelta(days=self.t - int(day))
            moved[int(pk)] = tuple((on + shift, given) for on, given in self.consent[int(ka)])
        return moved

    # -- events ----------------------------------------------------------------------------------

    def events(self, books: Versions, now: dt.datetime) -> list[dict[str, Any]]:
        """The outbox rows of every change walked through, dated the day scored; ``last_walked`` is left behind."""
        con = self.con
        con.execute(
            """CREATE OR REPLACE TEMP TABLE steps AS
            SELECT d.ka, d.since AS t, o.rulebook_version AS version, o.score, NULLIF(o.grade, '') AS grade,
                   o.dimensions, o.lists, o.measures
            FROM due d JOIN original o ON o.subject_id = d.ka
            UNION ALL SELECT * FROM walked"""
        )
        rows = con.execute(
            """SELECT ka, t, version, score, grade, dimensions, lists, measures,
                      p_version, p_score, p_grade, p_dimensions, p_lists, p_measures
            FROM (SELECT *, lag(version) OVER w AS p_version, lag(score) OVER w AS p_score,
                         lag(grade) OVER w AS p_grade, lag(dimensions) OVER w AS p_dimensions,
                         lag(lists) OVER w AS p_lists, lag(measures) OVER w AS p_measures,
                         row_number() OVER w AS step
                  FROM steps WINDOW w AS (PARTITION BY ka ORDER BY t))
            WHERE step > 1 AND ((score IS NULL) <> (p_score IS NULL) OR grade IS DISTINCT FROM p_grade
                                OR json(lists) <> json(p_lists) OR json(measures) <> json(p_measures))
            ORDER BY ka, t"""
        ).fetchall()
        in_force = {v.version: v.book for v in self.versions}
        found: list[dict[str, Any]] = []
        for row in rows:
            day = EPOCH + dt.timedelta(days=int(row[1]))
            after, before = state_of(row[3:8], row[2], day), state_of(row[9:14], row[8], day - _DAY)
            previous = books.previous(row[8]) if row[8] != row[2] else None
            for event in events_between(in_force[row[2]], before, after, previous_book=previous):
                found.append(
                    {
                        "subject_id": int(row[0]),
                        "event_type": event.type,
                        "detail": dict(event.detail),
                        "as_of": day,
                        "created_at": now,
                    }
                )
        con.execute(
            """CREATE OR REPLACE TEMP TABLE last_walked AS
            SELECT ka AS subject_id, version AS rulebook_version, score, grade, dimensions, lists, measures,
                   NULL::VARCHAR AS as_of, NULL::VARCHAR AS next_change
            FROM (SELECT *, row_number() OVER (PARTITION BY ka ORDER BY t DESC) AS k FROM steps) WHERE k = 1"""
        )
        return found


def _timeline(connection: Connection, first: dt.date, last: dt.date) -> list[_Version]:
    """The versions in force from ``first`` to ``last`` (none if the walk has no day), as day-number ranges."""
    if first > last:
        return []
    found = versions_in_force(connection, first, last)
    starts = [day_number(day) for day, _, _ in found]
    ends = [s - 1 for s in starts[1:]] + [day_number(last)]
    return [
        _Version(no, version, book, start, end)
        for no, ((_, version, book), start, end) in enumerate(zip(found, starts, ends, strict=True))
    ]


def catch_up_many(
    connection: Connection, stale: Sequence[tuple[int, dt.date]], today: dt.date, now: dt.datetime
) -> tuple[int, int]:
    """Bring subjects whose states were stored on earlier days (each with its own) up to ``today``; (changed, events).

    The same states and events as the walk in Python, from any number of
    missed days, disputes and consent changes among them included (the
    module's docstring says how). Runs in the caller's transaction.
    """
    ids = [sid for sid, _ in stale]
    con = connect()
    try:
        load_tables(connection, con, ids)
        load_suppressions(connection, con, ids)
        con.execute("CREATE TEMP TABLE subjects_now AS SELECT * FROM store_subjects")
        con.execute("CREATE TEMP TABLE records_now AS SELECT * FROM store_records")
        con.execute(
            "CREATE TEMP TABLE walk_records AS SELECT * FROM store_records UNION ALL SELECT * FROM held_records"
        )
        con.execute("CREATE TEMP TABLE original AS SELECT * FROM stored")
        consent = consent_of(connection, ids)
        first = min(since for _, since in stale) + _DAY
        walk = _Walk(con, _timeline(connection, first, today - _DAY), consent, today)
        walk.prepare(stale)
        walk.walk()
        events = walk.events(Versions(connection), now)
        version, book = rulebook_at(connection, today)
        _view(con, "store_subjects", "SELECT * FROM subjects_now")
        _view(con, "store_records", "SELECT * FROM records_now")
        _view(con, "stored", "SELECT * FROM last_walked")
        score_tables(con, book, today, consent)
        events += changes(connection, con, book, version=version, as_of=today, now=now)[1]
        _view(con, "stored", "SELECT * FROM original")
        changed = sum(1 for _ in changed_states(con, version, today))
        write_events(connection, events, bulk=True)
        write_states(connection, con, version, today, now)
    finally:
        con.close()
    return changed, len(events)
