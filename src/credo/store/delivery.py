"""What Credo owes each party by email or webhook, kept in the store until delivered (docs/due-process.md).

Three kinds of message, each a row of ``deliveries`` made once (the unique
key is channel, party and event, so a pass can run any number of times):

* **email to a subject** who gave an address (``PUT /v1/me/contact``): each
  of its notices (:mod:`credo.store.notices`) from the day it gave it;
* **webhook to a relying party**, ``decision.changed``: a measure that party
  asked about for a subject within :data:`ASKED_WITHIN` now applies or no
  longer does (as the FCRA has recipients of a report told of a correction);
  it carries the decision ids the party holds, never the identifier;
* **webhook to a source**, ``dispute.opened`` / ``dispute.decided``: one of
  its records is disputed (with the subject's statement, to reinvestigate)
  or the dispute was decided.

:func:`enqueue` finds what is new since its last pass (a cursor over the
outbox and records ids, and the disputes' days, kept in ``store_meta``);
:func:`claim_due` leases due rows to one sender for :data:`LEASE`;
:func:`mark_delivered` / :func:`mark_failed` record the outcome, and a
failure waits as :func:`credo.domain.delivery.retry_after` says. Payloads
are encrypted at rest; ``last_error`` never holds a payload or an address.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.delivery import retry_after, url_problem
from credo.domain.outbound import (
    ASKED_WITHIN,
    LOOKBACK,
    decision_changed,
    dispute_decided,
    dispute_opened,
    email_problem,
)
from credo.domain.rulebook import Rulebook
from credo.store.audit import AuditEntry
from credo.store.bulk_io import dialect_insert
from credo.store.chunks import chunks
from credo.store.clock import as_utc
from credo.store.errors import ConflictError, NotFoundError, StoreError
from credo.store.keys import KeyRing
from credo.store.notices import notices_of
from credo.store.tables import (
    decisions,
    deliveries,
    disputes,
    outbox,
    records,
    relying_parties,
    sources,
    store_meta,
    subject_contacts,
    webhooks,
)

__all__ = [
    "ASKED_WITHIN",
    "LEASE",
    "STATES",
    "Due",
    "Enqueued",
    "claim_due",
    "committed_marks",
    "contact_of",
    "delivery_rows",
    "enqueue",
    "mark_delivered",
    "mark_failed",
    "pending_count",
    "remove_contact",
    "remove_webhook",
    "retry_delivery",
    "rotate_secret",
    "set_contact",
    "set_webhook",
    "webhook_rows",
]

LEASE = dt.timedelta(minutes=5)  # a claimed row is not claimed again meanwhile, unless its sender died
CURSOR = "delivery_cursor"
PARTY_KINDS = ("relying", "source")
STATES = ("pending", "delivered", "failed", "cancelled")  # cancelled: its webhook or address went before it was sent
# An address plain SMTP can carry: ASCII, an unquoted local part, a dotted domain (no IDN, no SMTPUTF8).
_MEASURE_EVENTS = ("measure_applied", "measure_lifted")


# -- addresses and endpoints -------------------------------------------------------------------


def set_contact(connection: Connection, ring: KeyRing, subject_ids: Iterable[int], email: str, today: dt.date) -> None:
    """Keep ``email`` (encrypted) as where the subject's notices go: those dated ``today`` or later.

    From the day, not the moment: notices are dated by day (an event by the day it took effect, a record by the
    day it arrived), and a subject who gives an address later on the day a record arrived still hears of it.
    """
    since = dt.datetime.combine(today, dt.time(0), dt.UTC)
    email = email.strip()
    if (problem := email_problem(email)) is not None:
        raise StoreError(problem)
    for sid in subject_ids:
        connection.execute(sa.delete(subject_contacts).where(subject_contacts.c.subject_id == sid))
        connection.execute(
            sa.insert(subject_contacts).values(subject_id=sid, email_enc=ring.encrypt(email.encode()), since=since)
        )
        _cancel_pending(connection, ring, "email", ("subject", str(sid)), "the subject gave another address")


def remove_contact(connection: Connection, ring: KeyRing, subject_ids: Iterable[int]) -> bool:
    """Forget the address; emails not yet sent are cancelled. False if there was none."""
    removed = False
    for sid in subject_ids:
        removed |= (
            connection.execute(sa.delete(subject_contacts).where(subject_contacts.c.subject_id == sid)).rowcount > 0
        )
        _cancel_pending(connection, ring, "email", ("subject", str(sid)), "the subject removed its address")
    return removed


def _cancel_pending(connection: Connection, ring: KeyRing, channel: str, party: tuple[str, str], why: str) -> None:
    """What was still owed to a party on a channel is not sent: kept as ``cancelled``, with why, content erased.

    The row stays in the ledger (operators and auditors see that a message was dropped and why); the message
    itself goes, as on delivery: the address it was for is no longer the subject's choice.
    """
    rows = connection.execute(
        sa.select(deliveries.c.id, deliveries.c.subject_id, deliveries.c.last_error).where(
            deliveries.c.channel == channel,
            deliveries.c.party_kind == party[0],
            deliveries.c.party_id == party[1],
            deliveries.c.state.in_(("pending", "failed")),
        )
    ).all()
    for row in rows:
        why_now = f"cancelled: {why}" + (f" (last error: {row.last_error})" if row.last_error else "")
        connection.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == row.id)
            .values(
                state="cancelled", next_attempt_at=None, last_error=why_now[:500],
                payload_enc=_erased(ring, row.subject_id),
            )
        )  # fmt: skip


def _erased(ring: KeyRing, subject_id: int | None) -> bytes:
    """A message's sealed payload once its content is gone: only whom it was about stays."""
    return ring.encrypt(json.dumps({"subject_id": subject_id, "message": None}).encode())


