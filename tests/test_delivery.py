"""Delivery of notices by email (a real SMTP server, started here) and signed webhooks (a real HTTP server).

Time moves by the ``now`` given to each pass, so retries are tested without waiting.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from credo.adapters.webhook_http import checked_addresses, resolve
from credo.cli.app import app as cli
from credo.domain.delivery import LONGEST_WAIT, MAX_ATTEMPTS, retry_after, sign, url_problem, verify
from credo.services.delivery_pass import DeliveryError, SmtpSettings, run_pass
from credo.store.audit import verify as verify_chain
from credo.store.bootstrap import init_store, open_store
from credo.store.delivery_claims import LEASE, claim_due, mark_delivered, mark_failed
from credo.store.delivery_enqueue import PassWindow, committed_marks, enqueue
from credo.store.errors import StoreError
from credo.store.keys import KeyRing
from credo.store.tables import audit_log, deliveries
from tests.apisupport import BANK, OTHER_PERSON, PERSON, SOURCE, TODAY, Api, record
from tests.conftest import Backend
from tests.tlspeers import serving

PENALTY = "high-consumption-restriction"
ADDRESS = "subject@example.org"


# -- the schedule and the signature (pure) ------------------------------------------------------


def test_retries_double_from_thirty_seconds_up_to_six_hours_then_stop() -> None:
    waits = [retry_after(n) for n in range(1, MAX_ATTEMPTS + 1)]
    assert waits[:4] == [dt.timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert all(w is not None and w <= LONGEST_WAIT for w in waits[:-1])
    assert waits[-2] == LONGEST_WAIT and waits[-1] is None
    with pytest.raises(ValueError, match="from 1"):
        retry_after(0)


def test_a_signature_verifies_only_for_its_body_secret_and_time() -> None:
    body = b'{"type": "decision.changed"}'
    header = sign("whsec_one", 1_800_000_000, body)
    assert verify("whsec_one", header, body, now=1_800_000_060)
    assert not verify("whsec_two", header, body, now=1_800_000_060)  # another party's secret
    assert not verify("whsec_one", header, body + b" ", now=1_800_000_060)  # the body changed on the way
    assert not verify("whsec_one", header, body, now=1_800_000_000 + 301)  # replayed later than 5 minutes
    assert not verify("whsec_one", "v1=abc", body, now=1_800_000_000)  # no timestamp
    assert not verify("whsec_one", "garbage", body, now=1_800_000_000)


# -- local servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSettings, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        # A relay on this machine: no STARTTLS (aiosmtpd offers none without a certificate).
        local = SmtpSettings(host="127.0.0.1", sender="notices@credo.example", port=controller.port, starttls=False)
        yield local, mailbox
    finally:
        controller.stop()


@dataclass
class Receiver:
    """A webhook receiver: answers with the next status in ``statuses`` (then 200), keeps every request."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.requests.append((dict(self.headers.items()), body))
            self.send_response(got.statuses.pop(0) if got.statuses else 200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/credo"
    with serving(server):
        yield got


def later(minutes: float = 0) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)


