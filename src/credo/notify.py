"""Sending what the store owes: email over SMTP and signed webhooks over HTTP (docs/due-process.md, "Delivery").

One pass (:func:`run_pass`): in a transaction, owe whatever is new
(:func:`credo.store.delivery.enqueue`) and lease what is due; then send each
message outside any transaction, and record each outcome in a short
transaction of its own, with the audit entry of a delivery. A crash between
sending and recording sends that message again after its lease: delivery is
at least once, and a receiver drops repeats by ``X-Credo-Delivery``.

``credo deliver`` runs a pass (or one every few seconds with ``--watch``);
``credo serve`` runs one every ``CREDO_DELIVERY_INTERVAL`` seconds.

SMTP comes from the environment: ``CREDO_SMTP_HOST`` (no email is sent
without it; emails wait), ``CREDO_SMTP_PORT`` (25), ``CREDO_SMTP_FROM``
(required with a host), ``CREDO_SMTP_STARTTLS`` (``true`` by default:
notices are personal data; ``false`` only for a relay on the same host),
``CREDO_SMTP_USER`` and ``CREDO_SMTP_PASSWORD`` (only with STARTTLS).
Webhooks go to https:// hosts with public addresses only, and follow no
redirect; ``CREDO_WEBHOOK_ALLOW_HOSTS`` (comma-separated) names hosts
allowed anyway (a deployment's own receivers on a private network).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import smtplib
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from credo.domain.delivery import SIGNATURE_HEADER, address_refused, email_for, sign
from credo.domain.notices import Notice
from credo.domain.rulebook import Rulebook
from credo.store import clock
from credo.store.audit import append
from credo.store.bootstrap import Store
from credo.store.delivery import (
    Due,
    Enqueued,
    claim_due,
    committed_marks,
    enqueue,
    mark_delivered,
    mark_failed,
    pending_count,
)
from credo.store.errors import StoreError
from credo.store.rulebooks import rulebook_at

__all__ = ["ENV_ALLOW_HOSTS", "PassReport", "SmtpSettings", "allowed_hosts", "run_pass"]

USER_AGENT = "Credo-Webhooks/1"
ENV_ALLOW_HOSTS = "CREDO_WEBHOOK_ALLOW_HOSTS"
BATCH = 10  # messages leased at a time: sent well within the lease (10 x a 10 s timeout < 5 minutes)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 25
    starttls: bool = True
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @staticmethod
    def from_env(environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """The settings from ``CREDO_SMTP_*``; None when no host is set (emails then wait)."""
        env = os.environ if environ is None else environ
        host = env.get("CREDO_SMTP_HOST", "").strip()
        if not host:
            return None
        sender = env.get("CREDO_SMTP_FROM", "").strip()
        if not sender:
            raise StoreError("CREDO_SMTP_FROM must name the sender address when CREDO_SMTP_HOST is set")
        port_text = env.get("CREDO_SMTP_PORT", "25").strip()
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise StoreError(f"CREDO_SMTP_PORT must be a port number, not {port_text!r}")
        starttls = env.get("CREDO_SMTP_STARTTLS", "true").strip().lower()
        if starttls not in ("true", "false"):
            raise StoreError("CREDO_SMTP_STARTTLS must be true or false")
        user = env.get("CREDO_SMTP_USER") or None
        if user and starttls == "false":
            raise StoreError("CREDO_SMTP_USER needs CREDO_SMTP_STARTTLS=true: a password is never sent in clear text")
        return SmtpSettings(host, sender, int(port_text), starttls == "true", user, env.get("CREDO_SMTP_PASSWORD"))


class DeliveryError(Exception):
    """A receiver that answered, but not with success; ``permanent``: trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


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
    message = email_for(notice, due.message["to"], settings.sender)
    with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as server:
        if settings.starttls:
            server.starttls(context=ssl.create_default_context())
        if settings.user:
            server.login(settings.user, settings.password or "")
        server.send_message(message)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would resend a POST as a GET without its body (and could point anywhere): it is a failure."""

    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _check_address(url: str, allowed: frozenset[str]) -> None:
    """Refuse a host whose addresses are not public, unless it is allowed (set time checks only literal ones)."""
    host = (urllib.parse.urlsplit(url).hostname or "").rstrip(".")
    if host in allowed:
        return
    for *_, sockaddr in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP):
        if address_refused(str(sockaddr[0])):
            raise DeliveryError(
                "refused: the host resolves to a non-public address (CREDO_WEBHOOK_ALLOW_HOSTS)", permanent=True
            )


def _post_webhook(due: Due, now: dt.datetime, timeout: float, allowed: frozenset[str]) -> None:
    if due.url is None or due.secret is None:
        raise DeliveryError("the party has no webhook any more")
    _check_address(due.url, allowed)
    body = json.dumps({"delivery_id": due.id, **due.message}, ensure_ascii=False, sort_keys=True).encode()
    request = urllib.request.Request(
        due.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Credo-Delivery": str(due.id),
            "X-Credo-Event": due.event_type,
            SIGNATURE_HEADER: sign(due.secret, int(now.timestamp()), body),
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        moved = " (redirects are not followed)" if 300 <= exc.code < 400 else ""
        raise DeliveryError(f"HTTP {exc.code}{moved}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


def _reason(exc: BaseException) -> str:
    """Why an attempt failed, without the payload or an address: the kind of failure and a short message."""
    if isinstance(exc, DeliveryError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, urllib.error.URLError):
        return f"{type(exc).__name__}: {type(exc.reason).__name__ if not isinstance(exc.reason, str) else exc.reason}"
    return type(exc).__name__


def run_pass(
    store: Store,
    smtp: SmtpSettings | None,
    *,
    now: dt.datetime | None = None,
    timeout: float = 10.0,
    limit: int = 500,
) -> PassReport:
    """Owe what is new, then send what is due by ``now`` (the store's clock by default), at most ``limit``."""
    fixed = now
    now = store.clock() if fixed is None else fixed

    def moment() -> dt.datetime:  # when a message is sent or its outcome kept: the real clock, unless fixed
        return store.clock() if fixed is None else fixed

    today = clock.today(store.environ)
    allowed = allowed_hosts(store.environ)
    channels = ("email", "webhook") if smtp is not None else ("webhook",)
    with store.begin() as connection:
        marks = committed_marks(connection)
    with store.begin() as connection:
        ring = store.keys(connection)
        enqueued = enqueue(connection, ring, lambda: _book(connection, today), today, now, marks)
        waiting = smtp is None and pending_count(connection, "email") > 0
    delivered = retrying = given_up = 0
    while delivered + retrying + given_up < limit:
        with store.begin() as connection:
            batch = claim_due(connection, ring, now, moment(), min(BATCH, limit), channels)
        if not batch:
            break
        for message in batch:
            try:
                if message.channel == "email":
                    assert smtp is not None  # claimed only with a server to send them
                    _send_email(smtp, message, timeout)
                else:
                    _post_webhook(message, moment(), timeout, allowed)
            except Exception as exc:  # any failure of one message is that message's failed attempt
                give_up = isinstance(exc, DeliveryError) and exc.permanent
                with store.begin() as connection:
                    state = mark_failed(connection, message, _reason(exc), moment(), give_up=give_up)
                retrying += state == "pending"
                given_up += state == "failed"
                continue
            with store.begin() as connection:
                at = moment()
                append(connection, [mark_delivered(connection, ring, message, at)], at)
            delivered += 1
    return PassReport(enqueued, delivered, retrying, given_up, waiting)


def _book(connection: Connection, today: dt.date) -> Rulebook | None:
    """The rulebook that words emails; None when there is none in force (emails wait, webhooks go)."""
    try:
        return rulebook_at(connection, today)[1]
    except StoreError:
        return None


def allowed_hosts(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """``CREDO_WEBHOOK_ALLOW_HOSTS``: hosts a webhook may reach although private, local or plain http."""
    env = os.environ if environ is None else environ
    return frozenset(h.strip().lower() for h in env.get(ENV_ALLOW_HOSTS, "").split(",") if h.strip())
