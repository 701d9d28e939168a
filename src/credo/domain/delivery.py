"""Delivering notices and events: the retry schedule, webhook signatures and email text (pure).

Why here and not in the adapters: the schedule and the signature are
promises to the parties (how long Credo keeps trying, how a receiver checks
that a message is Credo's), so they are fixed, documented and tested apart
from the sockets that carry them.

A webhook carries ``X-Credo-Signature: t=<unix seconds>,v1=<hex>``, where
``<hex>`` is HMAC-SHA256 under the party's secret of ``"<t>.<body>"`` (the
scheme Stripe and others use: the timestamp inside the signature stops a
replay of an old message).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import socket
import urllib.parse
from collections.abc import Collection
from email.message import EmailMessage

from credo.domain.notices import Notice

__all__ = [
    "FIRST_RETRY",
    "LONGEST_WAIT",
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE",
    "address_refused",
    "email_for",
    "retry_after",
    "sign",
    "url_problem",
    "verify",
]

FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_WAIT = dt.timedelta(hours=6)
MAX_ATTEMPTS = 12  # waits of 30 s, 1, 2, 4 ... minutes up to 6 hours: the last attempt about 14.5 hours after the first
SIGNATURE_HEADER = "X-Credo-Signature"
SIGNATURE_TOLERANCE = dt.timedelta(minutes=5)


def retry_after(attempts: int) -> dt.timedelta | None:
    """How long to wait after the ``attempts``-th failed attempt; None once Credo gives up.

    Doubling from 30 seconds, never more than 6 hours apart, at most
    :data:`MAX_ATTEMPTS` attempts in all.
    """
    if attempts < 1:
        raise ValueError("attempts counts failed attempts, from 1")
    if attempts >= MAX_ATTEMPTS:
        return None
    wait: dt.timedelta = FIRST_RETRY * 2 ** (attempts - 1)
    return min(wait, LONGEST_WAIT)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: dt.timedelta = SIGNATURE_TOLERANCE) -> bool:
    """What a receiver does: the signature matches and is not older (or newer) than ``tolerance``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    if abs(now - timestamp) > tolerance.total_seconds():
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def email_for(notice: Notice, to: str, sender: str) -> EmailMessage:
    """A notice as a plain-text email: what happened, why, what the subject can do, and how to stop these."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    subject = notice.what if len(notice.what) <= 70 else notice.what[:67].rstrip() + "..."
    message["Subject"] = f"Credo: {subject}"
    message["Message-ID"] = f"<{notice.notice_id}.{notice.on.isoformat()}@credo.notices>"
    why = "".join(f"  {key}: {value}\n" for key, value in notice.why.items())
    message.set_content(
        f"{notice.what}\n\n"
        f"On: {notice.on.isoformat()}\n"
        + (f"Why:\n{why}" if why else "")
        + f"\nWhat you can do: {notice.what_you_can_do}\n\n"
        f"Your notices, your report and every access to your data: GET /v1/me/notices and GET /v1/me/report.\n"
        f"You receive this because you gave Credo this address; DELETE /v1/me/contact stops these emails.\n"
        f"(notice {notice.notice_id})\n"
    )
    return message


def url_problem(url: str, allowed_hosts: Collection[str] = ()) -> str | None:
    """Why ``url`` cannot be a webhook, or None.

    https only, a host and a valid port, no spaces or control characters; a
    literal loopback, private, link-local or reserved address (or
    ``localhost``) only if its host is in ``allowed_hosts`` (a deployment's
    own receivers, and tests). Plain http only for an allowed host too:
    webhooks carry dispute statements.
    """
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "url must not contain spaces or control characters"
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("https", "http") or not host:
        return "url must be an https:// address with a host"
    if parts.username is not None or parts.password is not None:
        return "url must not carry a user name or password (the signature authenticates Credo)"
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number in range)
    except ValueError:
        return "url has an invalid port"
    if host in allowed_hosts:
        return None
    if parts.scheme != "https":
        return f"url must be https:// (plain http only for hosts in CREDO_WEBHOOK_ALLOW_HOSTS, not {host})"
    if host == "localhost" or host.endswith(".localhost"):
        return "url must not point at this machine (allow it with CREDO_WEBHOOK_ALLOW_HOSTS)"
    address = _literal_address(host)
    if address is None:
        return None  # a name: its addresses are checked when sending (address_refused)
    if address_refused(str(address)):
        return f"url points at a {_kind(address)} address (allow it with CREDO_WEBHOOK_ALLOW_HOSTS)"
    return None


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names literally, in any form a resolver accepts (``127.1``, ``2130706433``, ``0x7f.1``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def address_refused(address: str) -> bool:
    """Whether a webhook may not be sent to this IP address: loopback, private, link-local, reserved and the like."""
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    for name in ("loopback", "link_local", "private", "reserved", "multicast"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    return "non-public"
