"""Sending what the store owes: email over SMTP and signed webhooks over HTTP (docs/due-process.md, "Delivery").

One pass (:func:`run_pass`): in a transaction, owe whatever is new
(:func:`credo.store.delivery_enqueue.enqueue`) and lease what is due, ten at a time; send each
message outside any transaction, and record the ten outcomes in one short
transaction, with the audit entries of the deliveries. A crash between
sending and recording sends those messages again after their lease: delivery
is at least once, and a receiver drops repeats by ``X-Credo-Delivery``.

``credo deliver`` runs a pass (or one every few seconds with ``--watch``);
``credo serve`` runs one every ``CREDO_DELIVERY_INTERVAL`` seconds.

SMTP comes from the environment: ``CREDO_SMTP_HOST`` (no email is sent
without it; emails wait), ``CREDO_SMTP_PORT`` (25), ``CREDO_SMTP_FROM``
(required with a host), ``CREDO_SMTP_STARTTLS`` (``true`` by default:
notices are personal data; ``false`` only for a relay on the same host),
``CREDO_SMTP_USER`` and ``CREDO_SMTP_PASSWORD`` (only with STARTTLS).
Webhooks go to https:// hosts with public addresses only, to the very
address that was checked (:mod:`credo.adapters.webhook_http`), and follow no
redirect; hosts allowed anyway (a deployment's own receivers on a private
network) are kept in the store (``credo webhook allow-host``), so that the
server and every command see the same list; ``CREDO_WEBHOOK_ALLOW_HOSTS``
(comma-separated) adds hosts for the one process started with it.
Failures are kept in plain words (:mod:`credo.adapters.delivery_reasons`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from credo.adapters.delivery_reasons import plain_reason
from credo.adapters.smtp import SmtpSettings, send_email
from credo.adapters.webhook_http import DeliveryError, Resolver, post
from credo.domain.delivery import SIGNATURE_HEADER, email_for, sign, url_problem
from credo.domain.notices import Notice
from credo.domain.rulebook import Rulebook
from credo.store import clock
from credo.store.audit import append
from credo.store.bootstrap import Store
from credo.store.delivery_claims import Due, claim_due, mark_delivered, mark_failed, pending_count
from credo.store.delivery_enqueue import Enqueued, PassWindow, committed_marks, enqueue
from credo.store.errors import StoreError
from credo.store.rulebooks import rulebook_at
from credo.store.webhook_hosts import allowed_hosts

__all__ = ["DeliveryError", "PassReport", "SmtpSettings", "run_pass"]

USER_AGENT = "Credo-Webhooks/1"
BATCH = 10  # messages leased at a time: sent well within the lease (10 x a 10 s timeout < 5 minutes)


@dataclass(frozen=True)
class PassReport:
    enqueued: Enqueued
    delivered: int = 0
    retrying: int = 0
    given_up: int = 0
    emails_waiting: bool = False  # owed emails, and no SMTP server to send them

    def to_json(self) -> dict[str, object]:
        return {
            "enqueued": {
                "emails": self.enqueued.emails,
                "to_relying": self.enqueued.to_relying,
                "to_sources": self.enqueued.to_sources,
            },
            "delivered": self.delivered,
            "retrying": self.retrying,
            "given_up": self.given_up,
            "emails_waiting": self.emails_waiting,
        }


def _send_email(settings: SmtpSettings, due: Due, timeout: float) -> None:
    notice_json = due.message["notice"]
    notice = Notice(
        notice_json["notice_id"], dt.date.fromisoformat(notice_json["on"]), notice_json["kind"], notice_json["what"],
        notice_json["why"], notice_json["what_you_can_do"],
    )  # fmt: skip
    send_email(settings, email_for(notice, due.message["to"], settings.sender), timeout)


def _post_webhook(
    due: Due, now: dt.datetime, timeout: float, allowed: frozenset[str], resolver: Resolver | None
) -> None:
    if due.url is None or not due.secrets:
        raise DeliveryError("the party has no webhook any more", permanent=True)
    problem = url_problem(due.url, allowed)  # a host no longer allowed since the webhook was set
    if problem is not None:
        raise DeliveryError(f"refused: {problem}", permanent=True)
    body = json.dumps({"delivery_id": due.id, **due.message}, ensure_ascii=False, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Credo-Delivery": str(due.id),
        "X-Credo-Event": due.event_type,
        SIGNATURE_HEADER: sign(due.secrets, int(now.timestamp()), body),
    }
    if resolver is None:
        post(due.url, body, headers, timeout=timeout, allowed=allowed)
    else:
        post(due.url, body, headers, timeout=timeout, allowed=allowed, resolver=resolver)


def run_pass(
    store: Store,
    smtp: SmtpSettings | None,
    *,
    now: dt.datetime | None = None,
    timeout: float = 10.0,
    limit: int = 500,
    resolver: Resolver | None = None,
) -> PassReport:
    """Owe what is new, then send what is due by ``now`` (the store's clock by default), at most ``limit``.

    ``resolver`` answers a webhook host's addresses (the system's resolver by default).
    """
    fixed = now
    now = store.clock() if fixed is None else fixed

    def moment() -> dt.datetime:  # when a message is sent or its outcome kept: the real clock, unless fixed
        return store.clock() if fixed is None else fixed

    today = clock.today(store.environ)
    channels = ("email", "webhook") if smtp is not None else ("webhook",)
    with store.begin() as connection:
        marks = committed_marks(connection)  # on PostgreSQL this transaction may end failed: nothing else in it
    with store.begin() as connection:
        allowed = allowed_hosts(connection, store.environ)
        ring = store.keys(connection)
        enqueued = enqueue(connection, ring, lambda: _book(connection, today), PassWindow(today, now, marks))
        waiting = smtp is None and pending_count(connection, "email") > 0
    delivered = retrying = given_up = 0
    while delivered + retrying + given_up < limit:
        with store.begin() as connection:
            batch = claim_due(connection, ring, now, moment(), limit=min(BATCH, limit), channels=channels)
        if not batch:
            break
        sent, failed = _send(batch, _Senders(smtp, timeout, allowed, resolver), moment)
        # The batch's outcomes in one short transaction, not one each: a pass takes the write lock (which pushes
        # and decisions wait for) once per batch. A crash before it sends the batch again after its lease, as a
        # crash after any one message would: delivery is at least once either way.
        with store.begin() as connection:
            for message, reason, at, give_up in failed:
                state = mark_failed(connection, message, reason, at, give_up=give_up)
                retrying += state == "pending"
                given_up += state == "failed"
            if sent:
                entries = [mark_delivered(connection, ring, message, at) for message, at in sent]
                append(connection, entries, max(at for _, at in sent))
        delivered += len(sent)
    return PassReport(enqueued, delivered, retrying, given_up, waiting)


@dataclass(frozen=True)
class _Senders:
    """How a pass sends: the SMTP server (None: emails wait), the timeout, the hosts allowed, the resolver."""

    smtp: SmtpSettings | None
    timeout: float
    allowed: frozenset[str]
    resolver: Resolver | None


def _send(
    batch: list[Due], senders: _Senders, moment: Callable[[], dt.datetime]
) -> tuple[list[tuple[Due, dt.datetime]], list[tuple[Due, str, dt.datetime, bool]]]:
    """Send each message of a batch, outside any transaction: (sent, when), and (failed, why, when, give up)."""
    sent: list[tuple[Due, dt.datetime]] = []
    failed: list[tuple[Due, str, dt.datetime, bool]] = []
    for message in batch:
        try:
            if message.channel == "email":
                assert senders.smtp is not None  # claimed only with a server to send them
                _send_email(senders.smtp, message, senders.timeout)
            else:
                _post_webhook(message, moment(), senders.timeout, senders.allowed, senders.resolver)
        except Exception as exc:  # any failure of one message is that message's failed attempt
            give_up = isinstance(exc, DeliveryError) and exc.permanent
            failed.append((message, plain_reason(exc, message.channel), moment(), give_up))
        else:
            sent.append((message, moment()))
    return sent, failed


def _book(connection: Connection, today: dt.date) -> Rulebook | None:
    """The rulebook that words emails; None when there is none in force (emails wait, webhooks go)."""
    try:
        return rulebook_at(connection, today)[1]
    except StoreError:
        return None
