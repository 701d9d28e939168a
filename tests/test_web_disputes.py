"""Disputes and early repair as pages: a subject's guided form and its follow-up, the reviewers' desk and its
decision, with the API's checks, its audit entries, CSRF and roles (docs/web.md)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from credo.api.app import create_app
from credo.services import signin
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store.bootstrap import init_store, open_store
from credo.store.tables import audit_log
from tests.apisupport import API_YAML, OTHER_PERSON, OTHER_SOURCE, PERSON, SOURCE, TODAY, Api, api_over, record
from tests.websupport import listed

ORIGIN = {"Origin": "http://testserver"}
# Late tax payments may be repaired early 30 days after they were paid.
REPAIRABLE = API_YAML.replace(
    "    ends_after_resolution: 90d\n", "    ends_after_resolution: 90d\n    repair_after: 30d\n", 1
)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with listed(tmp_path) as api:
        yield api


def sign_in(api: Api, role: str, principal: str) -> str:
    """Sign the client in; the session's CSRF token."""
    with unit_of_work(api.store) as uow:
        code = signin.issue_link(uow, Actor("operator", "cli:test"), role, principal, "15m")
    assert api.client.post(f"/signin/{code}", headers=ORIGIN, follow_redirects=False).status_code == 303
    return csrf_of(api.client.get("/account").text)


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"', maxsplit=1)[0]