def states(api: Api) -> list[tuple[str, str, str, int]]:
    with api.store.begin() as connection:
        rows = connection.execute(
            sa.select(
                deliveries.c.channel, deliveries.c.event_type, deliveries.c.state, deliveries.c.attempts
            ).order_by(deliveries.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def set_webhook(api: Api, party_kind: str, party_id: str, url: str) -> str:
    answer = api.client.put(
        f"/v1/webhooks/{party_kind}/{party_id}", json={"url": url}, headers=api.headers("operator", "olga")
    )
    assert answer.status_code == 200, answer.text
    secret: str = answer.json()["secret"]
    return secret


def open_dispute(api: Api, record_id: str) -> dict[str, Any]:
    answer = api.client.post(
        "/v1/me/disputes",
        json={"source": SOURCE, "record_id": record_id, "statement": "I paid that debt in full."},
        headers=api.headers("subject", PERSON),
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


# -- email -------------------------------------------------------------------------------------


def test_a_subject_with_an_address_gets_each_notice_once_by_email(api: Api, smtp: tuple[SmtpSettings, Mailbox]) -> None:
    settings, mailbox = smtp
    me = api.headers("subject", PERSON)
    assert api.client.get("/v1/me/contact", headers=me).status_code == 404  # no address given yet
    bad = api.client.put("/v1/me/contact", json={"email": "not an address"}, headers=me)
    assert (bad.status_code, bad.json()["code"]) == (422, "unprocessable")
    for unsendable in ("me@exämple.org", "<script>@x.org", "a b@x.org"):  # SMTP could not carry these
        refused = api.client.put("/v1/me/contact", json={"email": unsendable}, headers=me)
        assert refused.status_code == 422, unsendable
    # An address may come before any record: the first one's notice is then sent.
    assert api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=me).status_code == 200
    api.push(record("J-0", subject=OTHER_PERSON))  # someone else: never mailed to me
    api.push(record("J-1"))
    bad = api.client.put("/v1/me/contact", json={"email": "not an address"}, headers=me)
    assert (bad.status_code, bad.json()["code"]) == (422, "unprocessable")
    given = api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=me)
    assert given.status_code == 200, given.text
    assert api.client.get("/v1/me/contact", headers=me).json() == {"email": ADDRESS, "since": TODAY}

    report = run_pass(api.store, settings)
    notices = api.client.get("/v1/me/notices", headers=me).json()["notices"]
    assert report.delivered == report.enqueued.emails == len(notices) > 0
    assert {m["To"] for m in mailbox.messages} == {ADDRESS}
    record_mail = next(m for m in mailbox.messages if "record-" in m.get_payload())
    text = record_mail.get_payload()
    assert "A new record from court" in text and "J-1" in text and "POST /v1/me/disputes" in text
    assert "DELETE /v1/me/contact" in text  # how to stop them

    again = run_pass(api.store, settings)  # nothing new: nothing sent twice
    assert (again.enqueued.total, again.delivered) == (0, 0)
    assert len(mailbox.messages) == len(notices)

    open_dispute(api, "J-1")  # a new step: one more email, the dispute's
    third = run_pass(api.store, settings)
    assert third.delivered >= 1
    assert any("Your dispute of court/J-1 is open" in m.get_payload() for m in mailbox.messages)

    with api.store.begin() as connection:  # each email is in the audit trail, naming the subject by surrogate id
        actions = connection.execute(sa.select(audit_log.c.action).where(audit_log.c.action == "notice.email")).all()
        assert len(actions) == len(mailbox.messages)
        assert verify_chain(connection).intact
    seen = api.client.get("/v1/me/report", headers=me).json()["subjects"][0]["accesses"]
    assert any(a["action"] == "notice.email" for a in seen)

    assert api.client.delete("/v1/me/contact", headers=me).status_code == 204
    assert api.client.get("/v1/me/contact", headers=me).status_code == 404
    api.push(record("J-2"))
    assert run_pass(api.store, settings).enqueued.emails == 0  # no address, no email


def test_an_email_that_fails_is_retried_later_and_survives_a_restart(
    api: Api, backend: Backend, smtp: tuple[SmtpSettings, Mailbox]
) -> None:
    settings, mailbox = smtp
    api.push(record("J-1"))
    assert api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=api.headers("subject", PERSON)).is_success
    down = SmtpSettings(host="127.0.0.1", sender=settings.sender, port=free_port(), starttls=False)  # nobody there
    failed = run_pass(api.store, down, now=later())
    assert failed.delivered == 0 and failed.retrying == failed.enqueued.emails > 0
    with api.store.begin() as connection:
        errors = set(connection.execute(sa.select(deliveries.c.last_error)).scalars())
    # What went wrong in plain words, never the address.
    assert errors == {"connection refused: nothing accepts connections at the mail server's address and port"}

    soon = run_pass(api.store, settings, now=later(0.2))  # before the 30 s backoff: not tried again
    assert (soon.delivered, mailbox.messages) == (0, [])

    # A restart: a new process opens the same store; what is owed is still owed.
    reopened = open_store(backend.url, environ={**backend.environ, "CREDO_TODAY": TODAY})
    try:
        done = run_pass(reopened, settings, now=later(1))
    finally:
        reopened.engine.dispose()
    assert done.delivered == failed.enqueued.emails == len(mailbox.messages)
    assert {(c, s, n) for c, _, s, n in states(api)} == {("email", "delivered", 2)}