def contact_of(connection: Connection, ring: KeyRing, subject_id: int) -> tuple[str, dt.datetime] | None:
    row = connection.execute(
        sa.select(subject_contacts.c.email_enc, subject_contacts.c.since).where(
            subject_contacts.c.subject_id == subject_id
        )
    ).first()
    return None if row is None else (ring.decrypt(row.email_enc).decode(), row.since)


def set_webhook(
    connection: Connection,
    ring: KeyRing,
    party: tuple[str, str],
    url: str,
    now: dt.datetime,
    *,
    allowed_hosts: Collection[str] = (),
) -> str:
    """Point a relying party's or source's webhook (``party``: kind and id) at ``url``; returns its new secret.

    A second call replaces the URL and secret in place: the webhook keeps its creation time, so events since
    then are still owed to it.
    """
    party_kind, party_id = party
    if party_kind not in PARTY_KINDS:
        raise StoreError(f"party kind must be one of {', '.join(PARTY_KINDS)}, not {party_kind!r}")
    table = relying_parties if party_kind == "relying" else sources
    if connection.execute(sa.select(table.c.id).where(table.c.id == party_id)).first() is None:
        raise NotFoundError(f"no {'relying party' if party_kind == 'relying' else 'source'} {party_id!r} is registered")
    if len(url) > 2000:
        raise StoreError("url is longer than 2000 characters")
    problem = url_problem(url, allowed_hosts)
    if problem is not None:
        raise StoreError(problem)
    secret = _new_secret()
    values = {
        "url": url, "secret_enc": ring.encrypt(secret.encode()), "enabled": True, "previous_secret_enc": None,
        "previous_until": None,
    }  # fmt: skip
    where = (webhooks.c.party_kind == party_kind, webhooks.c.party_id == party_id)
    if connection.execute(sa.update(webhooks).where(*where).values(values)).rowcount == 0:
        connection.execute(
            sa.insert(webhooks).values(party_kind=party_kind, party_id=party_id, created_at=now, **values)
        )
    return secret


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def rotate_secret(
    connection: Connection, ring: KeyRing, party: tuple[str, str], now: dt.datetime, overlap: dt.timedelta
) -> str:
    """Give a party's webhook a new secret; the current one still signs beside it for ``overlap``. Returns the new.

    While the overlap lasts each message carries both signatures (``v1=`` new, ``v1=`` old), so a receiver can
    switch to the new secret at any moment in it; a second rotation meanwhile ends the first one's overlap.
    """
    where = (webhooks.c.party_kind == party[0], webhooks.c.party_id == party[1])
    row = connection.execute(sa.select(webhooks.c.secret_enc).where(*where)).first()
    if row is None:
        raise NotFoundError(f"no webhook is set for {party[0]} {party[1]!r}")
    secret = _new_secret()
    keep = overlap > dt.timedelta(0)
    connection.execute(
        sa.update(webhooks)
        .where(*where)
        .values(
            secret_enc=ring.encrypt(secret.encode()),
            previous_secret_enc=row.secret_enc if keep else None,
            previous_until=now + overlap if keep else None,
        )
    )
    return secret


