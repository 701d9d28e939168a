"""The public pages: served by ``credo serve`` without sign-in, in English and Simplified Chinese, safe by header.

Rendered through the application as a browser would get them (``TestClient``); the browser journeys, axe and
screenshots are in the browser tests.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from importlib import resources

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from credo.api.app import create_app
from credo.domain.rulebook import Rulebook
from credo.rulebook_file import parse_rulebook
from credo.store.bootstrap import Store
from credo.store.rulebooks import activate, publish
from credo.web.i18n import choose
from credo.web.plain import bands
from tests.storedata import V2_YAML
from tests.support import BASE_YAML

PAGES = ("/", "/rulebook", "/rulebook/versions", "/due-process", "/lists", "/statistics")


def load_rulebook_text(text: str) -> Rulebook:
    loaded = parse_rulebook(text)
    assert loaded.rulebook is not None
    return loaded.rulebook


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with store.begin() as connection:
        publish(connection, BASE_YAML, "test.yaml", store.clock())
        activate(connection, "2026.1", store.clock(), None)
    with TestClient(create_app(store)) as client:
        yield client


@pytest.fixture
def empty(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as client:
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_every_public_page_answers_html_with_its_security_headers(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    # Nothing from another origin: every link, script, style and image is this server's own.
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert url.startswith(("/", "#")), url


def test_the_stylesheet_is_served_from_the_same_origin(client: TestClient) -> None:
    sheet = client.get("/assets/credo.css")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")


def test_the_rulebook_page_says_every_grade_rule_list_and_measure(client: TestClient) -> None:
    page = client.get("/rulebook").text
    book = load_rulebook_text(BASE_YAML)
    assert f"version {book.version}" in page
    for band in bands(book):
        assert f'<th scope="row">{band.grade}</th><td>{band.low:,} to {band.high:,}</td>' in page
    for rule in book.rules:
        assert rule.category in page
    for entry in (*book.lists, *book.measures):
        assert entry.title in page


def test_grade_bands_cover_the_whole_range_best_first() -> None:
    book = load_rulebook_text(BASE_YAML)
    found = bands(book)
    assert [b.grade for b in found] == [g.grade for g in sorted(book.grades, key=lambda g: -g.min)]
    assert found[0].high == book.score.max and found[-1].low == book.score.min
    for better, worse in itertools.pairwise(found):
        assert worse.high == better.low - 1


def test_without_a_rulebook_in_force_the_pages_say_so(empty: TestClient) -> None:
    for path in PAGES:
        page = empty.get(path)
        assert page.status_code == 200
        said = "No version is published yet" if path == "/rulebook/versions" else "No rulebook is in force yet"
        assert said in page.text, path


def test_the_language_comes_from_the_switch_then_the_cookie_then_the_browser(client: TestClient) -> None:
    assert '<html lang="en">' in client.get("/").text
    assert '<html lang="zh-Hans">' in client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    chosen = client.get("/rulebook?lang=zh")
    assert '<html lang="zh-Hans">' in chosen.text and "评分规则" in chosen.text
    assert chosen.cookies.get("credo_lang") == "zh"
    # Remembered: the next page is in Chinese without asking again, until switched back.
    assert '<html lang="zh-Hans">' in client.get("/due-process").text
    assert '<html lang="en">' in client.get("/due-process?lang=en").text
    assert '<html lang="en">' in client.get("/").text


def test_each_page_links_to_itself_in_the_other_language(client: TestClient) -> None:
    assert 'href="/rulebook?lang=zh"' in client.get("/rulebook").text
    assert 'href="/rulebook?lang=en"' in client.get("/rulebook?lang=zh").text


@pytest.mark.parametrize(
    ("asked", "cookie", "accept", "code"),
    [
        (None, None, None, "en"),
        (None, None, "zh-TW,zh;q=0.8", "zh"),
        (None, None, "fr-FR, en;q=0.5", "en"),
        ("en", "zh", "zh-CN", "en"),
        ("xx", "zh", None, "zh"),
        (None, "xx", "de", "en"),
    ],
)
def test_choosing_a_language(asked: str | None, cookie: str | None, accept: str | None, code: str) -> None:
    assert choose(asked, cookie, accept).code == code


def test_every_text_of_the_pages_is_translated_and_no_translation_is_left_over() -> None:
    templates = resources.files("credo.web").joinpath("templates")
    options = {"**.html": {"extensions": "jinja2.ext.i18n"}}
    wanted = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(templates), [("**.html", "jinja2.ext:babel_extract")], options)
    }
    source = resources.files("credo.web").joinpath("locale", "zh_Hans", "LC_MESSAGES", "messages.po")
    with source.open("rb") as fh:
        catalog = read_po(fh)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string))
    }
    assert sorted(wanted - translated) == [], "texts without a Chinese translation (scripts/web-messages adds them)"
    assert sorted(translated - wanted) == [], "translations of texts no page has any more"


def test_the_versions_page_lists_every_version_and_compares_two(client: TestClient, store: Store) -> None:
    with store.begin() as connection:
        publish(connection, V2_YAML, "v2.yaml", store.clock())
    page = client.get("/rulebook/versions")
    assert page.status_code == 200
    assert '<th scope="row">2026.2</th>' in page.text and "never activated" in page.text
    compared = client.get("/rulebook/versions", params={"old": "2026.1", "new": "2026.2"})
    assert compared.status_code == 200
    assert "From 2026.1 to 2026.2" in compared.text
    assert '<th scope="row" class="code">base</th><td>1000</td><td>1040</td>' in compared.text


@pytest.mark.parametrize(("old", "new"), [("2026.1", "2026.1"), ("2026.1", "9.9")])
def test_comparing_a_version_with_itself_or_one_not_published_is_refused(
    client: TestClient, old: str, new: str
) -> None:
    page = client.get("/rulebook/versions", params={"old": old, "new": new})
    assert page.status_code == 400
    assert 'class="error-summary"' in page.text and "<title>Error: " in page.text


def test_a_broken_link_gets_a_page_and_the_apis_paths_keep_their_problems(client: TestClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "Page not found" in page.text
    assert page.headers["content-type"].startswith("text/html")
    api = client.get("/v1/no-such-route")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