def test_without_an_smtp_server_emails_wait_and_webhooks_still_go(api: Api, receiver: Receiver) -> None:
    api.push(record("J-1"))
    api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=api.headers("subject", PERSON))
    set_webhook(api, "source", SOURCE, receiver.url)
    open_dispute(api, "J-1")
    report = run_pass(api.store, None)
    assert report.emails_waiting and report.delivered == 1  # the source's webhook
    assert {(c, s) for c, _, s, _ in states(api)} == {("email", "pending"), ("webhook", "delivered")}


# -- webhooks ----------------------------------------------------------------------------------


def test_a_relying_party_is_told_when_an_answer_it_got_changes_after_a_retry(api: Api, receiver: Receiver) -> None:
    api.push(record("J-1"))
    first = api.decide(PENALTY).json()
    assert first["applies"]
    secret = set_webhook(api, "relying", BANK, receiver.url)
    assert secret.startswith("whsec_")
    listed = api.client.get("/v1/webhooks", headers=api.headers("operator", "olga")).json()
    assert [(w["party_id"], w["url"]) for w in listed] == [(BANK, receiver.url)] and "secret" not in listed[0]

    open_dispute(api, "J-1")  # the record is suspended: the restriction is lifted
    receiver.statuses = [500]  # the bank's endpoint fails once
    now = later()
    failed = run_pass(api.store, None, now=now)
    assert (failed.enqueued.to_relying, failed.delivered, failed.retrying) == (1, 0, 1)
    answer = api.client.get("/v1/deliveries", headers=api.headers("operator", "olga")).json()
    assert answer["counts"] == {"webhook": {"pending": 1}}
    assert answer["deliveries"][0]["last_error"] == "HTTP status 500 from the receiver"
    assert run_pass(api.store, None, now=now + dt.timedelta(seconds=29)).delivered == 0  # backoff not over
    delivered = run_pass(api.store, None, now=now + dt.timedelta(seconds=31))
    assert delivered.delivered == 1

    assert len(receiver.requests) == 2
    (headers1, body1), (headers2, body2) = receiver.requests
    assert headers1["X-Credo-Delivery"] == headers2["X-Credo-Delivery"] and body1 == body2  # the same message
    sent_at = int((now + dt.timedelta(seconds=31)).timestamp())
    assert verify(secret, headers2["X-Credo-Signature"], body2, now=sent_at)
    assert not verify("whsec_other", headers2["X-Credo-Signature"], body2, now=sent_at)
    event = json.loads(body2)
    assert event["type"] == "decision.changed" and headers2["X-Credo-Event"] == "decision.changed"
    assert (event["measure"], event["applies"], event["decision_ids"]) == (PENALTY, False, [first["decision_id"]])
    assert PERSON not in body2.decode()  # the bank maps its decision id to its customer; no identifier is sent
    with api.store.begin() as connection:
        told = connection.execute(sa.select(audit_log).where(audit_log.c.action == "decision.notify")).one()
    assert told.subject_id is not None and told.detail["relying"] == BANK  # the subject sees who was told


def test_a_party_that_never_asked_about_the_subject_is_told_nothing(api: Api, receiver: Receiver) -> None:
    api.push(record("J-1"))
    set_webhook(api, "relying", BANK, receiver.url)  # registered for the measure, but never asked
    open_dispute(api, "J-1")
    report = run_pass(api.store, None)
    assert (report.enqueued.total, receiver.requests) == (0, [])