def remove_webhook(connection: Connection, ring: KeyRing, party_kind: str, party_id: str) -> None:
    """Stop a party's webhook; what was still owed to it is cancelled (kept in the ledger, not sent)."""
    gone = connection.execute(
        sa.delete(webhooks).where(webhooks.c.party_kind == party_kind, webhooks.c.party_id == party_id)
    ).rowcount
    if not gone:
        raise NotFoundError(f"no webhook is set for {party_kind} {party_id!r}")
    _cancel_pending(connection, ring, "webhook", (party_kind, party_id), "the webhook was removed")


def webhook_rows(connection: Connection, now: dt.datetime) -> list[dict[str, Any]]:
    """Every webhook, without its secret; ``previous_secret_until``: while a replaced secret still signs."""
    rows = connection.execute(sa.select(webhooks).order_by(webhooks.c.party_kind, webhooks.c.party_id))
    return [
        {"party_kind": r.party_kind, "party_id": r.party_id, "url": r.url, "enabled": bool(r.enabled),
         "created_at": r.created_at, "previous_secret_until": _overlap_end(r, now)}
        for r in rows
    ]  # fmt: skip


def _overlap_end(row: Any, now: dt.datetime) -> dt.datetime | None:
    """When the webhook's replaced secret stops signing, if it still does at ``now``."""
    if row.previous_secret_enc is None or row.previous_until is None or as_utc(row.previous_until) <= now:
        return None
    return as_utc(row.previous_until)


# -- finding what is owed ----------------------------------------------------------------------


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


def enqueue(  # noqa: PLR0917 (what a pass needs)
    connection: Connection,
    ring: KeyRing,
    book: Callable[[], Rulebook | None],
    today: dt.date,
    now: dt.datetime,
    marks: tuple[int, int] | None,
) -> Enqueued:
    """Owe every message that what happened since the last pass calls for; moves the cursor on to ``marks``.

    ``marks`` come from :func:`committed_marks` (None: do not look at new outbox events and records this time).
    Disputes are looked at by day, over the last :data:`LOOKBACK` (they are few, and a decision changes a row
    rather than adding one); what is already owed is not owed again. ``book`` gives the rulebook in force, needed
    only to word emails (None: there is none, and emails wait).
    """
    cursor = _read_cursor(connection)  # not locked: gathering writes nothing (see _Ledger)
    top_event, top_record = (cursor["outbox"], cursor["records"]) if marks is None else marks
    top_event, top_record = max(top_event, cursor["outbox"]), max(top_record, cursor["records"])
    since_day = today - LOOKBACK
    changed_disputes = connection.execute(
        sa.select(disputes).where(sa.or_(disputes.c.opened_on >= since_day, disputes.c.decided_on >= since_day))
    ).all()
    new_events = (cursor["outbox"], top_event)
    ledger = _Ledger(connection, ring, now)
    _owe_emails(ledger, book, today, new_events, (cursor["records"], top_record), changed_disputes)
    _owe_relying(ledger, new_events)
    _owe_sources(ledger, changed_disputes)
    fresh = ledger.fresh()
    locked = _lock_cursor(connection)  # the write lock from here to the commit: only inserts follow
    counts = ledger.write(fresh)
    # A pass that ran meanwhile may have moved the cursor on: owing is idempotent, and the cursor only grows.
    _save_cursor(
        connection, {"outbox": max(top_event, locked["outbox"]), "records": max(top_record, locked["records"])}
    )
    return counts


