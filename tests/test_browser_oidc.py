"""Signing in with an OpenID Connect provider in Chromium, as a person does it: JavaScript off and on, English and
Chinese, the provider the tests start, no accessibility violation, and nothing else loaded from another origin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from credo.domain.identifiers import mask_identifier
from credo.store.bootstrap import init_store, open_store
from tests.apisupport import OTHER_PERSON, prepare
from tests.browser import Browsing, assert_accessible
from tests.oidcprovider import NAME, TestProvider, running_provider
from tests.serving import Served, free_port, serving


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, TestProvider]]:
    """The provider, and ``credo serve`` signing in with it over a store with the test rulebook in force."""
    folder = tmp_path_factory.mktemp("oidc-pages")
    url = f"sqlite:///{folder / 'credo.db'}"
    store = open_store(url, environ={})
    init_store(store)
    prepare(store)
    store.engine.dispose()
    port = free_port()
    with running_provider() as provider:
        environ = provider.environ(f"http://127.0.0.1:{port}/signin/oidc/callback")
        with serving(url, environ, folder / "serve.log", port=port) as served:
            yield served, provider


@pytest.fixture
def served(running: tuple[Served, TestProvider]) -> Served:
    return running[0]


@pytest.fixture
def provider(running: tuple[Served, TestProvider]) -> TestProvider:
    return running[1]


def page_via_provider(browsing: Browsing, served: Served, provider: TestProvider, *, javascript: bool) -> Page:
    """A page on the served origin that may also go to the provider (and to nothing else)."""
    page = browsing.page(f"http://127.0.0.1:{served.port}", javascript=javascript)
    page.context.route(f"{provider.issuer}/**", lambda route: route.continue_())  # matched before the refusal
    return page


@pytest.mark.parametrize(
    ("javascript", "lang"), [(False, "en"), (False, "zh"), (True, "en")], ids=["off-en", "off-zh", "on-en"]
)
def test_a_subject_signs_in_with_the_provider(
    browsing: Browsing, served: Served, provider: TestProvider, javascript: bool, lang: str
) -> None:
    provider.reset({"sub": "u-9", "credo_role": "subject", "credo_principal": OTHER_PERSON})
    page = page_via_provider(browsing, served, provider, javascript=javascript)
    page.goto(f"/signin?lang={lang}")
    assert_accessible(page)
    button = f"Sign in with {NAME}" if lang == "en" else f"使用 {NAME} 登录"
    page.get_by_role("button", name=button).click()
    page.wait_for_url("**/account")
    assert mask_identifier(OTHER_PERSON) in page.inner_text("main")
    assert OTHER_PERSON not in page.content()
    assert_accessible(page)
    browsing.assert_same_origin()


def test_a_refusal_at_the_provider_ends_on_a_plain_page(
    browsing: Browsing, served: Served, provider: TestProvider
) -> None:
    provider.reset({"sub": "u-8", "credo_role": "reviewer", "credo_principal": "rita"})
    provider.deny = True
    page = page_via_provider(browsing, served, provider, javascript=False)
    page.goto("/signin?lang=zh")
    page.get_by_role("button", name=f"使用 {NAME} 登录").click()
    page.wait_for_url("**/signin/oidc/problem/denied")
    assert page.get_by_role("heading", level=1).inner_text() == "您尚未登录"
    assert_accessible(page)
    page.get_by_role("link", name="重新登录").click()
    page.wait_for_url("**/signin")
    browsing.assert_same_origin()
