"""Real-time scoring in the store: rescore subjects into ``current_scores`` and write ``outbox`` events.

Every function takes the caller's :class:`~sqlalchemy.Connection` and runs in
its transaction, so records, the scores made from them and the events about
them commit together (ingestion calls :func:`rescore_subjects` with the
subjects a chunk of rows touched).

The stored state is never stale (docs/store.md, "Real-time scoring and
staleness"): it is stored with ``next_change``, the first day time alone can
change it (:func:`credo.domain.changes.next_change`); :func:`refresh_due`
brings up to date every subject whose ``next_change`` has come or whose
rulebook version is no longer the one in force, and :func:`current_state`
checks exactness on every read and rescores when it does not hold.

The scorer never sees an identifier: a subject's surrogate id, as text, is
its ``subject_id`` for the domain functions.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.changes import (
    Event,
    ScoreState,
    changes_until,
    events_between,
    next_change,
    next_possible_change,
    score_state,
)
from credo.domain.consent import ConsentHistory
from credo.domain.records import Record, RecordKey
from credo.domain.rulebook import Rulebook
from credo.domain.suppression import Suppression, suppressed_on, suppression_days
from credo.store.bootstrap import utc_now
from credo.store.bulk_io import dialect_insert
from credo.store.bulk_scoring import FreshSubjects, rescore_many
from credo.store.catchup import catch_up_many
from credo.store.chunks import chunks
from credo.store.consent import consent_histories
from credo.store.errors import StoreError
from credo.store.list_members import write_events
from credo.store.rulebooks import NoActiveRulebookError, Versions, rulebook_at
from credo.store.scoring_policy import DEFAULT_POLICY, ScoringPolicy
from credo.store.states import decode_state
from credo.store.suppression import suppression_periods
from credo.store.tables import (
    current_scores,
    disputes,
    records,
    rulebook_activations,
    subjects,
)

__all__ = [
    "RescoreOutcome",
    "current_state",
    "is_exact",
    "load_subject_records",
    "refresh_due",
    "rescore_subjects",
    "states_by_subject",
    "stored_state",
    "suppressed_records",
    "version_at",
]

# Subjects per statement: IN lists stay well below SQLite's and PostgreSQL's bound parameter limits.
REFRESH_CHUNK = 50_000  # subjects per bulk rescoring in a refresh
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class RescoreOutcome:
    """What a rescoring did: subjects rescored, subjects whose stored state changed, outbox events written."""

    subjects: int = 0
    changed: int = 0
    events: int = 0

    def __add__(self, other: RescoreOutcome) -> RescoreOutcome:
        return RescoreOutcome(self.subjects + other.subjects, self.changed + other.changed, self.events + other.events)


def _in_force(connection: Connection, today: dt.date) -> tuple[str, Rulebook]:
    """The rulebook in force today, for scoring."""
    try:
        return rulebook_at(connection, today)
    except NoActiveRulebookError as exc:
        raise NoActiveRulebookError(f"cannot score: {exc}") from None


def version_at(connection: Connection, day: dt.date) -> str | None:
    """The rulebook version in force on ``day`` (as :func:`rulebook_at`), without parsing it; None before any."""
    return connection.execute(
        sa.select(rulebook_activations.c.version)
        .where(rulebook_activations.c.active_from <= day)
        .order_by(rulebook_activations.c.active_from.desc(), rulebook_activations.c.id.desc())
        .limit(1)
    ).scalar()


# -- loading ------------------------------------------------------------------------------------


# The reads of every rescoring, built once (building a statement costs SQLAlchemy more than SQLite spends
# running it, and a push over the API rescores in the request's time); ``ids`` expands to the chunk's ids.
_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_KINDS = sa.select(subjects.c.id, subjects.c.kind).where(subjects.c.id.in_(_IDS))
_LATEST_RECORDS = (
    sa.select(
        records.c.subject_id,
        records.c.source_id,
        records.c.record_id,
        records.c.category,
        records.c.occurred_on,
        records.c.amount,
        records.c.resolved_on,
        records.c.status,
        records.c.reference,
    )
    .where(records.c.is_latest, records.c.subject_id.in_(_IDS))
    .order_by(records.c.subject_id, records.c.id)
)
_SUPPRESSED = (
    sa.select(records.c.subject_id, records.c.source_id, records.c.record_id)
    .select_from(
        records.join(
            disputes,
            (disputes.c.source_id == records.c.source_id)
            & (disputes.c.record_id == records.c.record_id)
            & (disputes.c.subject_id == records.c.subject_id),  # never on a record's new holder
        )
    )
    .where(
        records.c.is_latest,
        records.c.subject_id.in_(_IDS),
        ((disputes.c.state == "open") & disputes.c.suspends) | disputes.c.outcome.in_(("removed", "granted")),
    )
)
_STORED = sa.select(current_scores).where(current_scores.c.subject_id.in_(_IDS))


def load_subject_records(connection: Connection, subject_ids: Sequence[int]) -> dict[int, tuple[str, list[Record]]]:
    """Each subject's kind and the latest version of each of its records, as domain records.

    One query for the kinds and one for the records per :data:`~credo.store.chunks.IN_LIST` subjects.
    A subject with no record left is present with an empty list.
    """
    found: dict[int, tuple[str, list[Record]]] = {}
    for chunk in chunks(subject_ids):
        for sid, kind in connection.execute(_KINDS, {"ids": list(chunk)}):
            found[sid] = (kind, [])
        rows = connection.execute(_LATEST_RECORDS, {"ids": list(chunk)})
        for sid, source, record_id, category, occurred_on, amount, resolved_on, status, reference in rows:
            kind, mine = found[sid]
            mine.append(
                Record(source, record_id, str(sid), kind, category, occurred_on, amount, resolved_on, status, reference)
            )
    return found


def suppressed_records(connection: Connection, subject_ids: Sequence[int]) -> dict[int, frozenset[RecordKey]]:
    """The records due process takes out of each subject's score (:mod:`credo.store.disputes`).

    A record under an open dispute that suspends it (the rulebook's
    ``disputes.while_open: suspend`` when it was opened), or removed by a
    decided dispute, takes no part, while the subject who disputed it holds
    it (a record its source moved to another subject is that subject's to
    dispute: :mod:`credo.store.moves`). One query
    per :data:`~credo.store.chunks.IN_LIST` subjects; every scoring path passes the keys to the
    domain functions (the bulk paths read records without them,
    :func:`credo.store.bulk_scoring.load_tables`).
    """
    found: dict[int, set[RecordKey]] = {}
    for chunk in chunks(list(subject_ids)):
        for sid, source, record_id in connection.execute(_SUPPRESSED, {"ids": list(chunk)}):
            found.setdefault(int(sid), set()).add((source, record_id))
    return {sid: frozenset(keys) for sid, keys in found.items()}


def _state_of_row(row: Any) -> ScoreState:
    return decode_state(row.score, row.grade, row.dimensions, row.lists, row.measures, row.rulebook_version, row.as_of)


def _stored_rows(connection: Connection, subject_ids: Sequence[int]) -> dict[int, Any]:
    rows: dict[int, Any] = {}
    for chunk in chunks(subject_ids):
        for row in connection.execute(_STORED, {"ids": list(chunk)}):
            rows[row.subject_id] = row
    return rows


def stored_state(connection: Connection, subject_id: int) -> tuple[ScoreState, dt.date | None] | None:
    """The stored state of a subject and its ``next_change``, or None if it was never scored."""
    row = connection.execute(sa.select(current_scores).where(current_scores.c.subject_id == subject_id)).first()
    return None if row is None else (_state_of_row(row), row.next_change)


# -- rescoring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Switch:
    """From ``day`` on, another rulebook version is in force."""

    day: dt.date
    version: str


def _switches(connection: Connection, version: str, since: dt.date, until: dt.date) -> list[_Switch]:
    """The days in (since, until] on which the version in force changes, starting from ``version``.

    ``since + 1`` is looked at too: a version activated afterwards with an
    earlier ``active_from`` takes over from the first day after the stored state.
    """
    days = set(
        connection.execute(
            sa.select(rulebook_activations.c.active_from).where(
                rulebook_activations.c.active_from > since, rulebook_activations.c.active_from <= until
            )
        ).scalars()
    )
    if since < until:
        days.add(since + dt.timedelta(days=1))
    switches = []
    current = version
    for day in sorted(days):
        in_force = version_at(connection, day)
        if in_force is not None and in_force != current:
            switches.append(_Switch(day, in_force))
            current = in_force
    return switches


def _version_on(stored_version: str, switches: list[_Switch], day: dt.date) -> str:
    """The version in force on ``day`` of a walk that started under ``stored_version``."""
    version = stored_version
    for switch in switches:
        if switch.day > day:
            break
        version = switch.version
    return version


def _walk(  # noqa: PLR0917 (one subject's walk needs all of it)
    books: Versions,
    switches: list[_Switch],
    stored: ScoreState,
    sid: str,
    kind: str,
    mine: list[Record],
    periods: Sequence[Suppression],
    today: dt.date,
    consent: ConsentHistory,
) -> tuple[ScoreState, list[Event]]:
    """The events from ``stored`` up to the day before ``today``, each dated the day it happened (docs/changes.md).

    The walk is cut on the day after the stored one, on each day another
    version comes into force and on each day a dispute's period starts or
    ends (``periods``, :mod:`credo.domain.suppression`): there the state is
    scored under that day's version and suppression, and between two cuts
    :func:`changes_until` finds the days it changes with time alone.
    """
    events: list[Event] = []
    prev, prev_version = stored, stored.rulebook_version
    first = stored.as_of + _DAY
    cuts = sorted(
        d for d in {first, *(s.day for s in switches), *suppression_days(periods, stored.as_of, today)} if d < today
    )
    for position, day in enumerate(cuts):
        version = _version_on(stored.rulebook_version, switches, day)
        book, hidden = books.get(version), suppressed_on(periods, day)
        state = score_state(book, sid, kind, mine, day, suppressed=hidden, consent=consent)
        previous = books.get(prev_version) if prev_version != version else None
        events += events_between(book, prev, state, previous_book=previous)
        prev, prev_version = state, version
        end = (cuts[position + 1] if position + 1 < len(cuts) else today) - _DAY
        for state in changes_until(book, mine, sid, kind, day, until=end, suppressed=hidden, consent=consent):
            events += events_between(book, prev, state)
            prev = state
    return prev, events


@functools.cache
def _upsert_statement(dialect: str) -> Any:
    """The upsert of ``current_scores`` rows, built once per dialect (building it costs more than a row)."""
    statement = dialect_insert(dialect, current_scores)
    updated = {c.name: statement.excluded[c.name] for c in current_scores.columns if c.name != "subject_id"}
    return statement.on_conflict_do_update(index_elements=["subject_id"], set_=updated)


def _upsert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        connection.execute(_upsert_statement(connection.dialect.name), rows)


def _rescore(
    connection: Connection,
    subject_ids: Iterable[int],
    today: dt.date,
    *,
    walk: bool,
    exact_next: bool = True,
    now: dt.datetime | None = None,
) -> RescoreOutcome:
    """Rescore subjects at ``today``; with ``walk``, date each event on the day it happened.

    Without ``exact_next``, ``next_change`` is the first day the state can
    change (:func:`credo.domain.changes.next_possible_change`), found without
    scoring other days.

    ``walk`` is for time alone (the records are those the stored state was
    computed from): the refresh walks from the stored ``as_of`` through each
    day the state changed, each dispute acting from its dates. After new
    records there is no such walk: the stored state is compared with today's,
    and the events are dated today.
    """
    ids = sorted(set(subject_ids))
    if not ids:
        return RescoreOutcome()
    version, book = _in_force(connection, today)
    books = Versions(connection, {version: book})
    loaded = load_subject_records(connection, ids)
    missing = [sid for sid in ids if sid not in loaded]
    if missing:
        raise StoreError(f"cannot score {len(missing)} subject(s) that are not in the store (surrogate ids)")
    suppressed = suppressed_records(connection, ids)
    periods = suppression_periods(connection, ids) if walk else {}
    consent = consent_histories(connection, ids)
    stored_rows = _stored_rows(connection, ids)
    now = now or utc_now()
    switch_cache: dict[tuple[str, dt.date], list[_Switch]] = {}

    scores: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    changed = 0
    for sid in ids:
        kind, mine = loaded[sid]
        key, hidden, agreed = str(sid), suppressed.get(sid, frozenset()), consent.get(sid, ())
        row = stored_rows.get(sid)
        before = None if row is None else _state_of_row(row)
        after = score_state(book, key, kind, mine, today, suppressed=hidden, consent=agreed)
        found: list[Event] = []
        if before is not None and walk and before.as_of < today:
            cache_key = (before.rulebook_version, before.as_of)
            if cache_key not in switch_cache:
                switch_cache[cache_key] = _switches(connection, before.rulebook_version, before.as_of, today)
            switches, held = switch_cache[cache_key], periods.get(sid, ())
            before, found = _walk(books, switches, before, key, kind, mine, held, today, agreed)
        previous_book = None
        if before is not None and before.rulebook_version != version:
            previous_book = books.get(before.rulebook_version)
        found += events_between(book, before, after, previous_book=previous_book)
        if row is None or not _state_of_row(row).same_as(after):
            changed += 1
        events += [
            {
                "subject_id": sid,
                "event_type": e.type,
                "detail": dict(e.detail),
                "as_of": dt.date.fromisoformat(e.detail["as_of"]),
                "created_at": now,
            }
            for e in found
        ]
        scores.append(
            {
                "subject_id": sid,
                "as_of": today,
                "rulebook_version": version,
                "score": after.score,
                "grade": after.grade,
                "dimensions": dict(after.dimensions),
                "lists": list(after.lists),
                "measures": list(after.measures),
                "computed_at": now,
                "next_change": (next_change if exact_next else next_possible_change)(
                    book, mine, key, kind, today, suppressed=hidden, consent=agreed
                ),
            }
        )
    _upsert(connection, scores)
    write_events(connection, events)
    return RescoreOutcome(len(ids), changed, len(events))


def _rescore_in_bulk(
    connection: Connection,
    ids: Sequence[int],
    today: dt.date,
    fresh: FreshSubjects | None,
    now: dt.datetime,
    *,
    policy: ScoringPolicy,
) -> RescoreOutcome:
    """:func:`rescore_subjects` for many subjects: the store plan on the policy's engine (docs/store.md)."""
    version, book = _in_force(connection, today)
    changed, events = rescore_many(
        connection, ids, book, version=version, today=today, now=now, fresh=fresh, engine=policy.engine
    )
    return RescoreOutcome(len(ids), changed, events)


