"""Local receivers for the soak: an SMTP server (aiosmtpd) and a webhook endpoint, counting what arrives.

They run in a process of their own (``python -m bench.receivers``), so that
a delivery pass's burst takes nothing from the load generator: it prints one
JSON line with its ports, counts every message by its id (``X-Credo-Delivery``
for a webhook, the Message-ID of an email), and when its standard input
closes prints what it got as one JSON line and exits.
:func:`receivers` runs it and gives the ports, then the counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from bench.api import free_port

__all__ = ["Received", "receivers"]


@dataclass
class Received:
    smtp_port: int
    webhook_url: str
    counts: dict[str, int] = field(default_factory=dict)  # emails, webhooks, repeats: once the receivers stopped


@contextmanager
def receivers() -> Iterator[Received]:
    """The receivers' process, running until the block ends; then ``counts`` says what arrived."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.receivers"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        ports = json.loads(child.stdout.readline())
        got = Received(ports["smtp"], f"http://127.0.0.1:{ports['webhooks']}/hooks/credo")
        yield got
    finally:
        child.stdin.close()
        line = child.stdout.readline()
        child.stdout.close()
        child.wait(timeout=30)
    got.counts = json.loads(line)


class _Mailbox:
    def __init__(self, emails: Counter[str], lock: threading.Lock) -> None:
        self.emails, self.lock = emails, lock

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        with self.lock:
            self.emails[str(message.get("Message-ID"))] += 1
        return "250 OK"


def main() -> None:
    emails: Counter[str] = Counter()
    webhooks: Counter[str] = Counter()
    lock = threading.Lock()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                webhooks[self.headers.get("X-Credo-Delivery", "?")] += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    hooks = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    smtp = Controller(_Mailbox(emails, lock), hostname="127.0.0.1", port=free_port())
    smtp.start()
    print(json.dumps({"smtp": smtp.port, "webhooks": hooks.server_address[1]}), flush=True)
    sys.stdin.read()  # until the soak closes it
    smtp.stop()
    hooks.shutdown()
    with lock:
        repeats = sum(n - 1 for c in (emails, webhooks) for n in c.values())
        print(json.dumps({"emails": sum(emails.values()), "webhooks": sum(webhooks.values()), "repeats": repeats}))


if __name__ == "__main__":
    main()