def test_the_source_is_told_of_a_dispute_and_of_its_decision(api: Api, receiver: Receiver) -> None:
    api.push(record("J-1"))
    secret = set_webhook(api, "source", SOURCE, receiver.url)
    dispute = open_dispute(api, "J-1")
    assert run_pass(api.store, None).delivered == 1
    decided = api.client.post(
        f"/v1/disputes/{dispute['dispute_id']}/decision",
        json={"outcome": "removed", "reasons": "The court confirms payment."},
        headers=api.headers("reviewer", "rita"),
    )
    assert decided.status_code == 200, decided.text
    assert run_pass(api.store, None).delivered == 1
    bodies = [json.loads(body) for _, body in receiver.requests]
    assert [b["type"] for b in bodies] == ["dispute.opened", "dispute.decided"]
    assert bodies[0]["statement"] == "I paid that debt in full." and bodies[0]["record_id"] == "J-1"
    assert (bodies[1]["outcome"], bodies[1]["reasons"]) == ("removed", "The court confirms payment.")
    for headers, body in receiver.requests:
        assert verify(secret, headers["X-Credo-Signature"], body, now=int(dt.datetime.now(dt.UTC).timestamp()))
    with api.store.begin() as connection:  # delivered: the statement is no longer kept in the ledger
        ring = api.store.keys(connection)
        kept = [json.loads(ring.decrypt(p)) for p in connection.execute(sa.select(deliveries.c.payload_enc)).scalars()]
    assert [k["message"] for k in kept] == [None, None] and all(isinstance(k["subject_id"], int) for k in kept)


def test_credo_gives_up_after_the_last_attempt_and_an_operator_can_retry(api: Api, receiver: Receiver) -> None:
    api.push(record("J-1"))
    set_webhook(api, "source", SOURCE, receiver.url)
    open_dispute(api, "J-1")
    receiver.statuses = [503] * MAX_ATTEMPTS
    now = later()
    for _ in range(MAX_ATTEMPTS):
        report = run_pass(api.store, None, now=now)
        now += LONGEST_WAIT
    assert report.given_up == 1
    assert states(api) == [("webhook", "dispute.opened", "failed", MAX_ATTEMPTS)]
    failed = api.client.get("/v1/deliveries", params={"state": "failed"}, headers=api.headers("auditor", "ann"))
    delivery_id = failed.json()["deliveries"][0]["id"]
    retried = api.client.post(f"/v1/deliveries/{delivery_id}/retry", headers=api.headers("operator", "olga"))
    assert retried.status_code == 200, retried.text
    assert run_pass(api.store, None, now=now).delivered == 1
    missing = api.client.post(f"/v1/deliveries/{delivery_id}/retry", headers=api.headers("operator", "olga"))
    assert missing.status_code == 409  # delivered now: only a failed one is retried
    assert api.client.post("/v1/deliveries/999/retry", headers=api.headers("operator", "olga")).status_code == 404


def test_webhooks_need_a_registered_party_and_an_http_url(api: Api) -> None:
    operator = api.headers("operator", "olga")
    unknown = api.client.put("/v1/webhooks/relying/no-such-bank", json={"url": "https://x.example/h"}, headers=operator)
    assert unknown.status_code == 404
    bad = api.client.put(f"/v1/webhooks/relying/{BANK}", json={"url": "ftp://x.example/hooks"}, headers=operator)
    assert (bad.status_code, bad.json()["code"]) == (422, "unprocessable")
    kind = api.client.put(f"/v1/webhooks/bank/{BANK}", json={"url": "https://x.example/h"}, headers=operator)
    assert kind.status_code == 422
    assert api.client.delete(f"/v1/webhooks/relying/{BANK}", headers=operator).status_code == 404


