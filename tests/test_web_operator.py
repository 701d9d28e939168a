"""The operators' console as pages: for operators only, every form with its CSRF token and server-side checks,
and every action the same service call and audit entry as the API's or the CLI's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from credo.domain.identifiers import mask_identifier
from credo.rulebook_file import parse_rulebook
from credo.services import signin
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store.tables import audit_log, deliveries
from tests.apisupport import API_YAML, PERSON, Api, record
from tests.websupport import listed

ORIGIN = {"Origin": "http://testserver"}
NEW_YAML = API_YAML.replace('version: "2026.1"', 'version: "2026.2"')
BROKEN_YAML = API_YAML.replace("base: ", "base: -").replace('version: "2026.1"', 'version: "2026.3"')
assert NEW_YAML not in (API_YAML, BROKEN_YAML)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with listed(tmp_path) as api:
        yield api


def sign_in(api: Api, role: str = "operator", principal: str | None = "olga") -> str:
    """Sign the test client in; the session's CSRF token."""
    with unit_of_work(api.store) as uow:
        code = signin.issue_link(uow, Actor("operator", "cli:test"), role, principal, "15m")
    assert api.client.post(f"/signin/{code}", headers=ORIGIN).status_code == 200
    page = api.client.get("/account").text
    return page.split('name="csrf" value="')[1].split('"')[0]


@pytest.fixture
def csrf(api: Api) -> str:
    return sign_in(api)


