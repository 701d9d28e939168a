"""Finding what is owed: each pass owes the messages that what happened since the last one calls for.

:func:`enqueue` finds what is new since its last pass (a cursor over the outbox and records ids, and the
disputes' days, kept in ``store_meta``) and writes each message owed once as a ``pending`` row of
``deliveries`` (:mod:`credo.store.delivery` says which messages there are). The rules (look-back windows,
the webhooks' bodies) are :mod:`credo.domain.outbound`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.outbound import ASKED_WITHIN, LOOKBACK, decision_changed, dispute_decided, dispute_opened
from credo.domain.rulebook import Rulebook
from credo.store.bulk_io import dialect_insert
from credo.store.chunks import chunks
from credo.store.clock import as_utc
from credo.store.keys import KeyRing
from credo.store.notices import notices_of
from credo.store.tables import (
    decisions,
    deliveries,
    disputes,
    outbox,
    records,
    relying_parties,
    store_meta,
    subject_contacts,
    webhooks,
)

__all__ = ["Enqueued", "PassWindow", "committed_marks", "enqueue"]

CURSOR = "delivery_cursor"
_MEASURE_EVENTS = ("measure_applied", "measure_lifted")


def _save_cursor(connection: Connection, cursor: Mapping[str, Any]) -> None:
    text = json.dumps(cursor, sort_keys=True)
    if connection.execute(sa.update(store_meta).where(store_meta.c.name == CURSOR).values(value=text)).rowcount == 0:
        connection.execute(sa.insert(store_meta).values(name=CURSOR, value=text))


@dataclass(frozen=True)
class _Owed:
    """One message a pass found owed, sealed, not yet written."""

    channel: str
    party: tuple[str, str]
    key: str
    event_type: str
    sealed: bytes
    subject_id: int


@dataclass
class _Ledger:
    """What one pass finds owed: gathered while reading, written at the end in a short write transaction.

    Gathering writes nothing, so on SQLite the pass takes the write lock (and makes pushes wait) only for the
    inserts of what is new; messages owed or sent already are told apart with one read per party, before any
    is sealed, since a pass looks again at every dispute and new address of the last :data:`LOOKBACK`.
    """

    connection: Connection
    ring: KeyRing
    now: dt.datetime
    found: dict[tuple[str, str, str], list[tuple[str, Mapping[str, Any], int]]] = field(default_factory=dict)

    def owe(
        self, channel: str, party: tuple[str, str], key: str, message: Mapping[str, Any], *, subject_id: int
    ) -> None:
        """Owe one message about a subject, unless it is already owed or sent (told at :meth:`fresh`).

        The subject's surrogate id is kept beside the message (encrypted with it), not sent: the audit entry of
        the delivery names it, so the subject sees who was told what.
        """
        self.found.setdefault((channel, *party), []).append((key, message, subject_id))

    def fresh(self) -> list[_Owed]:
        """What is owed and not yet in the ledger, each message once, sealed (reads only)."""
        fresh = []
        for (channel, party_kind, party_id), items in self.found.items():
            keys = sorted({key for key, _, _ in items})
            known: set[str] = set()
            for part in chunks(keys):
                known.update(
                    self.connection.execute(
                        sa.select(deliveries.c.event_key).where(
                            deliveries.c.channel == channel,
                            deliveries.c.party_kind == party_kind,
                            deliveries.c.party_id == party_id,
                            deliveries.c.event_key.in_(part),
                            deliveries.c.state != "cancelled",  # as the unique index: a cancelled one is owed again
                        )
                    ).scalars()
                )
            for key, message, subject_id in items:
                if key in known:
                    continue
                known.add(key)
                event_type = message["notice"]["kind"] if channel == "email" else message["type"]
                sealed = self.ring.encrypt(json.dumps({"subject_id": subject_id, "message": message}).encode())
                fresh.append(_Owed(channel, (party_kind, party_id), key, event_type, sealed, subject_id))
        return fresh

    def write(self, owed: Sequence[_Owed]) -> Enqueued:
        """Insert what :meth:`fresh` found; a pass running beside this one may have owed some already."""
        added = {"email": 0, "relying": 0, "source": 0}
        for o in owed:
            row = self.connection.execute(
                dialect_insert(self.connection.dialect.name, deliveries)
                .values(
                    channel=o.channel, party_kind=o.party[0], party_id=o.party[1], event_key=o.key,
                    event_type=o.event_type, payload_enc=o.sealed, state="pending", attempts=0,
                    next_attempt_at=self.now, created_at=self.now, subject_id=o.subject_id,
                )
                .on_conflict_do_nothing()  # owed or sent already (the unique channel, party and event)
                .returning(deliveries.c.id)  # a row back only if added (a rowcount is not reliable here on psycopg)
            ).first()  # fmt: skip
            if row is not None:
                added["email" if o.channel == "email" else o.party[0]] += 1
        return Enqueued(emails=added["email"], to_relying=added["relying"], to_sources=added["source"])


@dataclass(frozen=True)
class Enqueued:
    emails: int = 0
    to_relying: int = 0
    to_sources: int = 0

    @property
    def total(self) -> int:
        return self.emails + self.to_relying + self.to_sources


def committed_marks(connection: Connection) -> tuple[int, int] | None:
    """The highest outbox and records ids below which no row can still appear; None if that cannot be told now.

    On PostgreSQL ids are taken at insert, not at commit: a long ingest can commit ids below a push's that
    committed earlier. A SHARE lock on both tables waits for every open insert to end (and stops new ones
    while it is held), so the maxima it reads are final. Take it in a transaction of its own and commit at once;
    it gives up after 200 ms (a long ingest under way) and the pass then owes nothing new from them. SQLite
    has one writer at a time: what a reader sees is final.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
        try:
            connection.exec_driver_sql("LOCK TABLE outbox, records IN SHARE MODE")
        except sa.exc.OperationalError:
            return None
    top_event = connection.execute(sa.select(sa.func.coalesce(sa.func.max(outbox.c.id), 0))).scalar_one()
    top_record = connection.execute(sa.select(sa.func.coalesce(sa.func.max(records.c.id), 0))).scalar_one()
    return int(top_event), int(top_record)