def test_smtp_settings_come_from_the_environment_with_clear_errors() -> None:
    assert SmtpSettings.from_env({}) is None
    got = SmtpSettings.from_env({"CREDO_SMTP_HOST": "mail", "CREDO_SMTP_FROM": "n@c.example", "CREDO_SMTP_PORT": "587"})
    assert got == SmtpSettings("mail", "n@c.example", 587)
    with pytest.raises(StoreError, match="CREDO_SMTP_FROM"):
        SmtpSettings.from_env({"CREDO_SMTP_HOST": "mail"})
    with pytest.raises(StoreError, match="never sent in clear text"):
        SmtpSettings.from_env(
            {
                "CREDO_SMTP_HOST": "mail",
                "CREDO_SMTP_FROM": "n@c.example",
                "CREDO_SMTP_USER": "u",
                "CREDO_SMTP_STARTTLS": "false",
            }
        )
    with pytest.raises(StoreError, match="CREDO_SMTP_PORT"):
        SmtpSettings.from_env({"CREDO_SMTP_HOST": "mail", "CREDO_SMTP_FROM": "n@c.example", "CREDO_SMTP_PORT": "x"})


def test_the_command_line_sets_webhooks_delivers_and_lists(api: Api, backend: Backend, receiver: Receiver) -> None:
    env = {**backend.environ, "CREDO_TODAY": TODAY, "CREDO_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
    runner = CliRunner()
    db = ["--db", backend.url]
    api.push(record("J-1"))
    made = runner.invoke(cli, [*db, "webhook", "set", "source", SOURCE, receiver.url], env=env)
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    assert receiver.url in runner.invoke(cli, [*db, "webhook", "list"], env=env).stdout
    open_dispute(api, "J-1")
    sent = runner.invoke(cli, [*db, "deliver", "--json"], env=env)
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.stdout)["delivered"] == 1
    listed = runner.invoke(cli, [*db, "delivery", "list", "--json"], env=env)
    assert json.loads(listed.stdout)["counts"] == {"webhook": {"delivered": 1}}
    wrong = runner.invoke(cli, [*db, "webhook", "set", "bank", BANK, receiver.url], env=env)
    assert wrong.exit_code == 1 and "party kind must be one of relying, source" in wrong.output
    with api.store.begin() as connection:
        actions = set(connection.execute(sa.select(audit_log.c.action)).scalars())
    assert {"webhook.set", "dispute.notify"} <= actions


def test_the_server_sends_what_is_owed_in_the_background(api: Api, receiver: Receiver) -> None:
    from fastapi.testclient import TestClient

    from credo.api.app import create_app

    api.push(record("J-1"))
    set_webhook(api, "source", SOURCE, receiver.url)
    open_dispute(api, "J-1")
    with TestClient(create_app(api.store, deliver_every=0.05)):
        deadline = time.monotonic() + 30  # a bound on waiting, not a speed requirement
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [json.loads(body)["type"] for _, body in receiver.requests] == ["dispute.opened"]


def test_an_address_given_after_a_pass_still_gets_the_days_notices(
    api: Api, smtp: tuple[SmtpSettings, Mailbox]
) -> None:
    settings, mailbox = smtp
    api.push(record("J-1"))
    assert run_pass(api.store, settings).enqueued.emails == 0  # nobody gave an address yet
    api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=api.headers("subject", PERSON))
    report = run_pass(api.store, settings)  # nothing new happened to the subject, but its address is new
    assert report.delivered == report.enqueued.emails > 0
    assert any("J-1" in m.get_payload() for m in mailbox.messages)


def test_a_redirect_is_a_failed_attempt_not_a_delivery(api: Api, receiver: Receiver) -> None:
    api.push(record("J-1"))
    set_webhook(api, "source", SOURCE, receiver.url)
    open_dispute(api, "J-1")
    receiver.statuses = [301]
    report = run_pass(api.store, None)
    assert (report.delivered, report.retrying) == (0, 1)
    with api.store.begin() as connection:
        assert (
            connection.execute(sa.select(deliveries.c.last_error)).scalar_one()
            == "HTTP status 301 from the receiver (redirects are not followed)"
        )