def audited(api: Api, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    with api.store.begin() as connection:
        query = sa.select(audit_log.c.actor_role, audit_log.c.actor, audit_log.c.detail).where(
            audit_log.c.action == action
        )
        return [(r.actor_role, r.actor, r.detail) for r in connection.execute(query.order_by(audit_log.c.id))]


def post(api: Api, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    return api.client.post(path, data=data, headers=ORIGIN, follow_redirects=False, **kwargs)


PAGES = ("/operator", "/operator/rulebooks", "/operator/rulebooks/check", "/operator/rulebooks/2026.1/activate",
         "/operator/sources", "/operator/sources/new", "/operator/sources/court/categories",
         "/operator/sources/court/disable", "/operator/relying", "/operator/relying/new",
         "/operator/relying/city-bank/disable", "/operator/quarantine", "/operator/deliveries",
         "/operator/audit")  # fmt: skip
FORMS = ("/operator/rulebooks/check", "/operator/rulebooks/publish", "/operator/rulebooks/2026.1/activate",
         "/operator/sources/new", "/operator/sources/court/categories", "/operator/sources/court/disable",
         "/operator/relying/new", "/operator/relying/city-bank/disable", "/operator/quarantine/retry",
         "/operator/deliveries/1/retry")  # fmt: skip


def test_every_console_page_is_for_operators_only(api: Api) -> None:
    for path in PAGES:
        refused = api.client.get(path, follow_redirects=False)
        assert (refused.status_code, refused.headers["location"]) == (303, "/signin"), path
    sign_in(api, "reviewer", "rita")
    for path in PAGES:
        assert api.client.get(path, follow_redirects=False).status_code == 303, path
    sign_in(api)
    for path in PAGES:
        page = api.client.get(path)
        assert page.status_code == 200, path
        assert page.text.count("<h1") == 1 and "Content-Security-Policy" in page.headers


def test_a_post_without_the_sessions_token_or_from_another_role_is_refused(api: Api, csrf: str) -> None:
    for path in FORMS:
        assert post(api, path, {}).status_code == 403, path
        assert post(api, path, {"csrf": "forged"}).status_code == 403, path
        other = api.client.post(path, data={"csrf": csrf}, headers={"Origin": "http://evil.example"})
        assert other.status_code == 403, path
    reviewer_csrf = sign_in(api, "reviewer", "rita")
    for path in FORMS:
        refused = post(api, path, {"csrf": reviewer_csrf})
        assert (refused.status_code, refused.headers["location"]) == (303, "/signin"), path
    assert audited(api, "source.disable") == [] and audited(api, "quarantine.retry") == []


def test_the_overview_shows_the_stores_figures(api: Api, csrf: str) -> None:
    page = api.client.get("/operator").text
    assert "Rows in quarantine" in page and "30 June 2026" in page and 'href="/operator/audit"' in page
    assert "dishonest-judgment-debtors" in page  # a list with its count


# -- rulebooks ---------------------------------------------------------------------------------


def upload(api: Api, csrf: str, text: str | bytes, name: str = "city.yaml") -> Any:
    body = text.encode() if isinstance(text, str) else text
    return api.client.post(
        "/operator/rulebooks/check", data={"csrf": csrf}, files={"rulebook": (name, body, "application/yaml")},
        headers=ORIGIN,
    )  # fmt: skip


def test_a_rulebook_with_problems_shows_each_with_its_line_as_the_cli_check_does(api: Api, csrf: str) -> None:
    checked = upload(api, csrf, BROKEN_YAML)
    assert checked.status_code == 400 and "The rulebook has problems" in checked.text
    problems = parse_rulebook(BROKEN_YAML, "city.yaml").problems
    assert problems
    for problem in problems:
        assert f'<td class="numeric">{problem.line}</td>' in checked.text
        assert problem.message.replace("'", "&#39;").replace('"', "&#34;") in checked.text
    assert "Publish version" not in checked.text


@pytest.mark.parametrize(
    ("sent", "message"),
    [(b"", "Choose a rulebook file"), (b"\xff\xfe", "The file must be UTF-8 text"),
     (b"#" * (1024 * 1024 + 1), "The file must be 1 MiB or smaller")],
    ids=["nothing", "not-utf8", "too-large"],
)  # fmt: skip
def test_a_bad_upload_gets_the_error_summary(api: Api, csrf: str, sent: bytes, message: str) -> None:
    answer = upload(api, csrf, sent) if sent else post(api, "/operator/rulebooks/check", {"csrf": csrf})
    assert answer.status_code == 400 and "<title>Error: " in answer.text
    assert 'href="#rulebook"' in answer.text and answer.text.count(message) == 2


def test_an_operator_checks_publishes_and_activates_a_rulebook_audited_as_the_cli_does(api: Api, csrf: str) -> None:
    checked = upload(api, csrf, NEW_YAML)
    assert checked.status_code == 200 and "The rulebook is valid" in checked.text
    carried = checked.text.split('name="text" value="')[1].split('"')[0]
    published = post(api, "/operator/rulebooks/publish", {"csrf": csrf, "name": "city.yaml", "text": carried})
    assert (published.status_code, published.headers["location"]) == (
        303, "/operator/rulebooks?done=published&version=2026.2"
    )  # fmt: skip
    [(role, who, detail)] = audited(api, "rulebook.publish")
    assert (role, who, detail["version"]) == ("operator", "olga", "2026.2")
    assert detail["checksum"] == parse_rulebook(NEW_YAML).checksum  # the file's bytes, unchanged on the way
    assert "Version 2026.2 is published" in api.client.get(published.headers["location"]).text
    again = post(api, "/operator/rulebooks/publish", {"csrf": csrf, "name": "city.yaml", "text": carried})
    assert again.headers["location"].startswith("/operator/rulebooks?done=unchanged")
    assert len(audited(api, "rulebook.publish")) == 1

    bad = post(api, "/operator/rulebooks/2026.2/activate", {"csrf": csrf, "from": "2027-02-30"})
    assert bad.status_code == 400 and "<title>Error: " in bad.text and 'href="#from"' in bad.text
    asked = post(api, "/operator/rulebooks/2026.2/activate", {"csrf": csrf, "from": "2027-01-01"})
    assert asked.status_code == 200 and "Put version 2026.2 in force?" in asked.text and "1 January 2027" in asked.text
    assert audited(api, "rulebook.activate") == []  # not before it is confirmed
    done = post(api, "/operator/rulebooks/2026.2/activate", {"csrf": csrf, "from": "2027-01-01", "confirmed": "yes"})
    assert done.status_code == 303
    assert audited(api, "rulebook.activate") == [("operator", "olga", {"version": "2026.2", "from": "2027-01-01"})]
    assert "Version 2026.2 is in force from 1 January 2027" in api.client.get(done.headers["location"]).text


def test_a_changed_form_cannot_publish_what_the_store_refuses(api: Api, csrf: str) -> None:
    import base64

    other = API_YAML.replace("base: 1000", "base: 1001").encode()  # version 2026.1 again, other content
    answer = post(api, "/operator/rulebooks/publish", {"csrf": csrf, "text": base64.b64encode(other).decode()})
    assert answer.status_code == 400 and "<h1>The rulebook was not published</h1>" in answer.text
    assert "already published with other content" in answer.text and "Publish version" not in answer.text
    broken = post(api, "/operator/rulebooks/publish", {"csrf": csrf, "text": base64.b64encode(b"a: [").decode()})
    assert broken.status_code == 400 and "not a valid rulebook" in broken.text
    assert audited(api, "rulebook.publish") == []


def test_an_unknown_version_cannot_be_activated(api: Api, csrf: str) -> None:
    assert api.client.get("/operator/rulebooks/9999.9/activate").status_code == 404
    assert post(api, "/operator/rulebooks/9999.9/activate", {"csrf": csrf, "from": "2027-01-01"}).status_code == 404


# -- sources and relying parties ---------------------------------------------------------------


def test_registering_a_source_checks_every_field_and_is_audited_as_the_api_does(api: Api, csrf: str) -> None:
    empty = post(api, "/operator/sources/new", {"csrf": csrf, "id": " ", "categories": "", "title": "x" * 501})
    assert empty.status_code == 400 and "<title>Error: " in empty.text
    for field in ("id", "categories", "title"):
        assert f'href="#{field}"' in empty.text
    unknown = post(api, "/operator/sources/new", {"csrf": csrf, "id": "police", "categories": "nothing.known"})
    assert unknown.status_code == 400 and "matches no category" in unknown.text and 'href="#categories"' in unknown.text
    taken = post(api, "/operator/sources/new", {"csrf": csrf, "id": "court", "categories": "court.*"})
    assert "already registered" in taken.text and 'href="#id"' in taken.text
    added = post(api, "/operator/sources/new", {"csrf": csrf, "id": "police", "categories": "civic.*,\ncourt.*"})
    assert added.status_code == 303
    assert audited(api, "source.add") == [
        ("operator", "olga", {"source": "police", "categories": ["civic.*", "court.*"]})
    ]
    assert "Source police is registered" in api.client.get(added.headers["location"]).text
    assert "is registered" not in api.client.get("/operator/sources?done=added&id=nobody").text

    allowed = post(api, "/operator/sources/police/categories", {"csrf": csrf, "categories": "tax.*"})
    assert allowed.status_code == 303
    assert audited(api, "source.allow")[0][2] == {"source": "police", "categories": ["civic.*", "court.*", "tax.*"]}
    none = post(api, "/operator/sources/police/categories", {"csrf": csrf, "categories": " "})
    assert none.status_code == 400 and "Enter at least one category" in none.text

    asked = api.client.get("/operator/sources/police/disable")
    assert "Disable source police?" in asked.text and audited(api, "source.disable") == []
    assert post(api, "/operator/sources/police/disable", {"csrf": csrf}).status_code == 303
    assert audited(api, "source.disable") == [("operator", "olga", {"source": "police"})]
    listed_after = api.client.get("/v1/sources", headers=api.headers("operator", "olga")).json()
    assert next(s for s in listed_after if s["id"] == "police")["enabled"] is False


def test_registering_and_disabling_a_relying_party_is_audited_as_the_api_does(api: Api, csrf: str) -> None:
    bad = post(api, "/operator/relying/new", {"csrf": csrf, "id": "shop", "measures": "no-such-measure"})
    assert bad.status_code == 400 and 'href="#measures"' in bad.text
    empty = post(api, "/operator/relying/new", {"csrf": csrf, "id": "", "measures": ""})
    assert "Enter the relying party’s id" in empty.text and "Enter at least one measure" in empty.text
    added = post(
        api, "/operator/relying/new", {"csrf": csrf, "id": "shop", "measures": "loan-fast-track", "title": "A shop"}
    )
    assert added.status_code == 303
    [(role, who, detail)] = audited(api, "relying.add")
    assert (role, who, detail["id"], detail["measures"]) == ("operator", "olga", "shop", ["loan-fast-track"])
    assert post(api, "/operator/relying/shop/disable", {"csrf": csrf}).status_code == 303
    assert audited(api, "relying.disable") == [("operator", "olga", {"relying": "shop"})]
    assert api.client.get("/operator/relying/nobody/disable").status_code == 404


# -- the quarantine and deliveries -------------------------------------------------------------


def test_the_quarantine_shows_rows_masked_and_escaped_filters_them_and_retries(api: Api, csrf: str) -> None:
    api.push(record("Q-1", category="tax.arrears", reference="bell\x07\x1b[31m"))  # court may not report tax
    page = api.client.get("/operator/quarantine")
    assert page.status_code == 200 and "Row 1" in page.text
    assert audited(api, "quarantine.read")[-1][:2] == ("operator", "olga")
    assert api.client.get("/operator/quarantine", params={"reason": "no such reason"}).text.count("Row 1") == 0
    assert "Row 1" in api.client.get("/operator/quarantine", params={"source": "court"}).text
    one = api.client.get("/operator/quarantine/1").text
    assert mask_identifier(PERSON) in one and PERSON not in one
    assert "\\x07\\x1b[31m" in one and "\x1b" not in one
    assert api.client.get("/operator/quarantine/999").status_code == 404
    assert api.client.get("/operator/quarantine/x").status_code == 404
    retried = post(api, "/operator/quarantine/retry", {"csrf": csrf})
    assert retried.status_code == 303
    assert audited(api, "quarantine.retry") == [("operator", "olga", {"retried": 1, "resolved": 0, "still_open": 1})]
    assert "Rows tried again: 1. Stored: 0. Still held: 1." in api.client.get(retried.headers["location"]).text


def test_a_failed_delivery_is_listed_and_tried_again_as_the_api_does(api: Api, csrf: str) -> None:
    now = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
    with api.store.begin() as connection:
        connection.execute(
            sa.insert(deliveries).values(
                channel="webhook", party_kind="relying", party_id="city-bank", event_key="e-1",
                event_type="dispute.opened", payload_enc=b"sealed", state="failed", attempts=8,
                next_attempt_at=None, last_error="HTTP 503\x1b", created_at=now,
            )
        )  # fmt: skip
    page = api.client.get("/operator/deliveries").text
    assert "dispute.opened" in page and "HTTP 503\\x1b" in page and "Try again" in page
    assert audited(api, "deliveries.read")[-1] == ("operator", "olga", {"state": "failed", "deliveries": 1})
    assert "None." in api.client.get("/operator/deliveries", params={"state": "delivered"}).text
    done = post(api, "/operator/deliveries/1/retry", {"csrf": csrf})
    assert done.status_code == 303
    assert audited(api, "delivery.retry") == [("operator", "olga", {"delivery_id": 1})]
    again = post(api, "/operator/deliveries/1/retry", {"csrf": csrf})
    assert again.status_code == 409 and "only a failed one can be retried" in again.text
    assert post(api, "/operator/deliveries/999/retry", {"csrf": csrf}).status_code == 409
    assert post(api, "/operator/deliveries/x/retry", {"csrf": csrf}).status_code == 404


def test_the_pages_and_the_api_leave_the_same_audit_entries(api: Api, csrf: str) -> None:
    """The same changes, once through the pages and once through the API as the same operator: the same entries."""
    token = api.headers("operator", "olga")
    post(api, "/operator/sources/new", {"csrf": csrf, "id": "web-src", "categories": "civic.*"})
    api.client.post("/v1/sources", json={"id": "api-src", "categories": ["civic.*"]}, headers=token)
    post(api, "/operator/sources/web-src/categories", {"csrf": csrf, "categories": "court.*"})
    api.client.post("/v1/sources/api-src/categories", json={"categories": ["court.*"]}, headers=token)
    post(api, "/operator/sources/web-src/disable", {"csrf": csrf})
    api.client.post("/v1/sources/api-src/disable", headers=token)
    post(api, "/operator/relying/new", {"csrf": csrf, "id": "web-rp", "measures": "loan-fast-track"})
    api.client.post("/v1/relying", json={"id": "api-rp", "measures": ["loan-fast-track"]}, headers=token)
    post(api, "/operator/relying/web-rp/disable", {"csrf": csrf})
    api.client.post("/v1/relying/api-rp/disable", headers=token)
    for action in ("source.add", "source.allow", "source.disable", "relying.add", "relying.disable"):
        web, through_api = audited(api, action)
        assert web[:2] == through_api[:2] == ("operator", "olga"), action
        assert str(web[2]).replace("web-", "") == str(through_api[2]).replace("api-", ""), action


def test_the_audit_chain_page_shows_the_head_and_the_auditors_last_checks(api: Api, csrf: str) -> None:
    page = api.client.get("/operator/audit").text
    assert "entries can be written" in page and "No auditor has checked the chain yet." in page
    with api.store.begin() as connection:
        newest = connection.execute(sa.select(sa.func.max(audit_log.c.id))).scalar_one()
    assert f"entry {newest:,}" in page  # the head names the newest entry (the operator's sign-in)
    sign_in(api, "auditor", "ada")
    audit_csrf = api.client.get("/account").text.split('name="csrf" value="')[1].split('"')[0]
    assert post(api, "/audit/verify", {"csrf": audit_csrf}).status_code == 200
    sign_in(api)
    page = api.client.get("/operator/audit").text
    assert "ada" in page and "intact" in page
    assert audited(api, "audit.read") == []  # the head is no one's personal data: reading it is not logged
    with api.store.begin() as connection:  # an entry put in behind the head's back
        connection.execute(sa.update(audit_log).where(audit_log.c.id == newest).values(id=newest + 1000))
    assert "nothing can be written until the trail is restored" in api.client.get("/operator/audit").text