def actions(api: Api) -> list[str]:
    with api.store.begin() as connection:
        return list(connection.execute(sa.select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def score(api: Api, subject: str = PERSON) -> Any:
    return api.client.get("/v1/me/report", headers=api.headers("subject", subject)).json()["subjects"][0]["score"]


def answers(csrf: str, statement: str = "I paid that debt in full.", **extra: str) -> dict[str, str]:
    return {"csrf": csrf, "kind": "dispute", "source": SOURCE, "record": "J-1", "statement": statement, **extra}


def file_dispute(api: Api, csrf: str) -> str:
    """File a dispute of J-1 through the pages; its id."""
    sent = api.client.post("/me/disputes", data=answers(csrf), headers=ORIGIN, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    found = re.fullmatch(r"/me/disputes/([0-9a-f-]{36})/filed", sent.headers["location"])
    assert found is not None
    return found.group(1)


def test_a_subject_disputes_a_record_step_by_step_and_its_score_changes(api: Api) -> None:
    csrf = sign_in(api, "subject", PERSON)
    report = api.client.get("/me").text
    assert 'href="/me/disputes/new?source=court&amp;record=J-1"' in report
    assert "kind=repair" not in report  # the rules in force allow no early repair of a court judgment
    question = api.client.get("/me/disputes/new?source=court&record=J-1")
    assert question.status_code == 200 and "What is wrong with this record?" in question.text
    assert "A reviewer must decide within 30 days." in question.text
    check = api.client.post("/me/disputes/new", data=answers(csrf), headers=ORIGIN)
    assert check.status_code == 200 and "Check your answers" in check.text
    assert "I paid that debt in full." in check.text
    change = api.client.post("/me/disputes/new", data=answers(csrf, change="statement"), headers=ORIGIN)
    assert ">I paid that debt in full.</textarea>" in change.text  # asked again, with the answer kept
    before = score(api)
    dispute_id = file_dispute(api, csrf)
    assert score(api) > before  # the disputed record stopped counting at once
    filed = api.client.get(f"/me/disputes/{dispute_id}/filed").text
    assert dispute_id in filed and "A reviewer must decide by 30 July 2026." in filed
    assert "Meanwhile the record does not count in your score." in filed
    mine = api.client.get("/me/disputes").text
    assert f'href="/me/disputes/{dispute_id}"' in mine and "Not decided yet" in mine
    assert PERSON not in mine + filed
    opened = [a for a in actions(api) if a in ("dispute.open", "disputes.read")]
    assert opened == ["dispute.open", "disputes.read", "disputes.read"]  # as the API: filed, then each read


@pytest.mark.parametrize(
    ("statement", "said"),
    [
        ("", "Say what is wrong with the record"),
        ("   ", "Say what is wrong with the record"),
        ("x" * 4001, "Your statement must be 4,000 characters or fewer"),
        ("bell\x07", "holds a character that cannot be kept"),
    ],
)
def test_a_bad_statement_is_asked_again_with_the_error_summary(api: Api, statement: str, said: str) -> None:
    csrf = sign_in(api, "subject", PERSON)
    page = api.client.post("/me/disputes/new", data=answers(csrf, statement), headers=ORIGIN)
    assert page.status_code == 422
    assert "<title>Error: " in page.text and 'href="#statement"' in page.text and said in page.text
    sent = api.client.post("/me/disputes", data=answers(csrf, statement), headers=ORIGIN)
    assert sent.status_code == 422 and "dispute.open" not in actions(api)


def test_filing_is_refused_as_the_api_refuses_it(api: Api) -> None:
    csrf = sign_in(api, "subject", PERSON)
    theirs = api.client.post("/me/disputes", data=answers(csrf, record="V-1"), headers=ORIGIN)
    assert theirs.status_code == 422 and "You have no record with this number from this source" in theirs.text
    file_dispute(api, csrf)
    twice = api.client.post("/me/disputes", data=answers(csrf), headers=ORIGIN)
    assert twice.status_code == 422 and "This record already has an open dispute" in twice.text
    repair = api.client.post("/me/disputes", data=answers(csrf, kind="repair"), headers=ORIGIN)
    assert "The rules in force allow no early repair of this record" in repair.text
    assert actions(api).count("dispute.open") == 1


def test_forms_need_the_sessions_token_and_the_subject_role(api: Api) -> None:
    csrf = sign_in(api, "subject", PERSON)
    for path in ("/me/disputes/new", "/me/disputes"):
        forged = api.client.post(path, data=answers("forged"), headers=ORIGIN)
        assert forged.status_code == 403
        assert api.client.post(path, data=answers(csrf), headers={"Origin": "https://evil.example"}).status_code == 403
    assert "dispute.open" not in actions(api)
    api.client.cookies.clear()
    for path in ("/me/disputes", "/me/disputes/new?source=court&record=J-1", "/review"):
        assert api.client.get(path, follow_redirects=False).headers["location"] == "/signin"
    sign_in(api, "reviewer", "rita")
    assert api.client.get("/me/disputes", follow_redirects=False).headers["location"] == "/signin"


def test_a_subject_sees_only_its_own_disputes(api: Api) -> None:
    dispute_id = file_dispute(api, sign_in(api, "subject", PERSON))
    api.client.cookies.clear()
    sign_in(api, "subject", OTHER_PERSON)
    assert api.client.get(f"/me/disputes/{dispute_id}").status_code == 404
    assert dispute_id not in api.client.get("/me/disputes").text


def test_a_reviewer_takes_the_next_case_and_decides_it_with_the_apis_checks(api: Api) -> None:
    dispute_id = file_dispute(api, sign_in(api, "subject", PERSON))
    api.client.cookies.clear()
    csrf = sign_in(api, "reviewer", "rita")
    queue = api.client.get("/review").text
    assert f'href="/review/{dispute_id}"' in queue and "30 days left" in queue and PERSON not in queue
    taken = api.client.post("/review/next", data={"csrf": csrf}, headers=ORIGIN, follow_redirects=False)
    assert taken.headers["location"] == f"/review/{dispute_id}"
    case = api.client.get(f"/review/{dispute_id}").text
    assert "I paid that debt in full." in case and "Court judgment default" in case and PERSON not in case
    decide = f"/review/{dispute_id}"
    for outcome in ("", "granted", "nonsense"):  # none, a repair's, none at all
        page = api.client.post(decide, data={"csrf": csrf, "outcome": outcome, "reasons": "x"}, headers=ORIGIN)
        assert page.status_code == 422 and "Choose the outcome" in page.text and "<title>Error: " in page.text
    blank = api.client.post(decide, data={"csrf": csrf, "outcome": "upheld", "reasons": "  "}, headers=ORIGIN)
    assert "Enter the reasons for the decision" in blank.text and 'href="#reasons"' in blank.text
    bare = api.client.post(decide, data={"csrf": csrf, "outcome": "corrected", "reasons": "wrong"}, headers=ORIGIN)
    assert "Give a correction with the outcome Corrected, and only with it" in bare.text
    bad = {"csrf": csrf, "outcome": "corrected", "reasons": "wrong", "amount": "-1", "occurred_on": "2026-02-30"}
    page = api.client.post(decide, data=bad, headers=ORIGIN).text
    assert "Enter the amount as a number of 0 or more" in page and 'href="#occurred_on"' in page
    assert 'value="-1"' in page  # what was typed is kept
    assert api.client.post(decide, data={"outcome": "upheld", "reasons": "ok"}, headers=ORIGIN).status_code == 403
    assert "dispute.decide" not in actions(api)
    before = score(api)
    done = api.client.post(decide, data={"csrf": csrf, "outcome": "upheld", "reasons": "Checked with the court."},
                           headers=ORIGIN, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"/review/{dispute_id}/decided"
    assert "Decision recorded" in api.client.get(done.headers["location"]).text
    assert score(api) < before  # the record counts again
    again = api.client.post(decide, data={"csrf": csrf, "outcome": "removed", "reasons": "x"}, headers=ORIGIN)
    assert again.status_code == 422 and "This case was decided already" in again.text
    assert actions(api).count("dispute.decide") == 1
    empty = api.client.post("/review/next", data={"csrf": csrf}, headers=ORIGIN, follow_redirects=False)
    assert empty.headers["location"] == "/review"
    assert "Nothing is waiting" in api.client.get("/review").text
    api.client.cookies.clear()
    sign_in(api, "subject", PERSON)
    followed = api.client.get(f"/me/disputes/{dispute_id}").text
    assert "Upheld: the record stands and counts" in followed and "Checked with the court." in followed


def test_a_correction_is_a_new_version_and_the_subject_reads_the_outcome(api: Api) -> None:
    dispute_id = file_dispute(api, sign_in(api, "subject", PERSON))
    api.client.cookies.clear()
    csrf = sign_in(api, "reviewer", "rita")
    early = {"csrf": csrf, "outcome": "corrected", "reasons": "Paid early.", "resolved_on": "2026-01-01"}
    refused = api.client.post(f"/review/{dispute_id}", data=early, headers=ORIGIN)  # before it happened: the store's
    assert refused.status_code == 422 and 'href="#resolved_on"' in refused.text
    assert "The corrected record cannot be kept: resolved_on is before occurred_on" in refused.text
    body = {"csrf": csrf, "outcome": "corrected", "reasons": "The date was wrong.", "occurred_on": "2026-03-02"}
    done = api.client.post(f"/review/{dispute_id}", data=body, headers=ORIGIN, follow_redirects=False)
    assert done.status_code == 303, done.text
    case = api.client.get(f"/review/{dispute_id}").text
    assert "2 March 2026" in case and "Corrected: a corrected record counts instead" in case


def test_the_desk_is_for_reviewers_only(api: Api) -> None:
    dispute_id = file_dispute(api, sign_in(api, "subject", PERSON))
    csrf = csrf_of(api.client.get("/account").text)
    assert api.client.get("/review", follow_redirects=False).headers["location"] == "/signin"
    assert api.client.get(f"/review/{dispute_id}", follow_redirects=False).headers["location"] == "/signin"
    posted = api.client.post(f"/review/{dispute_id}", data={"csrf": csrf, "outcome": "removed", "reasons": "mine"},
                             headers=ORIGIN)  # fmt: skip
    assert posted.status_code == 403 and "dispute.decide" not in actions(api)
    api.client.cookies.clear()
    sign_in(api, "reviewer", "rita")
    assert api.client.get("/review/00000000-0000-0000-0000-000000000000").status_code == 404


def test_a_subject_applies_for_early_repair_where_the_rule_allows_it(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store, book=REPAIRABLE) as api:
        tax = {"category": "tax.late_payment", "amount": 20000}
        paid = record("T-1", occurred_on="2026-01-10", resolved_on="2026-05-20", **tax)
        lately = record("T-2", occurred_on="2026-02-10", resolved_on="2026-06-10", **tax)
        api.push(paid, lately, source=OTHER_SOURCE)
        csrf = sign_in(api, "subject", PERSON)
        report = api.client.get("/me").text
        assert "source=tax-office&amp;record=T-1&amp;kind=repair" in report
        assert "record=T-2&amp;kind=repair" not in report  # paid on 2026-06-10: repair from 2026-07-10
        question = api.client.get("/me/disputes/new?source=tax-office&record=T-1&kind=repair").text
        assert "Why should this record stop counting early?" in question
        body = answers(csrf, "Paid in full.", kind="repair", source=OTHER_SOURCE)
        early = api.client.post("/me/disputes", data=body | {"record": "T-2"}, headers=ORIGIN)
        assert "You can apply for early repair of this record from 10 July 2026" in early.text
        sent = api.client.post("/me/disputes", data=body | {"record": "T-1"}, headers=ORIGIN, follow_redirects=False)
        assert sent.status_code == 303, sent.text
        filed = api.client.get(sent.headers["location"]).text
        assert "Application sent" in filed and "counts in your score until a reviewer grants" in filed
        assert "repair.apply" in actions(api)
        dispute_id = sent.headers["location"].split("/")[3]
        api.client.cookies.clear()
        csrf = sign_in(api, "reviewer", "rita")
        case = api.client.get(f"/review/{dispute_id}").text
        assert 'value="granted"' in case and 'value="upheld"' not in case and 'name="amount"' not in case
        done = api.client.post(f"/review/{dispute_id}", data={"csrf": csrf, "outcome": "granted", "reasons": "Paid."},
                               headers=ORIGIN, follow_redirects=False)  # fmt: skip
        assert done.status_code == 303
    store.engine.dispose()


@pytest.mark.parametrize(
    ("today", "said"),
    [("2026-07-29", "1 day left"), ("2026-07-30", "Due today"), ("2026-08-02", "3 days late")],
)
def test_the_queue_says_the_time_left_and_marks_the_overdue(api: Api, today: str, said: str) -> None:
    file_dispute(api, sign_in(api, "subject", PERSON))  # decide by 2026-07-30
    later = open_store(str(api.store.engine.url), environ={**(api.store.environ or {}), "CREDO_TODAY": today})
    try:
        with TestClient(create_app(later)) as client:
            running = Api(later, client)
            sign_in(running, "reviewer", "rita")
            queue = client.get("/review").text
    finally:
        later.engine.dispose()
    assert said in queue
    assert ('class="tag overdue"' in queue) is (today > "2026-07-30")


def test_the_subject_reads_in_plain_words_who_read_its_dispute(api: Api) -> None:
    dispute_id = file_dispute(api, sign_in(api, "subject", PERSON))
    api.client.get("/v1/disputes", headers=api.headers("reviewer", "rita"))
    api.client.get(f"/v1/disputes/{dispute_id}", headers=api.headers("reviewer", "rita"))
    page = api.client.get("/me").text
    assert "disputed a record or applied for its repair" in page
    assert "dispute.read" not in page and "dispute.queue.read" not in page
