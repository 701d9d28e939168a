"""Sending what is owed: due messages leased to one sender at a time, each outcome recorded.

:func:`claim_due` leases due rows to one sender for :data:`LEASE`; :func:`mark_delivered` /
:func:`mark_failed` record the outcome, and a failure waits as :func:`credo.domain.delivery.retry_after`
says. Also the log operators read (:func:`delivery_rows`) and retry a message from.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.delivery import retry_after
from credo.store.audit import AuditEntry
from credo.store.delivery import erased_payload, signing_secrets
from credo.store.errors import ConflictError, NotFoundError
from credo.store.keys import KeyRing
from credo.store.tables import deliveries, webhooks

__all__ = [
    "LEASE",
    "Due",
    "claim_due",
    "delivery_rows",
    "mark_delivered",
    "mark_failed",
    "pending_count",
    "retry_delivery",
]

LEASE = dt.timedelta(minutes=5)  # a claimed row is not claimed again meanwhile, unless its sender died


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


def claim_due(
    connection: Connection,
    ring: KeyRing,
    due_by: dt.datetime,
    lease_from: dt.datetime,
    *,
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
        (r.party_kind, r.party_id): (r.url, signing_secrets(ring, r, lease_from))
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


def mark_delivered(connection: Connection, ring: KeyRing, due: Due, now: dt.datetime) -> AuditEntry:
    """Record a delivery; returns the audit entry saying who was told what about whom.

    The message itself is erased (only whom it was about stays): once delivered, Credo has no need of a copy of
    an address, a notice or a statement, and the audit entry says what was sent.
    """
    erased = erased_payload(ring, due.subject_id)
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
