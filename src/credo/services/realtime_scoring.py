"""Real-time scoring: rescore subjects into ``current_scores`` and write ``outbox`` events.

Every function takes the caller's :class:`~sqlalchemy.Connection` and runs in
its transaction, so records, the scores made from them and the events about
them commit together (ingestion calls :func:`rescore_subjects` with the
subjects a chunk of rows touched).

The stored state is never stale (docs/store.md, "Real-time scoring and
staleness"): it is stored with ``next_change``, the first day time alone can
change it (:func:`credo.domain.next_change.next_change`); :func:`refresh_due`
brings up to date every subject whose ``next_change`` has come or whose
rulebook version is no longer the one in force, and :func:`current_state`
checks exactness on every read and rescores when it does not hold.

The scorer never sees an identifier: a subject's surrogate id, as text, is
its ``subject_id`` for the domain functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.changes import Event, ScoreState, events_between, score_state
from credo.domain.consent import ConsentHistory
from credo.domain.next_change import changes_until, next_change, next_possible_change
from credo.domain.records import Record
from credo.domain.rulebook import Rulebook
from credo.domain.suppression import Suppression, suppressed_on, suppression_days
from credo.services.bulk_scoring import rescore_many
from credo.services.catchup import catch_up_many
from credo.services.scoring_policy import DEFAULT_POLICY, ScoringPolicy
from credo.store.bootstrap import utc_now
from credo.store.bulk_reads import FreshSubjects
from credo.store.chunks import chunks
from credo.store.consent import consent_histories
from credo.store.errors import StoreError
from credo.store.list_members import write_events
from credo.store.rulebooks import NoActiveRulebookError, Switch, Versions, rulebook_at, version_at, version_switches
from credo.store.scoring_inputs import load_subject_records, suppressed_records
from credo.store.states import stale_subjects, state_of_row, stored_rows, stored_state, upsert_states
from credo.store.suppression import suppression_periods

__all__ = ["RescoreOutcome", "current_state", "is_exact", "refresh_due", "rescore_subjects"]

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


# -- rescoring ----------------------------------------------------------------------------------


def _version_on(stored_version: str, switches: list[Switch], day: dt.date) -> str:
    """The version in force on ``day`` of a walk that started under ``stored_version``."""
    version = stored_version
    for switch in switches:
        if switch.day > day:
            break
        version = switch.version
    return version


class _Walked(NamedTuple):
    """Where a walk over past days ends (the state the day before today) and the events on the way."""

    state: ScoreState
    events: list[Event]


@dataclass(frozen=True)
class _Subject:
    """One subject as the domain scores it: its key (the surrogate id as text), records, due process and consent."""

    key: str
    kind: str
    records: list[Record]
    periods: Sequence[Suppression]  # disputes' periods, for a walk over past days
    consent: ConsentHistory


def _walk(books: Versions, switches: list[Switch], stored: ScoreState, who: _Subject, today: dt.date) -> _Walked:
    """The events from ``stored`` up to the day before ``today``, each dated the day it happened (docs/changes.md).

    The walk is cut on the day after the stored one, on each day another
    version comes into force and on each day a dispute's period starts or
    ends (``periods``, :mod:`credo.domain.suppression`): there the state is
    scored under that day's version and suppression, and between two cuts
    :func:`changes_until` finds the days it changes with time alone.
    """
    sid, kind, mine, periods, consent = who.key, who.kind, who.records, who.periods, who.consent
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
    return _Walked(prev, events)


# Long: the per-subject loop of the API's hot path, kept in one piece (a third of it is the docstring).
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
    change (:func:`credo.domain.next_change.next_possible_change`), found without
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
    rows_before = stored_rows(connection, ids)
    now = now or utc_now()
    switch_cache: dict[tuple[str, dt.date], list[Switch]] = {}

    scores: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    changed = 0
    for sid in ids:
        kind, mine = loaded[sid]
        key, hidden, agreed = str(sid), suppressed.get(sid, frozenset()), consent.get(sid, ())
        row = rows_before.get(sid)
        before = None if row is None else state_of_row(row)
        after = score_state(book, key, kind, mine, today, suppressed=hidden, consent=agreed)
        found: list[Event] = []
        if before is not None and walk and before.as_of < today:
            cache_key = (before.rulebook_version, before.as_of)
            if cache_key not in switch_cache:
                switch_cache[cache_key] = version_switches(connection, before.rulebook_version, before.as_of, today)
            who = _Subject(key, kind, mine, periods.get(sid, ()), agreed)
            before, found = _walk(books, switch_cache[cache_key], before, who, today)
        previous_book = None
        if before is not None and before.rulebook_version != version:
            previous_book = books.get(before.rulebook_version)
        found += events_between(book, before, after, previous_book=previous_book)
        if row is None or not state_of_row(row).same_as(after):
            changed += 1
        events += [_event_row(sid, e, now) for e in found]
        following = (next_change if exact_next else next_possible_change)(
            book, mine, key, kind, today, suppressed=hidden, consent=agreed
        )
        scores.append(_state_row(sid, after, version=version, as_of=today, following=following, now=now))
    upsert_states(connection, scores)
    write_events(connection, events)
    return RescoreOutcome(len(ids), changed, len(events))


def _event_row(sid: int, event: Event, now: dt.datetime) -> dict[str, Any]:
    """An ``outbox`` row for an event about subject ``sid``, dated the day it happened."""
    detail = dict(event.detail)
    return {
        "subject_id": sid,
        "event_type": event.type,
        "detail": detail,
        "as_of": dt.date.fromisoformat(detail["as_of"]),
        "created_at": now,
    }


def _state_row(
    sid: int, state: ScoreState, *, version: str, as_of: dt.date, following: dt.date | None, now: dt.datetime
) -> dict[str, Any]:
    """A ``current_scores`` row: ``state`` scored under ``version`` at ``as_of``, and the first day it may change."""
    return {
        "subject_id": sid,
        "as_of": as_of,
        "rulebook_version": version,
        "score": state.score,
        "grade": state.grade,
        "dimensions": dict(state.dimensions),
        "lists": list(state.lists),
        "measures": list(state.measures),
        "computed_at": now,
        "next_change": following,
    }


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
    (:func:`rescore_subjects`' bulk path, and :func:`credo.services.catchup.catch_up_many` for the walk: the same
    states and events); fewer go through the Python path. ``now`` stamps the outbox's events.
    """
    now = now or utc_now()
    yesterday = today - _DAY
    due = stale_subjects(conn, today)
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