def test_a_sender_whose_lease_ran_out_cannot_undo_a_delivery(api: Api, receiver: Receiver) -> None:
    api.push(record("J-1"))
    set_webhook(api, "source", SOURCE, receiver.url)
    open_dispute(api, "J-1")
    now = later()
    with api.store.begin() as connection:
        ring = api.store.keys(connection)
        committed = committed_marks(connection)
    with api.store.begin() as connection:
        enqueue(connection, ring, lambda: None, PassWindow(dt.date.fromisoformat(TODAY), now, committed))
        (slow,) = claim_due(connection, ring, now, now)  # sender A takes it, then stalls past its lease
    later_on = now + LEASE + dt.timedelta(seconds=1)
    with api.store.begin() as connection:
        (fast,) = claim_due(connection, ring, later_on, later_on)  # sender B takes it over and delivers it
        mark_delivered(connection, ring, fast, later_on)
    with api.store.begin() as connection:
        assert mark_failed(connection, slow, "HTTP 500", later_on) == "lost"  # A's late failure changes nothing
    assert states(api) == [("webhook", "dispute.opened", "delivered", 1)]


def test_a_pass_that_dies_before_recording_sends_the_same_messages_again_after_the_lease(
    api: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.push(record("J-1"), record("J-2"))
    set_webhook(api, "source", SOURCE, receiver.url)
    for record_id in ("J-1", "J-2"):
        open_dispute(api, record_id)
    now = later()

    def dies(*_args: object) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(
        "credo.services.delivery_pass.append", dies
    )  # after sending both, while recording the batch's outcomes
    with pytest.raises(RuntimeError, match="died"):
        run_pass(api.store, None, now=now)
    monkeypatch.undo()
    first = sorted(headers["X-Credo-Delivery"] for headers, _ in receiver.requests)
    assert len(first) == 2
    assert [s[2] for s in states(api)] == ["pending", "pending"]  # nothing recorded: both still owed
    assert run_pass(api.store, None, now=now + dt.timedelta(minutes=1)).delivered == 0  # leased meanwhile
    report = run_pass(api.store, None, now=now + LEASE + dt.timedelta(seconds=1))
    assert report.delivered == 2
    again = sorted(headers["X-Credo-Delivery"] for headers, _ in receiver.requests[2:])
    assert again == first  # the same ids: a receiver drops the repeats
    assert [s[2:] for s in states(api)] == [("delivered", 1), ("delivered", 1)]


def test_two_passes_at_once_owe_and_send_each_message_once(api: Api, receiver: Receiver) -> None:
    api.push(record("J-1"), record("J-2"))
    set_webhook(api, "source", SOURCE, receiver.url)
    for record_id in ("J-1", "J-2"):
        open_dispute(api, record_id)
    errors: list[BaseException] = []

    def one_pass() -> None:
        try:
            run_pass(api.store, None)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent = [headers["X-Credo-Delivery"] for headers, _ in receiver.requests]
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 2


def test_a_relying_party_that_asked_after_the_change_is_not_told_of_it(api: Api, receiver: Receiver) -> None:
    set_webhook(api, "relying", BANK, receiver.url)
    api.push(record("J-1"))  # the restriction applies from here on
    assert api.decide(PENALTY).json()["applies"]  # asked after the change: the answer already says it
    assert run_pass(api.store, None).enqueued.to_relying == 0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:abc/hook", "invalid port"),
        ("https://example.org/a b", "spaces or control characters"),
        ("ftp://example.org/hook", "https:// address"),
        ("http://example.org/hook", "must be https://"),
        ("https://localhost/hook", "this machine"),
        ("https://10.1.2.3/hook", "private address"),
        ("https://169.254.169.254/latest", "link-local address"),
        ("https://[::1]/hook", "loopback address"),
        ("https://127.1/hook", "loopback address"),  # forms a resolver reads as 127.0.0.1
        ("https://2130706433/hook", "loopback address"),
        ("https://0x7f000001/hook", "loopback address"),
        ("https://LOCALHOST./hook", "this machine"),
        ("https://user:pw@example.org/hook", "user name or password"),
    ],
)
def test_webhook_urls_must_be_public_https(url: str, problem: str) -> None:
    assert problem in (url_problem(url) or "")
    assert url_problem("https://bank.example/hooks/credo") is None
    assert url_problem("http://10.1.2.3:8080/hook", allowed_hosts={"10.1.2.3"}) is None  # a deployment's own


