"""The page tests' helpers: a store with the test rulebook in force, one person on the black list and one
volunteer; and, for the browser tests, a served store's origin and a page signed in through a one-time link."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from credo.services import signin
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store.bootstrap import init_store, open_store
from tests.apisupport import OTHER_PERSON, TODAY, Api, api_over, record
from tests.serving import Served

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.browser import Browsing


@contextmanager
def listed(tmp_path: Path) -> Iterator[Api]:
    """PERSON with a court judgment (on the black list), OTHER_PERSON with volunteer service, as of TODAY."""
    store = open_store(f"sqlite:///{tmp_path / 'credo.db'}", environ={"CREDO_TODAY": TODAY})
    init_store(store)
    with api_over(store) as api:
        api.push(record("J-1"), record("V-1", subject=OTHER_PERSON, category="civic.volunteer_service"))
        yield api
    store.engine.dispose()


def origin(served: tuple[Served, str]) -> str:
    """Where a served store (``credo serve``, and its store's URL) answers."""
    return f"http://127.0.0.1:{served[0].port}"


def sign_in_code(served: tuple[Served, str], role: str, principal: str) -> str:
    """A one-time sign-in code, issued on the served store as ``credo signin-link`` would."""
    store = open_store(served[1], environ={})
    try:
        with unit_of_work(store) as uow:
            return signin.issue_link(uow, Actor("operator", "cli:test"), role, principal, "15m")
    finally:
        store.engine.dispose()


def signed_in(browsing: Browsing, served: tuple[Served, str], role: str, principal: str, *, javascript: bool) -> Page:
    """A page signed in as ``principal`` through a one-time link and its Continue button, as a person does."""
    page = browsing.page(origin(served), javascript=javascript)
    page.goto(f"/signin/{sign_in_code(served, role, principal)}")
    page.locator("main form button").first.click()
    page.wait_for_url("**/account")
    return page