def rescore_subjects(
    conn: sa.Connection,
    subject_ids: Iterable[int],
    today: dt.date,
    *,
    fresh: FreshSubjects | None = None,
    exact_next_change: bool = True,
    now: dt.datetime | None = None,
    policy: ScoringPolicy | None = None,
) -> RescoreOutcome:
    """Rescore these subjects (surrogate ids) at ``today``, inside the caller's transaction.

    Loads the latest version of every record of the subjects (one query per
    :data:`~credo.store.chunks.IN_LIST` subjects), scores each under the rulebook in force today
    (:class:`~credo.store.rulebooks.NoActiveRulebookError` if none), upserts its
    ``current_scores`` row with ``next_change``, and writes to the outbox the
    events between the stored state and the new one (dated today). A subject
    with no record left gets the base score. Call it after the records of the
    subjects changed, with every subject a change touched (a record re-sent
    naming another subject touches both).

    From ``policy.bulk_from`` subjects on (an ingestion chunk; ``policy``: :data:`DEFAULT_POLICY`
    when None), the subjects are scored in bulk by the store plan on the policy's engine: the same states
    and events, and a ``next_change`` that may be earlier than the exact one
    (never later), which only makes a refresh find nothing to do. ``fresh``
    (from ingestion) are subjects created in this transaction with all their
    records: the bulk path takes them as given instead of reading them back.
    ``exact_next_change=False`` stores, below that, the first day the state
    can change instead of the day it does (also never later; the API's pushes
    use it, to answer in milliseconds). ``now`` stamps the outbox's events (the caller's clock; the system's
    by default).
    """
    ids = sorted(set(subject_ids))
    policy = policy or DEFAULT_POLICY
    if policy.in_bulk(len(ids)):
        return _rescore_in_bulk(conn, ids, today, fresh, now or utc_now(), policy=policy)
    return _rescore(conn, ids, today, walk=False, exact_next=exact_next_change, now=now)


