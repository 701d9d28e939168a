"""Webhooks sent to the address that was checked, secrets replaced with an overlap, messages cancelled, allowed
hosts kept in the store, and failures said in plain words (docs/due-process.md, "Delivery"; ADR 0013).
"""

from __future__ import annotations

import datetime as dt
import json
import smtplib
import socket
import ssl
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credo.adapters.delivery_reasons import plain_reason
from credo.cli.app import app as cli
from credo.domain.delivery import overlap_of, verify
from credo.services.delivery_pass import run_pass
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log, deliveries
from tests.apisupport import PERSON, SOURCE, TODAY, Api, api_over, record
from tests.conftest import Backend
from tests.test_delivery import ADDRESS, Receiver, later, open_dispute, receiver, set_webhook
from tests.tlspeers import FakeNet, listener, tls_receiver, trusting

__all__ = ["receiver"]  # a fixture, shared with test_delivery (pytest finds it here)

PUBLIC = "93.184.215.14"  # a public address the fake network routes to a receiver on this machine


def last_errors(api: Api) -> list[tuple[str, str | None]]:
    with api.store.begin() as connection:
        rows = connection.execute(sa.select(deliveries.c.state, deliveries.c.last_error).order_by(deliveries.c.id))
        return [(r.state, r.last_error) for r in rows]


# -- the address checked is the address connected to -------------------------------------------------------


