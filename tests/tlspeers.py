"""Peers on this machine for the webhook tests: a TLS receiver with its own certificate, and a name service.

``FakeNet`` stands for DNS and routing: a name answers what the test says (a different answer on a later
look-up, as DNS rebinding does), and a connection to a made-up public address reaches a local port.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["FakeNet", "Listener", "TlsReceiver", "listener", "self_signed", "serving", "tls_receiver", "trusting"]


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for ``name`` (its own issuer) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@dataclass
class TlsReceiver:
    """An https webhook receiver: keeps each request's headers and body, and the server name each client asked."""

    port: int = 0
    cert: Path = Path()
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)


@contextmanager
def tls_receiver(directory: Path, name: str) -> Iterator[TlsReceiver]:
    got = TlsReceiver()
    got.cert, key = self_signed(directory, name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.requests.append((dict(self.headers.items()), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(got.cert, key)

    def remember(_sock: Any, server_name: str | None, _context: Any) -> None:
        got.server_names.append(server_name)

    context.sni_callback = remember
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    got.port = int(server.server_address[1])
    with serving(server):
        yield got


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """Serve in a thread for the time of the block, then stop and close."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Listener:
    """A bare TCP port that counts the connections made to it (an internal service a rebinding would reach)."""

    port: int = 0
    connections: int = 0


@contextmanager
def listener() -> Iterator[Listener]:
    got = Listener()
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    got.port = int(server.getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            got.connections += 1
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        stop.set()
        thread.join()
        server.close()


def trusting(monkeypatch: pytest.MonkeyPatch, cert: Path) -> None:
    """Make the default TLS context trust ``cert`` (as a deployment trusts its CA), and only it."""
    real = ssl.create_default_context

    def context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made = real(*args, **{**kwargs, "cafile": str(cert)})
        return made

    monkeypatch.setattr(ssl, "create_default_context", context)


@dataclass
class FakeNet:
    """Names answer in turn from ``answers`` (the last answer repeats); ``routes`` send an address to a local port."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    routes: dict[str, int] = field(default_factory=dict)
    lookups: dict[str, int] = field(default_factory=dict)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_lookup, real_connect = socket.getaddrinfo, socket.create_connection

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host not in self.answers:
                return real_lookup(host, port, *args, **kwargs)
            turn = self.lookups.get(host, 0)
            self.lookups[host] = turn + 1
            answer = self.answers[host][min(turn, len(self.answers[host]) - 1)]
            return [
                (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))
                for address in answer
            ]

        def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            host = address[0]
            if host in self.routes:
                return real_connect(("127.0.0.1", self.routes[host]), *args, **kwargs)
            return real_connect(address, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", create_connection)
