"""One webhook POST to the address that was checked (docs/due-process.md, "Where webhooks may go").

The host is resolved once; every address it resolves to must be public
(:func:`credo.domain.delivery.address_refused`) unless the deployment allows
the host; then the connection goes to one of those very addresses, never
through a second look-up, so a DNS answer that changes in between (DNS
rebinding) cannot send a message to an internal service. The host name
still goes in the ``Host`` header and, over https, in the TLS SNI, and the
certificate is verified against it. No redirect is followed.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.parse
from collections.abc import Callable, Collection, Mapping

from credo.domain.delivery import address_refused, host_key
from credo.errors import DeliveryError

__all__ = ["DeliveryError", "Resolver", "post", "resolve"]

Resolver = Callable[[str, int], list[str]]  # a host and port to the addresses to connect to


def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` for TCP, in the resolver's order, each once."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


def checked_addresses(host: str, port: int, allowed: Collection[str], resolver: Resolver) -> list[str]:
    """Resolve ``host`` once and check every address; refused as a whole if any is not public (unless allowed)."""
    addresses = resolver(host, port)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    if host_key(host) not in allowed and any(address_refused(a) for a in addresses):
        raise DeliveryError(
            "refused: the receiver's host resolves to a non-public address; if it is the deployment's own "
            "receiver, allow its host with `credo webhook allow-host` (kept in the store, so every process sees it)",
            permanent=True,
        )
    return addresses


class _Pinned(http.client.HTTPConnection):
    """Plain HTTP to one given address; ``Host`` is still the name (allowed hosts only: url_problem)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTls(http.client.HTTPSConnection):
    """HTTPS to one given address; SNI and certificate verification against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address
        self.tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        try:
            self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allowed: Collection[str],
    resolver: Resolver = resolve,
    tls: ssl.SSLContext | None = None,
) -> None:
    """POST ``body`` to ``url``, connecting only to the addresses checked; a failure raises."""
    parts = urllib.parse.urlsplit(url)
    host, secure = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    last: OSError | None = None
    for address in checked_addresses(host, port, allowed, resolver):
        connection: http.client.HTTPConnection = (
            _PinnedTls(host, port, address, timeout, tls or ssl.create_default_context())
            if secure
            else _Pinned(host, port, address, timeout)
        )
        try:
            connection.connect()
        except OSError as exc:
            if isinstance(exc, ssl.SSLError):
                raise  # the address answered: its certificate is the failure, not the address
            last = exc
            connection.close()
            continue
        try:
            connection.request("POST", target, body=body, headers=dict(headers))
            status = connection.getresponse().status
        finally:
            connection.close()
        if not 200 <= status < 300:
            moved = " (redirects are not followed)" if 300 <= status < 400 else ""
            raise DeliveryError(f"HTTP status {status} from the receiver{moved}")
        return
    assert last is not None  # at least one address was tried
    raise last
