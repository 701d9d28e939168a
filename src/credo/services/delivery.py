"""Where notices and events go, as every edge runs it: a subject's address, parties' webhooks, the delivery log.

Sending is :func:`credo.services.delivery_pass.run_pass`; here is what people set and read. A subject's address and the
delivery log are personal data: reading them is an entry for the subject (the address) or for the operation
(the log, whose rows carry no content). Secrets are answered once, when made, and never again.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass
from typing import Any

from credo.domain.delivery import host_key
from credo.domain.identifiers import problem_with_identifier
from credo.services import identify
from credo.services.actor import Actor, operation
from credo.services.unit_of_work import UnitOfWork
from credo.store import delivery, delivery_claims, webhook_hosts
from credo.store.audit import AuditEntry
from credo.store.errors import NotFoundError, StoreError
from credo.store.subjects import ensure_subject

__all__ = [
    "NewSecret",
    "Webhooks",
    "allow_host",
    "contact",
    "deliveries",
    "disallow_host",
    "own_contact",
    "remove_contact",
    "remove_own_contact",
    "remove_webhook",
    "retry",
    "rotate_secret",
    "set_contact",
    "set_webhook",
    "webhooks",
]

_ADDRESS = "the subject's address for notices"


@dataclass(frozen=True)
class NewSecret:
    """A webhook's new signing secret (shown once).

    ``only_here``: its host is allowed by this process's environment only; ``old_until``: until when the
    replaced secret still signs beside it (None: it no longer does).
    """

    secret: str
    only_here: str | None = None
    old_until: dt.datetime | None = None


@dataclass(frozen=True)
class Webhooks:
    """Every webhook (never its secret), and the hosts they may reach although private or plain http."""

    rows: list[dict[str, Any]]
    stored_hosts: list[str]  # kept in the store: every process sees them
    allowed_hosts: frozenset[str]  # those and the ones this process's environment adds


# -- a subject's address ----------------------------------------------------------------------


def set_contact(uow: UnitOfWork, identifier: str, kind: str | None, email: str) -> dict[str, str]:
    """Send the subject's notices to ``email`` from today; a subject not stored yet is made (an address may come
    before any record)."""
    ids = _subjects_or_new(uow, identifier, kind)
    delivery.set_contact(uow.connection, uow.ring, ids, email, uow.today)
    uow.audit(*(AuditEntry("subject", "subject", "contact.set", _ADDRESS, sid) for sid in ids))
    return {"email": email.strip(), "since": uow.today.isoformat()}


def contact(uow: UnitOfWork, subject_id: int) -> dict[str, str]:
    """The address the subject's notices go to, and since when (none: not found)."""
    found = delivery.contact_of(uow.connection, uow.ring, subject_id)
    if found is None:
        raise NotFoundError("you gave no address for notices: PUT /v1/me/contact")
    uow.audit(AuditEntry("subject", "subject", "contact.read", _ADDRESS, subject_id))
    return {"email": found[0], "since": found[1].date().isoformat()}


def own_contact(uow: UnitOfWork, identifier: str, kind: str | None) -> dict[str, str]:
    """The address of the subject the identifier names (:func:`contact`); Credo holding nothing: not found."""
    return contact(uow, identify.own_subjects(uow, identifier, kind)[0][0])


def remove_own_contact(uow: UnitOfWork, identifier: str, kind: str | None) -> None:
    """Forget the address of every stored subject the identifier names (:func:`remove_contact`)."""
    remove_contact(uow, [sid for sid, _ in identify.own_subjects(uow, identifier, kind)])


def remove_contact(uow: UnitOfWork, subject_ids: list[int]) -> None:
    """Forget the address: no more emails, and those not yet sent are cancelled (none given: not found)."""
    if not delivery.remove_contact(uow.connection, uow.ring, subject_ids):
        raise NotFoundError("you gave no address for notices")
    uow.audit(*(AuditEntry("subject", "subject", "contact.remove", _ADDRESS, sid) for sid in subject_ids))