def _owe_emails(  # noqa: PLR0917 (what owing emails needs)
    ledger: _Ledger,
    book: Callable[[], Rulebook | None],
    today: dt.date,
    events: tuple[int, int],
    new_records: tuple[int, int],
    changed_disputes: Sequence[Any],
) -> None:
    connection, ring = ledger.connection, ledger.ring
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
    touched |= {int(d.subject_id) for d in changed_disputes}
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


# -- sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A message leased to one sender: where it goes and what it says (decrypted)."""

    id: int
    channel: str
    party_kind: str
    party_id: str
    event_key: str
    event_type: str
    message: Mapping[str, Any]  # what is sent: an email's address and notice, or a webhook's body
    subject_id: int
    attempts: int
    leased_until: dt.datetime
    url: str | None = None
    secrets: tuple[str, ...] = ()  # what a webhook is signed with: its secret, and a replaced one in its overlap


def claim_due(  # noqa: PLR0917 (what a claim needs)
    connection: Connection,
    ring: KeyRing,
    due_by: dt.datetime,
    lease_from: dt.datetime,
    limit: int = 10,
    channels: Sequence[str] = ("email", "webhook"),
) -> list[Due]:
    """Lease up to ``limit`` messages due by ``due_by`` (oldest first) to the caller for :data:`LEASE`.

    Keep ``limit`` small: the lease must outlast sending them all (10 messages of at most 10 s each, well within
    5 minutes), or another sender may take them over.
    """
    rows = connection.execute(
        sa.select(deliveries)
        .where(
            deliveries.c.state == "pending", deliveries.c.next_attempt_at <= due_by, deliveries.c.channel.in_(channels)
        )
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
    ).all()
    hooks = {
        (r.party_kind, r.party_id): (r.url, _signing_secrets(ring, r, lease_from))
        for r in connection.execute(sa.select(webhooks).where(webhooks.c.enabled))
    }
    until = lease_from + LEASE
    claimed = []
    for row in rows:
        leased = connection.execute(
            sa.update(deliveries)
            .where(deliveries.c.id == row.id, deliveries.c.next_attempt_at == row.next_attempt_at)
            .values(next_attempt_at=until)
        ).rowcount
        if not leased:
            continue  # another sender took it
        url, signing = hooks.get((row.party_kind, row.party_id), (None, ()))
        payload = json.loads(ring.decrypt(row.payload_enc))
        claimed.append(
            Due(
                int(row.id), row.channel, row.party_kind, row.party_id, row.event_key, row.event_type,
                payload["message"], int(payload["subject_id"]), int(row.attempts), until, url, signing,
            )
        )  # fmt: skip
    return claimed


def _signing_secrets(ring: KeyRing, row: Any, now: dt.datetime) -> tuple[str, ...]:
    """The secrets a webhook's messages are signed with now: its own, and a replaced one while its overlap lasts."""
    current = ring.decrypt(row.secret_enc).decode()
    if _overlap_end(row, now) is None:
        return (current,)
    return current, ring.decrypt(row.previous_secret_enc).decode()