def _due(connection: Connection, today: dt.date) -> list[tuple[int, dt.date | None]]:
    """The subjects whose stored state is stale today, with the day it was stored for (None: never scored)."""
    version = version_at(connection, today)
    if version is None:
        return []
    query = (
        sa.select(subjects.c.id, current_scores.c.as_of)
        .select_from(subjects.outerjoin(current_scores, current_scores.c.subject_id == subjects.c.id))
        .where(
            sa.or_(
                current_scores.c.subject_id.is_(None),
                current_scores.c.next_change <= today,
                current_scores.c.rulebook_version != version,
                current_scores.c.as_of > today,
            )
        )
    )
    due = {int(sid): as_of for sid, as_of in connection.execute(query)}
    due.update(_disputed_since_stored(connection, today))
    return sorted(due.items())


def _disputed_since_stored(connection: Connection, today: dt.date) -> list[tuple[int, dt.date]]:
    """Subjects a dispute on one of their records was opened or decided for on or after their stored day.

    The store rescores a subject when a dispute is opened or decided, but a
    dispute decided by its deadline (:func:`credo.store.disputes.lapse_overdue`)
    is decided by the refresh itself, and its subject must then walk the days
    since its stored state with the dispute as it stood on each of them.
    """
    changed_on = sa.or_(
        disputes.c.opened_on.between(current_scores.c.as_of, today),
        disputes.c.decided_on.between(current_scores.c.as_of, today),
    )
    query = (
        sa.select(current_scores.c.subject_id, current_scores.c.as_of)
        .select_from(
            disputes.join(
                records,
                (records.c.source_id == disputes.c.source_id)
                & (records.c.record_id == disputes.c.record_id)
                & (records.c.subject_id == disputes.c.subject_id)  # never on a record's new holder
                & records.c.is_latest,
            ).join(current_scores, current_scores.c.subject_id == records.c.subject_id)
        )
        .where(changed_on)
        .distinct()
    )
    return [(int(sid), as_of) for sid, as_of in connection.execute(query)]