def test_a_name_that_resolves_to_a_private_address_is_refused_when_sending() -> None:
    with pytest.raises(DeliveryError, match="non-public address") as refused:
        checked_addresses("localhost", 443, frozenset(), resolve)
    assert refused.value.permanent  # given up at once: trying again cannot help
    assert checked_addresses("localhost", 443, frozenset({"localhost"}), resolve)  # allowed by the deployment


def test_committed_marks_give_up_while_an_insert_is_under_way_on_postgresql(backend: Backend) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: what a reader sees is final")
    store = backend.open()
    init_store(store)
    try:
        with store.engine.connect() as holder:
            holder.begin()
            holder.exec_driver_sql("LOCK TABLE records IN ROW EXCLUSIVE MODE")  # as an ingest inserting
            with store.begin() as connection:
                assert committed_marks(connection) is None
            holder.rollback()
        with store.begin() as connection:
            assert committed_marks(connection) == (0, 0)
    finally:
        store.engine.dispose()


def test_a_mail_server_without_starttls_is_said_in_plain_words(api: Api, smtp: tuple[SmtpSettings, Mailbox]) -> None:
    settings, mailbox = smtp
    api.push(record("J-1"))
    assert api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=api.headers("subject", PERSON)).is_success
    insisting = SmtpSettings(host=settings.host, sender=settings.sender, port=settings.port, starttls=True)
    report = run_pass(api.store, insisting)
    assert report.delivered == 0 and report.retrying > 0 and mailbox.messages == []  # never sent in clear text
    listed = api.client.get("/v1/deliveries", headers=api.headers("auditor", "ann")).json()["deliveries"]
    errors = {d["last_error"] for d in listed}
    assert len(errors) == 1 and errors.pop().startswith("the mail server does not offer STARTTLS")


def test_a_pass_during_a_long_insert_still_sends_on_postgresql(api: Api, backend: Backend, receiver: Receiver) -> None:
    if backend.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: what a reader sees is final")
    api.push(record("J-1"))
    set_webhook(api, "source", SOURCE, receiver.url)
    open_dispute(api, "J-1")
    with api.store.engine.connect() as holder:
        holder.begin()
        holder.exec_driver_sql("LOCK TABLE records IN ROW EXCLUSIVE MODE")  # as an ingest inserting
        report = run_pass(api.store, None)  # the marks cannot be told now; disputes are still owed and sent
        holder.rollback()
    assert report.delivered == 1


def test_a_pass_with_nothing_new_seals_and_writes_nothing_owed(
    api: Api, receiver: Receiver, smtp: tuple[SmtpSettings, Mailbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass looks again at the last week's disputes and new addresses; what is owed already costs a read.

    It used to seal every such message again and try to insert it under the write lock, every pass: in the
    soak that grew with every dispute opened until pushes waited seconds behind the pass.
    """
    settings, _ = smtp
    api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=api.headers("subject", PERSON))
    api.push(record("J-1"), record("J-2"))
    set_webhook(api, "source", SOURCE, receiver.url)
    for record_id in ("J-1", "J-2"):
        open_dispute(api, record_id)
    first = run_pass(api.store, settings)
    assert first.enqueued.emails > 0 and first.enqueued.to_sources == 2
    sealed: list[bytes] = []
    real_encrypt = KeyRing.encrypt
    monkeypatch.setattr(KeyRing, "encrypt", lambda self, data: sealed.append(data) or real_encrypt(self, data))
    again = run_pass(api.store, settings)
    assert (again.enqueued.total, again.delivered) == (0, 0)
    assert sealed == []  # nothing owed again was sealed again
    assert len(states(api)) == first.enqueued.total  # and each message is owed once
