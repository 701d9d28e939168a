"""Delivering notices and events: the retry schedule, webhook signatures and email text (pure).

Why here and not in the adapters: the schedule and the signature are
promises to the parties (how long Credo keeps trying, how a receiver checks
that a message is Credo's), so they are fixed, documented and tested apart
from the sockets that carry them.

A webhook carries ``X-Credo-Signature: t=<unix seconds>,v1=<hex>``, where
``<hex>`` is HMAC-SHA256 under the party's secret of ``"<t>.<body>"`` (the
scheme Stripe and others use: the timestamp inside the signature stops a
replay of an old message); while a replaced secret's overlap lasts there is
one ``v1=`` per secret, and a receiver accepts any that matches.

Where a webhook may go is decided here too (:func:`url_problem`,
:func:`address_refused`): public addresses only, an IPv6 address judged by
the IPv4 address it carries as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import socket
import urllib.parse
from collections.abc import Collection, Sequence
from email.message import EmailMessage

from credo.domain.notices import Notice

__all__ = [
    "FIRST_RETRY",
    "LONGEST_WAIT",
    "MAX_ATTEMPTS",
    "MAX_OVERLAP",
    "SIGNATURE_HEADER",
    "SIGNATURE_TOLERANCE",
    "address_refused",
    "email_for",
    "embedded_ipv4",
    "host_key",
    "host_problem",
    "overlap_of",
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


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str | Sequence[str], timestamp: int, body: bytes) -> str:
    """The value of the signature header for ``body`` sent at ``timestamp`` (unix seconds).

    Several secrets (while a replaced secret's overlap lasts, the new one first) give one ``v1=`` each, as
    Stripe does: a receiver that knows either secret accepts the message.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    return ",".join([f"t={timestamp}", *(f"v1={_mac(s, timestamp, body)}" for s in secrets)])


def verify(secret: str, header: str, body: bytes, now: int, tolerance: dt.timedelta = SIGNATURE_TOLERANCE) -> bool:
    """What a receiver does: one of the ``v1`` signatures matches and is not older (or newer) than ``tolerance``."""
    try:
        items = [item.split("=", 1) for item in header.split(",")]
        (timestamp,) = [int(value) for key, value in items if key == "t"]
    except ValueError:  # no "=", no or two timestamps, or one that is not a number
        return False
    given = [value for key, value in items if key == "v1"]
    if not given or abs(now - timestamp) > tolerance.total_seconds():
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for value in given)


MAX_OVERLAP = dt.timedelta(days=7)
_OVERLAP = re.compile(r"^(\d{1,4})([hd])$")


def overlap_of(text: str) -> dt.timedelta:
    """A replaced secret's overlap, written ``24h`` or ``2d`` (``0`` for none), at most :data:`MAX_OVERLAP`."""
    text = text.strip()
    if text == "0":
        return dt.timedelta(0)
    found = _OVERLAP.match(text)
    if found is None:
        raise ValueError(f"an overlap is a number of hours or days such as 24h or 2d, or 0, not {text!r}")
    amount = int(found.group(1))
    overlap = dt.timedelta(hours=amount) if found.group(2) == "h" else dt.timedelta(days=amount)
    if overlap > MAX_OVERLAP:
        raise ValueError("an overlap is at most 7 days (168h): receivers should switch to the new secret by then")
    return overlap


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def host_key(host: str) -> str:
    """A host as it is compared: lower case, no brackets or trailing dot, an IP address in its shortest form."""
    host = host.strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def host_problem(host: str) -> str | None:
    """Why ``host`` cannot be named as a host webhooks may reach anyway (:func:`host_key` form), or None."""
    if not host:
        return "name a host, such as hooks.internal.example or 10.1.2.3"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        return "a host is a name of letters, digits, hyphens and dots, or an IP address"
    return None


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
    host = host_key(parts.hostname or "")
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
        return f"url must be https:// (plain http only for an allowed host: credo webhook allow-host {host})"
    if host == "localhost" or host.endswith(".localhost"):
        return f"url must not point at this machine (allow its host with credo webhook allow-host {host})"
    address = _literal_address(host)
    if address is None:
        return None  # a name: its addresses are checked when sending (address_refused)
    kind = _refusal(address)
    if kind is not None:
        return f"url points at a {kind} address (allow its host with credo webhook allow-host {host})"
    return None


def _literal_address(host: str) -> IP | None:
    """The address a host names literally, in any form a resolver accepts (``127.1``, ``2130706433``, ``0x7f.1``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, but a stack may still route it as IPv4
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): never public


def embedded_ipv4(ip: IP) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, reached through it by a translator or tunnel; None if none.

    IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), IPv4-translated, 6to4 (``2002::/16``),
    NAT64 (``64:ff9b::/96``) and the client of a Teredo address (``2001::/32``).
    """
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in (_IPV4_COMPATIBLE, _IPV4_TRANSLATED, _NAT64)) and int(ip) & 0xFFFFFFFF not in (0, 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refused(address: str) -> bool:
    """Whether a webhook may not be sent to this IP address: loopback, private, link-local, reserved and the like.

    An IPv6 address is refused too when the IPv4 address it carries (:func:`embedded_ipv4`) would be.
    """
    return _refusal(ipaddress.ip_address(address)) is not None


def _refusal(ip: IP) -> str | None:
    """What kind of address ``ip`` is, if a webhook may not go there; None if it may."""
    carried = embedded_ipv4(ip)
    if carried is not None and (kind := _refusal(carried)) is not None:
        return f"IPv6 address carrying a {kind} IPv4"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _LOCAL_NAT64:
        return "local-use NAT64"
    if ip.is_global and not ip.is_multicast:
        return None
    for name in ("loopback", "link_local", "private", "reserved", "multicast"):
        if getattr(ip, f"is_{name}"):
            return name.replace("_", "-")
    return "non-public"