def mark_delivered(connection: Connection, ring: KeyRing, due: Due, now: dt.datetime) -> AuditEntry:
    """Record a delivery; returns the audit entry saying who was told what about whom.

    The message itself is erased (only whom it was about stays): once delivered, Credo has no need of a copy of
    an address, a notice or a statement, and the audit entry says what was sent.
    """
    erased = _erased(ring, due.subject_id)
    connection.execute(  # even if the lease ran out meanwhile: it was delivered (a later failure must not undo it)
        sa.update(deliveries)
        .where(deliveries.c.id == due.id, deliveries.c.state == "pending")
        .values(
            state="delivered", attempts=due.attempts + 1, delivered_at=now, next_attempt_at=None, last_error=None,
            payload_enc=erased,
        )
    )  # fmt: skip
    return _audit_entry(due)


def _audit_entry(due: Due) -> AuditEntry:
    if due.channel == "email":
        detail: dict[str, Any] = {"notice": due.event_key}
        return AuditEntry("system", "delivery", "notice.email", "notice to the subject", due.subject_id, detail)
    if due.party_kind == "relying":
        detail = {"relying": due.party_id, "event": due.event_key, "measure": due.message.get("measure")}
        return AuditEntry("system", "delivery", "decision.notify", "change of an answer given", due.subject_id, detail)
    detail = {"source": due.party_id, "event": due.event_key}
    return AuditEntry("system", "delivery", "dispute.notify", "the source told of a dispute", due.subject_id, detail)


def mark_failed(connection: Connection, due: Due, error: str, now: dt.datetime, *, give_up: bool = False) -> str:
    """Record a failed attempt: ``pending`` again after the backoff, or ``failed`` once Credo gives up.

    Only while the caller still holds the lease: a sender whose lease ran out (and whose message another sender
    may have delivered meanwhile) records nothing, and "lost" is returned.
    """
    attempts = due.attempts + 1
    wait = None if give_up else retry_after(attempts)
    state = "pending" if wait is not None else "failed"
    held = connection.execute(
        sa.update(deliveries)
        .where(
            deliveries.c.id == due.id,
            deliveries.c.state == "pending",
            deliveries.c.next_attempt_at == due.leased_until,
        )
        .values(
            state=state, attempts=attempts, last_error=error[:500],
            next_attempt_at=None if wait is None else now + wait,
        )
    ).rowcount  # fmt: skip
    return state if held else "lost"


def pending_count(connection: Connection, channel: str) -> int:
    return int(
        connection.execute(
            sa.select(sa.func.count()).where(deliveries.c.channel == channel, deliveries.c.state == "pending")
        ).scalar_one()
    )


def retry_delivery(connection: Connection, delivery_id: int, now: dt.datetime) -> None:
    """Try a message Credo gave up on once more, now (attempts start again)."""
    state = connection.execute(sa.select(deliveries.c.state).where(deliveries.c.id == delivery_id)).scalar()
    if state is None:
        raise NotFoundError(f"no delivery {delivery_id}")
    if state != "failed":
        raise ConflictError(f"delivery {delivery_id} is {state}: only a failed one can be retried")
    connection.execute(
        sa.update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(state="pending", attempts=0, next_attempt_at=now)
    )


def delivery_rows(connection: Connection, state: str | None = None, limit: int = 200) -> dict[str, Any]:
    """Counts by channel and state, and the latest rows (no payloads, subjects by surrogate id only)."""
    counts: dict[str, dict[str, int]] = {}
    for channel, st, n in connection.execute(
        sa.select(deliveries.c.channel, deliveries.c.state, sa.func.count()).group_by(
            deliveries.c.channel, deliveries.c.state
        )
    ):
        counts.setdefault(channel, {})[st] = int(n)
    query = sa.select(deliveries).order_by(deliveries.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(deliveries.c.state == state)
    rows = [
        {
            "id": int(r.id), "channel": r.channel, "party_kind": r.party_kind, "party_id": r.party_id,
            "event": r.event_key, "event_type": r.event_type, "state": r.state, "attempts": int(r.attempts),
            "next_attempt_at": r.next_attempt_at, "last_error": r.last_error, "created_at": r.created_at,
            "delivered_at": r.delivered_at,
        }
        for r in connection.execute(query)
    ]  # fmt: skip
    return {"counts": counts, "deliveries": rows}