def _read_cursor(connection: Connection) -> dict[str, Any]:
    """Where the last pass stopped looking at new outbox events and records (nothing yet: 0 and 0)."""
    text = connection.execute(sa.select(store_meta.c.value).where(store_meta.c.name == CURSOR)).scalar()
    return {"outbox": 0, "records": 0} if text is None else dict(json.loads(text))


def _lock_cursor(connection: Connection) -> dict[str, Any]:
    """The cursor, write-locked for the rest of this transaction: passes write what they owe one at a time."""
    first = json.dumps({"outbox": 0, "records": 0})
    insert = dialect_insert(connection.dialect.name, store_meta).values(name=CURSOR, value=first)
    connection.execute(insert.on_conflict_do_nothing())  # two first passes at once: one row
    connection.execute(sa.update(store_meta).where(store_meta.c.name == CURSOR).values(value=store_meta.c.value))
    text = connection.execute(sa.select(store_meta.c.value).where(store_meta.c.name == CURSOR)).scalar_one()
    return dict(json.loads(text))


@dataclass(frozen=True)
class PassWindow:
    """The bounds of one pass: new outbox events and records up to ``marks``, look-backs from ``today`` and ``now``.

    ``marks`` come from :func:`committed_marks` (None: do not look at new outbox events and records this time);
    ``now`` also stamps the rows the pass writes.
    """

    today: dt.date
    now: dt.datetime
    marks: tuple[int, int] | None


@dataclass(frozen=True)
class _Changes:
    """What happened since the last pass: new outbox events and records (id ranges), and recent disputes."""

    events: tuple[int, int]
    records: tuple[int, int]
    disputes: Sequence[Any]


def enqueue(connection: Connection, ring: KeyRing, book: Callable[[], Rulebook | None], window: PassWindow) -> Enqueued:
    """Owe every message that what happened since the last pass calls for; moves the cursor on to the marks.

    Disputes are looked at by day, over the last :data:`LOOKBACK` (they are few, and a decision changes a row
    rather than adding one); what is already owed is not owed again. ``book`` gives the rulebook in force, needed
    only to word emails (None: there is none, and emails wait).
    """
    today, now, marks = window.today, window.now, window.marks
    cursor = _read_cursor(connection)  # not locked: gathering writes nothing (see _Ledger)
    top_event, top_record = (cursor["outbox"], cursor["records"]) if marks is None else marks
    top_event, top_record = max(top_event, cursor["outbox"]), max(top_record, cursor["records"])
    since_day = today - LOOKBACK
    changed_disputes = connection.execute(
        sa.select(disputes).where(sa.or_(disputes.c.opened_on >= since_day, disputes.c.decided_on >= since_day))
    ).all()
    changes = _Changes((cursor["outbox"], top_event), (cursor["records"], top_record), changed_disputes)
    ledger = _Ledger(connection, ring, now)
    _owe_emails(ledger, book, today, changes)
    _owe_relying(ledger, changes.events)
    _owe_sources(ledger, changes.disputes)
    fresh = ledger.fresh()
    locked = _lock_cursor(connection)  # the write lock from here to the commit: only inserts follow
    counts = ledger.write(fresh)
    # A pass that ran meanwhile may have moved the cursor on: owing is idempotent, and the cursor only grows.
    _save_cursor(
        connection, {"outbox": max(top_event, locked["outbox"]), "records": max(top_record, locked["records"])}
    )
    return counts