def _subjects_or_new(uow: UnitOfWork, identifier: str, kind: str | None) -> list[int]:
    found = uow.subjects(identifier, kind)
    if found:
        return [sid for sid, _ in found]
    kind = kind or ("person" if problem_with_identifier(identifier, "person") is None else "organization")
    if problem_with_identifier(identifier, kind) is not None:
        raise StoreError(f"the token names no valid {kind} identifier")
    return [ensure_subject(uow.connection, uow.ring, identifier, kind, uow.now)]


# -- parties' webhooks ------------------------------------------------------------------------


def set_webhook(uow: UnitOfWork, operator: Actor, party: tuple[str, str], url: str) -> NewSecret:
    """Point a party's webhook (``party``: kind and id) at ``url``; its new secret, to be shown once."""
    allowed = webhook_hosts.allowed_hosts(uow.connection, uow.environ)
    secret = delivery.set_webhook(uow.connection, uow.ring, party, url, uow.now, allowed_hosts=allowed)
    uow.audit(operation(operator, "webhook.set", {"party_kind": party[0], "party_id": party[1]}))
    host = host_key(urllib.parse.urlsplit(url).hostname or "")
    only_here = host if host in allowed and host not in webhook_hosts.stored_hosts(uow.connection) else None
    return NewSecret(secret, only_here)


def rotate_secret(uow: UnitOfWork, operator: Actor, party: tuple[str, str], overlap: dt.timedelta) -> NewSecret:
    """A new signing secret for the party's webhook; the old one signs beside it for ``overlap``."""
    secret = delivery.rotate_secret(uow.connection, uow.ring, party, uow.now, overlap)
    detail = {"party_kind": party[0], "party_id": party[1], "overlap_seconds": int(overlap.total_seconds())}
    uow.audit(operation(operator, "webhook.rotate_secret", detail))
    return NewSecret(secret, old_until=uow.now + overlap if overlap else None)


def remove_webhook(uow: UnitOfWork, operator: Actor, party: tuple[str, str]) -> None:
    """Stop the party's webhook; what was still owed to it is cancelled (kept in the log, not sent)."""
    delivery.remove_webhook(uow.connection, uow.ring, *party)
    uow.audit(operation(operator, "webhook.remove", {"party_kind": party[0], "party_id": party[1]}))


def webhooks(uow: UnitOfWork) -> Webhooks:
    rows = delivery.webhook_rows(uow.connection, uow.now)
    stored = webhook_hosts.stored_hosts(uow.connection)
    return Webhooks(rows, list(stored), webhook_hosts.allowed_hosts(uow.connection, uow.environ))


def allow_host(uow: UnitOfWork, operator: Actor, host: str) -> tuple[str, bool]:
    """Let webhooks reach a private or plain-http host; the host as kept, and whether it was new."""
    key, added = webhook_hosts.allow_host(uow.connection, host)
    if added:
        uow.audit(operation(operator, "webhook.allow_host", {"host": key}))
    return key, added


def disallow_host(uow: UnitOfWork, operator: Actor, host: str) -> str:
    key = webhook_hosts.disallow_host(uow.connection, host)
    uow.audit(operation(operator, "webhook.disallow_host", {"host": key}))
    return key


# -- the delivery log -------------------------------------------------------------------------


def deliveries(uow: UnitOfWork, reader: Actor, state: str | None) -> dict[str, Any]:
    """Counts by channel and state, then the latest messages (no content: where, what event, which attempt, why)."""
    found = delivery_claims.delivery_rows(uow.connection, state)
    uow.audit(operation(reader, "deliveries.read", {"state": state, "deliveries": len(found["deliveries"])}))
    return found


def retry(uow: UnitOfWork, operator: Actor, delivery_id: int) -> None:
    """Try a message Credo gave up on once more, at the next pass."""
    delivery_claims.retry_delivery(uow.connection, delivery_id, uow.now)
    uow.audit(operation(operator, "delivery.retry", {"delivery_id": delivery_id}))