def test_a_dns_answer_that_changes_after_the_check_is_not_followed(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with tls_receiver(tmp_path, "hooks.test") as good, listener() as internal:
        trusting(monkeypatch, good.cert)
        # The first answer is public; a second look-up would answer the machine's own address (DNS rebinding).
        net = FakeNet(answers={"hooks.test": [[PUBLIC], ["127.0.0.1"]]}, routes={PUBLIC: good.port})
        net.install(monkeypatch)
        api.push(record("J-1"))
        url = f"https://hooks.test:{internal.port}/hook"
        set_webhook(api, "source", SOURCE, url)
        open_dispute(api, "J-1")
        report = run_pass(api.store, None)
    assert report.delivered == 1, last_errors(api)
    assert internal.connections == 0  # the internal service was never reached
    assert net.lookups["hooks.test"] == 1  # resolved once
    # The name is kept where it belongs: TLS server name (and the certificate checked against it), Host header.
    assert good.server_names == ["hooks.test"]
    ((headers, body),) = good.requests
    assert headers["Host"] == f"hooks.test:{internal.port}" and json.loads(body)["type"] == "dispute.opened"


def test_every_address_a_name_resolves_to_is_checked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    with listener() as internal:
        net = FakeNet(answers={"hooks.test": [[PUBLIC, "10.0.0.5"]]}, routes={PUBLIC: internal.port})
        net.install(monkeypatch)
        api.push(record("J-1"))
        set_webhook(api, "source", SOURCE, "https://hooks.test/hook")
        open_dispute(api, "J-1")
        report = run_pass(api.store, None)
    assert (report.delivered, report.given_up, internal.connections) == (0, 1, 0)
    ((state, error),) = last_errors(api)
    assert state == "failed" and "non-public address" in (error or "") and "credo webhook allow-host" in (error or "")


def test_the_certificate_is_verified_against_the_host_name(
    api: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with tls_receiver(tmp_path, "other.test") as other:
        trusting(monkeypatch, other.cert)
        FakeNet(answers={"hooks.test": [[PUBLIC]]}, routes={PUBLIC: other.port}).install(monkeypatch)
        api.push(record("J-1"))
        set_webhook(api, "source", SOURCE, "https://hooks.test/hook")
        open_dispute(api, "J-1")
        report = run_pass(api.store, None)
    assert (report.delivered, report.retrying, other.requests) == (0, 1, [])
    ((_, error),) = last_errors(api)
    assert (error or "").startswith("the receiver's TLS certificate did not verify: Hostname mismatch"), error


# -- a secret replaced with an overlap -----------------------------------------------------------------------


def signatures(header: str) -> list[str]:
    return [item for item in header.split(",") if item.startswith("v1=")]


def test_a_rotated_secret_signs_beside_the_new_one_until_its_overlap_ends(
    api: Api, backend: Backend, receiver: Receiver
) -> None:
    env = {**backend.environ, "CREDO_TODAY": TODAY}
    runner = CliRunner()
    db = ["--db", backend.url]
    api.push(record("J-1"))
    old = set_webhook(api, "source", SOURCE, receiver.url)
    bad = runner.invoke(cli, [*db, "webhook", "rotate-secret", "source", SOURCE, "--overlap", "3w"], env=env)
    assert bad.exit_code != 0 and "24h or 2d" in bad.output
    rotated = runner.invoke(cli, [*db, "webhook", "rotate-secret", "source", SOURCE, "--overlap", "24h"], env=env)
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip().splitlines()[-1]
    assert new.startswith("whsec_") and new != old
    assert "old secret signs too until" in runner.invoke(cli, [*db, "webhook", "list"], env=env).stdout

    dispute = open_dispute(api, "J-1")
    first_at = later()
    assert run_pass(api.store, None, now=first_at).delivered == 1
    api.client.post(
        f"/v1/disputes/{dispute['dispute_id']}/decision",
        json={"outcome": "upheld", "reasons": "The court confirms the judgment."},
        headers=api.headers("reviewer", "rita"),
    )
    second_at = first_at + dt.timedelta(hours=25)  # the overlap is over
    assert run_pass(api.store, None, now=second_at).delivered == 1

    (during, body1), (after, body2) = receiver.requests
    assert len(signatures(during["X-Credo-Signature"])) == 2  # both sign while the overlap lasts
    for secret in (old, new):
        assert verify(secret, during["X-Credo-Signature"], body1, now=int(first_at.timestamp()))
    assert len(signatures(after["X-Credo-Signature"])) == 1
    assert verify(new, after["X-Credo-Signature"], body2, now=int(second_at.timestamp()))
    assert not verify(old, after["X-Credo-Signature"], body2, now=int(second_at.timestamp()))
    with api.store.begin() as connection:
        rotations = connection.execute(
            sa.select(audit_log.c.detail).where(audit_log.c.action == "webhook.rotate_secret")
        )
        assert [d["overlap_seconds"] for d in rotations.scalars()] == [24 * 3600]


def test_the_api_rotates_a_secret_too(api: Api, receiver: Receiver) -> None:
    operator = api.headers("operator", "olga")
    set_webhook(api, "source", SOURCE, receiver.url)
    answer = api.client.post(f"/v1/webhooks/source/{SOURCE}/rotate-secret", json={"overlap": "0"}, headers=operator)
    assert answer.status_code == 200, answer.text
    assert answer.json()["secret"].startswith("whsec_") and answer.json()["old_secret_until"] is None
    bad = api.client.post(f"/v1/webhooks/source/{SOURCE}/rotate-secret", json={"overlap": "8d"}, headers=operator)
    assert (bad.status_code, bad.json()["code"]) == (422, "unprocessable")
    missing = api.client.post("/v1/webhooks/relying/city-bank/rotate-secret", json={}, headers=operator)
    assert missing.status_code == 404


def test_overlaps_are_hours_or_days_up_to_a_week() -> None:
    assert overlap_of("24h") == dt.timedelta(hours=24)
    assert overlap_of("7d") == dt.timedelta(days=7)
    assert overlap_of("0") == dt.timedelta(0)
    for wrong in ("8d", "169h", "1y", "", "-1h", "24"):
        with pytest.raises(ValueError, match="overlap"):
            overlap_of(wrong)


# -- what a removed webhook or address leaves: cancelled rows ---------------------------------------------


def test_messages_dropped_by_a_removed_webhook_are_kept_as_cancelled(
    api: Api, backend: Backend, receiver: Receiver
) -> None:
    operator = api.headers("operator", "olga")
    api.push(record("J-1"))
    set_webhook(api, "source", SOURCE, receiver.url)
    open_dispute(api, "J-1")
    receiver.statuses = [500]
    assert run_pass(api.store, None, now=later()).retrying == 1
    assert api.client.delete(f"/v1/webhooks/source/{SOURCE}", headers=operator).status_code == 204
    assert last_errors(api) == [
        ("cancelled", "cancelled: the webhook was removed (last error: HTTP status 500 from the receiver)")
    ]
    listed = api.client.get("/v1/deliveries", params={"state": "cancelled"}, headers=operator).json()
    assert listed["counts"] == {"webhook": {"cancelled": 1}}
    assert [d["state"] for d in listed["deliveries"]] == ["cancelled"]
    env = {**backend.environ, "CREDO_TODAY": TODAY}
    shown = CliRunner().invoke(cli, ["--db", backend.url, "delivery", "list", "--state", "cancelled"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "cancelled after 1 attempt(s)  cancelled: the webhook was removed" in shown.stdout
    assert run_pass(api.store, None, now=later(60)).delivered == 0  # never sent
    with api.store.begin() as connection:  # the statement it carried is erased
        ring = api.store.keys(connection)
        (sealed,) = connection.execute(sa.select(deliveries.c.payload_enc)).scalars()
        assert json.loads(ring.decrypt(sealed))["message"] is None


def test_emails_dropped_by_a_removed_address_are_cancelled_and_a_new_address_still_gets_the_days_notices(
    api: Api,
) -> None:
    me = api.headers("subject", PERSON)
    api.push(record("J-1"))
    assert api.client.put("/v1/me/contact", json={"email": ADDRESS}, headers=me).status_code == 200
    owed = run_pass(api.store, None).enqueued.emails  # no SMTP server: they wait
    assert owed > 0
    assert api.client.delete("/v1/me/contact", headers=me).status_code == 204
    assert {s for s, _ in last_errors(api)} == {"cancelled"}
    assert {e for _, e in last_errors(api)} == {"cancelled: the subject removed its address"}
    assert api.client.put("/v1/me/contact", json={"email": "new@example.org"}, headers=me).status_code == 200
    again = run_pass(api.store, None)
    assert again.enqueued.emails == owed  # the day's notices are owed again, to the new address
    assert sorted(s for s, _ in last_errors(api)) == ["cancelled"] * owed + ["pending"] * owed


# -- allowed hosts live in the store, where every process sees them ----------------------------------------


def test_a_host_allowed_only_in_the_commands_environment_is_said_and_the_stores_list_reaches_the_server(
    backend: Backend, receiver: Receiver
) -> None:
    env = {**backend.environ, "CREDO_TODAY": TODAY}
    server = open_store(backend.url, environ=env)  # the running server: no CREDO_WEBHOOK_ALLOW_HOSTS
    init_store(server)
    runner = CliRunner()
    db = ["--db", backend.url]
    try:
        with api_over(server) as api:
            api.push(record("J-1"))
            with_env = {**env, "CREDO_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}
            made = runner.invoke(cli, [*db, "webhook", "set", "source", SOURCE, receiver.url], env=with_env)
            assert made.exit_code == 0, made.output
            assert "allowed only by CREDO_WEBHOOK_ALLOW_HOSTS" in made.stderr
            assert "credo webhook allow-host 127.0.0.1" in made.stderr
            open_dispute(api, "J-1")
            refused = run_pass(server, None)
            assert (refused.delivered, refused.given_up) == (0, 1)
            ((_, error),) = last_errors(api)
            assert "credo webhook allow-host 127.0.0.1" in (error or "")

            allowed = runner.invoke(cli, [*db, "webhook", "allow-host", "127.0.0.1"], env=env)
            assert allowed.exit_code == 0 and "127.0.0.1 allowed" in allowed.stdout
            assert (
                "allowed hosts (in the store): 127.0.0.1"
                in runner.invoke(cli, [*db, "webhook", "list"], env=env).stdout
            )
            (failed,) = api.client.get("/v1/deliveries", headers=api.headers("operator", "olga")).json()["deliveries"]
            assert runner.invoke(cli, [*db, "delivery", "retry", str(failed["id"])], env=env).exit_code == 0
            assert run_pass(server, None).delivered == 1  # the server sees the store's list

            assert runner.invoke(cli, [*db, "webhook", "disallow-host", "127.0.0.1"], env=env).exit_code == 0
            again = runner.invoke(cli, [*db, "webhook", "set", "source", SOURCE, receiver.url], env=env)
            assert again.exit_code == 1 and "credo webhook allow-host 127.0.0.1" in again.output
            wrong = runner.invoke(cli, [*db, "webhook", "allow-host", "bad host!"], env=env)
            assert wrong.exit_code == 1 and "error:" in wrong.output
            with server.begin() as connection:
                actions = list(connection.execute(sa.select(audit_log.c.action, audit_log.c.detail)))
            hosts = [(a, d["host"]) for a, d in actions if a.startswith("webhook.") and "host" in d]
            assert hosts == [("webhook.allow_host", "127.0.0.1"), ("webhook.disallow_host", "127.0.0.1")]
    finally:
        server.engine.dispose()


# -- failures in plain words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "channel", "said"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "email", "the mail server's name could not"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "webhook", "the receiver's host name could"),
        (ConnectionRefusedError(111, "Connection refused"), "webhook", "connection refused"),
        (TimeoutError("timed out"), "email", "timed out: the mail server did not answer in time"),
        (OSError(101, "Network is unreachable"), "webhook", "the network of the receiver is unreachable"),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), "email", "refused the user name or password"),
        (smtplib.SMTPServerDisconnected("gone"), "email", "the mail server closed the connection"),
        (ssl.SSLError(1, "[SSL] wrong version number"), "webhook", "the TLS handshake with the receiver failed"),
        (ValueError("x"), "webhook", "an unexpected failure (ValueError)"),
    ],
)
def test_delivery_failures_are_said_in_plain_words(failure: BaseException, channel: str, said: str) -> None:
    reason = plain_reason(failure, channel)
    assert said in reason, reason
    assert type(failure).__name__ not in reason or isinstance(failure, ValueError)


def test_a_refused_recipient_is_said_without_the_address() -> None:
    refused = smtplib.SMTPRecipientsRefused({ADDRESS: (550, b"no such user " + ADDRESS.encode())})
    reason = plain_reason(refused, "email")
    assert reason == "the mail server refused the recipient's address (SMTP 550)"
    assert ADDRESS not in reason and "example.org" not in reason
