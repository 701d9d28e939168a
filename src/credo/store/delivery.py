"""What Credo owes each party by email or webhook, kept in the store until delivered (docs/due-process.md).

Three kinds of message, each a row of ``deliveries`` made once (the unique
key is channel, party and event, so a pass can run any number of times):

* **email to a subject** who gave an address (``PUT /v1/me/contact``): each
  of its notices (:mod:`credo.store.notices`) from the day it gave it;
* **webhook to a relying party**, ``decision.changed``: a measure that party
  asked about for a subject within :data:`credo.domain.outbound.ASKED_WITHIN`
  now applies or no longer does (as the FCRA has recipients of a report told
  of a correction); it carries the decision ids the party holds, never the
  identifier;
* **webhook to a source**, ``dispute.opened`` / ``dispute.decided``: one of
  its records is disputed (with the subject's statement, to reinvestigate)
  or the dispute was decided.

Here is where messages go: a subject's address and a party's webhook with its secrets; when one goes, what
was still owed to it is cancelled. :func:`credo.store.delivery_enqueue.enqueue` finds what is owed;
:mod:`credo.store.delivery_claims` leases due rows to a sender and records the outcome. Payloads are
encrypted at rest; ``last_error`` never holds a payload or an address.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.delivery import url_problem
from credo.domain.outbound import email_problem
from credo.store.clock import as_utc
from credo.store.errors import NotFoundError, StoreError
from credo.store.keys import KeyRing
from credo.store.tables import deliveries, relying_parties, sources, subject_contacts, webhooks

__all__ = [
    "PARTY_KINDS",
    "STATES",
    "contact_of",
    "erased_payload",
    "remove_contact",
    "remove_webhook",
    "rotate_secret",
    "set_contact",
    "set_webhook",
    "signing_secrets",
    "webhook_rows",
]

PARTY_KINDS = ("relying", "source")
STATES = ("pending", "delivered", "failed", "cancelled")  # cancelled: its webhook or address went before it was sent


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
                payload_enc=erased_payload(ring, row.subject_id),
            )
        )  # fmt: skip


def erased_payload(ring: KeyRing, subject_id: int | None) -> bytes:
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


def signing_secrets(ring: KeyRing, row: Any, now: dt.datetime) -> tuple[str, ...]:
    """The secrets a webhook's messages are signed with now: its own, and a replaced one while its overlap lasts."""
    current = ring.decrypt(row.secret_enc).decode()
    if _overlap_end(row, now) is None:
        return (current,)
    return current, ring.decrypt(row.previous_secret_enc).decode()
