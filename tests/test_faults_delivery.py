"""The SMTP server and the webhook receivers down for a while: nothing owed is lost, all of it arrives once.

Both receivers are down (nothing listens on their ports) through several
passes on the retry schedule, while more is owed; then they listen again on
the same ports. Time moves by the ``now`` given to each pass, not by waiting.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from credo.domain.delivery import LONGEST_WAIT, retry_after
from credo.services.delivery_pass import SmtpSettings, run_pass
from credo.store.audit import verify
from credo.store.tables import audit_log, deliveries
from tests.apisupport import BANK, PERSON, SOURCE, Api, record

PENALTY = "high-consumption-restriction"
ADDRESS = "subject@example.org"
OUTAGE_PASSES = 5  # failed attempts of the first messages before the receivers come back (fewer than the most)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receivers:
    """An SMTP server and a webhook endpoint on fixed ports, down until :meth:`up`; what arrived, counted by id."""

    def __init__(self) -> None:
        self.smtp_port, self.hook_port = _port(), _port()
        self.emails: Counter[str] = Counter()
        self.webhooks: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self._smtp: Controller | None = None
        self._hooks: ThreadingHTTPServer | None = None

    @property
    def settings(self) -> SmtpSettings:
        return SmtpSettings(host="127.0.0.1", sender="notices@credo.example", port=self.smtp_port, starttls=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hook_port}/hooks/credo"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.emails[str(message_from_bytes(envelope.content)["Message-ID"])] += 1
        return "250 OK"

    def up(self) -> None:
        got = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.webhooks[self.headers["X-Credo-Delivery"]] += 1
                got.bodies.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._hooks = ThreadingHTTPServer(("127.0.0.1", self.hook_port), Hook)
        threading.Thread(target=self._hooks.serve_forever, daemon=True).start()
        self._smtp = Controller(self, hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()

    def down(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
        if self._hooks is not None:
            self._hooks.shutdown()
            self._hooks.server_close()


@pytest.fixture
def receivers() -> Iterator[Receivers]:
    got = Receivers()
    try:
        yield got
    finally:
        got.down()


def _owe_more(api: Api, n: int) -> None:
    """A new record for the subject (an email) and a dispute (an email, and the court's webhook).

    The first dispute is of the judgment that put the restriction on: it is lifted (the bank's webhook).
    """
    api.push(record(f"V-{n}", category="civic.volunteer_service"))
    opened = api.client.post(
        "/v1/me/disputes",
        json={"source": SOURCE, "record_id": "J-0" if n == 1 else f"V-{n}", "statement": "This is not mine."},
        headers=api.headers("subject", PERSON),
    )
    assert opened.status_code == 201, opened.text


def test_receivers_down_for_a_while_lose_nothing_and_get_everything_once(api: Api, receivers: Receivers) -> None:
    operator = api.headers("operator", "olga")
    for kind, party in (("relying", BANK), ("source", SOURCE)):
        assert api.client.put(f"/v1/webhooks/{kind}/{party}", json={"url": receivers.url}, headers=operator).is_success
    assert api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=api.headers("subject", PERSON)).is_success
    api.push(record("J-0"))
    assert api.decide(PENALTY).json()["applies"]  # the bank asked: it is told when the answer changes

    now = dt.datetime.now(dt.UTC)
    for attempt in range(1, OUTAGE_PASSES + 1):  # down: every pass fails, and more is owed meanwhile
        _owe_more(api, attempt)
        report = run_pass(api.store, receivers.settings, now=now)
        assert report.delivered == 0 and report.given_up == 0
        now += retry_after(attempt) or LONGEST_WAIT
    with api.store.begin() as connection:
        owed = connection.execute(sa.select(deliveries.c.channel, deliveries.c.state, deliveries.c.attempts)).all()
    assert {state for _, state, _ in owed} == {"pending"}
    assert max(attempts for *_, attempts in owed) == OUTAGE_PASSES  # the first ones were tried at every pass
    assert {channel for channel, *_ in owed} == {"email", "webhook"}

    receivers.up()
    report = run_pass(api.store, receivers.settings, now=now + LONGEST_WAIT)
    assert report.delivered == len(owed) and report.retrying == report.given_up == 0
    for later in (1, 2):  # nothing is sent twice
        assert run_pass(api.store, receivers.settings, now=now + later * LONGEST_WAIT).delivered == 0

    with api.store.begin() as connection:
        states = Counter(connection.execute(sa.select(deliveries.c.channel, deliveries.c.state)).all())
        told = connection.execute(
            sa.select(sa.func.count()).where(
                audit_log.c.action.in_(("notice.email", "dispute.notify", "decision.notify"))
            )
        ).scalar_one()
        assert verify(connection).intact
    assert states == Counter({("email", "delivered"): sum(receivers.emails.values()),
                              ("webhook", "delivered"): sum(receivers.webhooks.values())})  # fmt: skip
    assert set(receivers.emails.values()) == set(receivers.webhooks.values()) == {1}  # each exactly once
    notices = api.client.get("/v1/me/notices", headers=api.headers("subject", PERSON)).json()["notices"]
    assert len(receivers.emails) == len(notices)  # every notice, by email
    kinds = Counter(body["type"] for body in receivers.bodies)
    assert (kinds["dispute.opened"], kinds["decision.changed"]) == (OUTAGE_PASSES, 1)
    assert told == len(owed)