def _owe_emails(ledger: _Ledger, book: Callable[[], Rulebook | None], today: dt.date, changes: _Changes) -> None:
    connection, ring = ledger.connection, ledger.ring
    events, new_records = changes.events, changes.records
    since_of = {
        int(sid): since
        for sid, since in connection.execute(sa.select(subject_contacts.c.subject_id, subject_contacts.c.since))
    }
    if not since_of:
        return
    touched = set(
        connection.execute(
            sa.select(outbox.c.subject_id).where(outbox.c.id > events[0], outbox.c.id <= events[1]).distinct()
        ).scalars()
    )
    touched |= set(
        connection.execute(
            sa.select(records.c.subject_id)
            .where(records.c.id > new_records[0], records.c.id <= new_records[1])
            .distinct()
        ).scalars()
    )
    touched |= {int(d.subject_id) for d in changes.disputes}
    # An address given lately: its notices since that day, whatever touched the subject before this pass.
    touched |= {sid for sid, since in since_of.items() if since.date() >= today - LOOKBACK}
    wanted = sorted(touched & since_of.keys())
    rulebook = book() if wanted else None
    if rulebook is None:
        return
    for sid in wanted:  # only these addresses are opened
        sealed = connection.execute(
            sa.select(subject_contacts.c.email_enc).where(subject_contacts.c.subject_id == sid)
        ).scalar_one()
        email, since_day = ring.decrypt(sealed).decode(), since_of[sid].date()
        for notice in reversed(notices_of(connection, rulebook, sid)):  # the oldest first, so they go in order
            if notice.on >= since_day:
                message = {"to": email, "notice": notice.to_json()}
                ledger.owe("email", ("subject", str(sid)), notice.notice_id, message, subject_id=sid)


def _hooks(connection: Connection, party_kind: str) -> dict[str, dt.datetime]:
    rows = connection.execute(
        sa.select(webhooks.c.party_id, webhooks.c.created_at).where(
            webhooks.c.party_kind == party_kind, webhooks.c.enabled
        )
    )
    return {r.party_id: r.created_at for r in rows}


def _owe_relying(ledger: _Ledger, events: tuple[int, int]) -> None:
    connection, now = ledger.connection, ledger.now
    hooks = _hooks(connection, "relying")
    if not hooks:
        return
    enabled = {
        r.id: set(r.measures)
        for r in connection.execute(
            sa.select(relying_parties.c.id, relying_parties.c.measures).where(relying_parties.c.enabled)
        )
    }
    changes = connection.execute(
        sa.select(outbox)
        .where(outbox.c.id > events[0], outbox.c.id <= events[1], outbox.c.event_type.in_(_MEASURE_EVENTS))
        .order_by(outbox.c.id)
    ).all()
    asked = _answers(connection, sorted({int(e.subject_id) for e in changes}), set(hooks), now - ASKED_WITHIN)
    for event in changes:
        measure = event.detail.get("measure")
        changed_at = as_utc(event.created_at)
        by_party: dict[str, list[str]] = {}
        for asked_at, relying_id, decision_id in asked.get((int(event.subject_id), measure), ()):
            if asked_at < changed_at:  # an answer given after the change already says it
                by_party.setdefault(relying_id, []).append(decision_id)
        for relying_id, decision_ids in by_party.items():
            if relying_id not in hooks or measure not in enabled.get(relying_id, set()):
                continue
            if as_utc(event.created_at) < as_utc(hooks[relying_id]):
                continue  # the webhook was set after the event
            payload = decision_changed(event.id, event.event_type, event.as_of, event.detail, decision_ids)
            party, key = ("relying", relying_id), f"event-{event.id}"
            ledger.owe("webhook", party, key, payload, subject_id=int(event.subject_id))


def _answers(
    connection: Connection, subject_ids: Sequence[int], parties: Collection[str], since: dt.datetime
) -> dict[tuple[int, str], list[tuple[dt.datetime, str, str]]]:
    """The answers parties with a webhook gave since ``since`` about these subjects, by subject and measure."""
    found: dict[tuple[int, str], list[tuple[dt.datetime, str, str]]] = {}
    for part in chunks(subject_ids):
        rows = connection.execute(
            sa.select(
                decisions.c.subject_id, decisions.c.measure_id, decisions.c.asked_at, decisions.c.relying_id,
                decisions.c.decision_id,
            )
            .where(
                decisions.c.subject_id.in_(part),
                decisions.c.relying_id.in_(parties),
                decisions.c.asked_at >= since,
            )
            .order_by(decisions.c.id)
        )  # fmt: skip
        for sid, measure, asked_at, relying_id, decision_id in rows:
            found.setdefault((int(sid), measure), []).append((as_utc(asked_at), relying_id, decision_id))
    return found


def _owe_sources(ledger: _Ledger, changed: Sequence[Any]) -> None:
    hooks = _hooks(ledger.connection, "source")
    for d in changed:
        created = hooks.get(d.source_id)
        if created is None:
            continue
        party, sid = ("source", d.source_id), int(d.subject_id)
        if as_utc(d.created_at) >= as_utc(created):
            opened = dispute_opened(d, ledger.ring.decrypt(d.statement_enc).decode())
            ledger.owe("webhook", party, f"dispute-{d.dispute_id}-opened", opened, subject_id=sid)
        if d.state != "open" and d.decided_on is not None:  # decided since the last pass (the caller's choice)
            ledger.owe("webhook", party, f"dispute-{d.dispute_id}-decided", dispute_decided(d), subject_id=sid)