def refresh_due(
    conn: sa.Connection, today: dt.date, now: dt.datetime | None = None, policy: ScoringPolicy | None = None
) -> RescoreOutcome:
    """Bring every stale stored state up to date at ``today`` (the daily ``credo refresh``).

    Stale: ``next_change <= today`` (time alone changed it), computed under a
    version other than the one in force today, never scored, computed for a
    later day, or a dispute on one of its records opened or decided since it
    was stored. Events are dated the day each change happened (a list
    entered and left while no refresh ran is reported both ways), with the
    rulebook version in force and the disputes as they stood on that day.
    Nothing is due on a day before every activation.

    A state stored for yesterday (the refresh ran yesterday), for today or
    later, or never stored has no day in between to walk: its events are
    those between the stored state and today's, dated today. The others walk
    the missed days, however many. From ``policy.bulk_from`` subjects of either
    kind on (``policy``: :data:`DEFAULT_POLICY` when None), they are done in bulk
    (:func:`rescore_subjects`' bulk path, and :func:`credo.store.catchup.catch_up_many` for the walk: the same
    states and events); fewer go through the Python path. ``now`` stamps the outbox's events.
    """
    now = now or utc_now()
    yesterday = today - _DAY
    due = _due(conn, today)
    at_once = [sid for sid, as_of in due if as_of is None or as_of >= yesterday]
    late = [(sid, as_of) for sid, as_of in due if as_of is not None and as_of < yesterday]
    outcome = RescoreOutcome()
    policy = policy or DEFAULT_POLICY
    if policy.in_bulk(len(at_once)):
        for chunk in chunks(at_once, REFRESH_CHUNK):
            outcome += _rescore_in_bulk(conn, chunk, today, None, now, policy=policy)
        at_once = []
    if policy.in_bulk(len(late)):
        for part in chunks(late, REFRESH_CHUNK):
            changed, events = catch_up_many(conn, part, today, now)
            outcome += RescoreOutcome(len(part), changed, events)
        late = []
    for chunk in chunks(sorted([*at_once, *(sid for sid, _ in late)])):
        outcome += _rescore(conn, chunk, today, walk=True, now=now)
    return outcome


def is_exact(state: ScoreState, next_day: dt.date | None, version: str | None, today: dt.date) -> bool:
    """Whether a stored state is the subject's state at ``today`` without recomputing it."""
    return (
        state.as_of <= today
        and (next_day is None or today < next_day)
        and version is not None
        and state.rulebook_version == version
    )


def current_state(conn: sa.Connection, subject_id: int, today: dt.date) -> ScoreState:
    """The subject's state at ``today``: the stored one if it is exact, else rescored (and stored) first.

    A read that finds the state exact writes nothing; run it in a short
    transaction of its own, since a stale state is rescored in it.
    """
    found = stored_state(conn, subject_id)
    if found is not None and is_exact(found[0], found[1], version_at(conn, today), today):
        return found[0]
    _rescore(conn, [subject_id], today, walk=True)
    again = stored_state(conn, subject_id)
    assert again is not None
    return again[0]


def states_by_subject(connection: Connection, subject_ids: Sequence[int]) -> Mapping[int, ScoreState]:
    """The stored states of these subjects (those never scored are absent)."""
    return {sid: _state_of_row(row) for sid, row in _stored_rows(connection, subject_ids).items()}
