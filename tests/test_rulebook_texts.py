"""A rulebook's texts in other languages and its grades' plain meanings (docs/rulebook.md, "Texts in other
languages"): read beside what they translate, checked like the originals, and shown in the reader's language."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from credo.api.app import create_app
from credo.demo import demo_rulebook_text
from credo.domain.rulebook import text_in, title_in
from credo.rulebook_file import parse_rulebook
from credo.store.bootstrap import Store
from credo.store.rulebooks import activate, publish
from tests.support import BASE_YAML, at, edit, line_of

LATE_TITLE = "    title: Late tax payment\n"


def test_a_text_in_another_language_is_used_where_given_and_the_original_elsewhere() -> None:
    text = edit(BASE_YAML, LATE_TITLE, LATE_TITLE + "    texts: {zh: {title: 逾期缴税}}\n")
    loaded = parse_rulebook(text)
    assert loaded.ok, loaded.problems
    assert loaded.rulebook is not None
    rule = loaded.rulebook.rules[0]
    assert (rule.label_in("zh"), rule.label_in("en"), rule.label_in("fr")) == ("逾期缴税", rule.label, rule.label)
    listed = loaded.rulebook.lists[0]
    assert title_in(listed, "zh") == listed.title  # not translated: shown as written
    assert text_in(listed, "description", "zh") == listed.description


def test_the_demo_rulebook_carries_chinese_and_a_meaning_for_every_grade() -> None:
    loaded = parse_rulebook(demo_rulebook_text())
    assert loaded.ok and loaded.rulebook is not None
    book = loaded.rulebook
    assert all(g.meaning and g.texts["zh"].meaning for g in book.grades)
    assert all(r.texts["zh"].title for r in book.rules)
    assert all(x.texts["zh"].title for x in (*book.lists, *book.measures))
    assert all(x.texts["zh"].legal_basis for x in (*book.lists, *book.measures) if x.legal_basis)


def test_a_protected_term_in_a_translated_title_is_refused_at_its_place() -> None:
    text = edit(BASE_YAML, LATE_TITLE, LATE_TITLE + "    texts: {zh: {title: 批评政府的言论}}\n")
    loaded = parse_rulebook(text)
    assert not loaded.ok
    found = at(loaded.problems, "rules[0].texts.zh.title")
    assert found and "Credo refuses such rules" in found[0].message
    assert found[0].line == line_of(text, "批评政府")


@pytest.mark.parametrize(
    ("texts", "place"),
    [
        ("{ZH: {title: x}}", "rules[0].texts.ZH"),  # a language is a lowercase tag
        ("{zh: {meaning: x}}", "rules[0].texts.zh.meaning"),  # a rule has a title, not a meaning
        ("{zh: {title: ''}}", "rules[0].texts.zh.title"),  # an empty text says nothing
    ],
)
def test_a_malformed_text_is_refused_with_its_place(texts: str, place: str) -> None:
    loaded = parse_rulebook(edit(BASE_YAML, LATE_TITLE, LATE_TITLE + f"    texts: {texts}\n"))
    assert not loaded.ok
    assert [p.place for p in loaded.problems] == [place], loaded.problems


@pytest.fixture
def demo(store: Store) -> Iterator[TestClient]:
    with store.begin() as connection:
        publish(connection, demo_rulebook_text(), "demo-city.yaml", store.clock())
        activate(connection, "2026.1", store.clock(), None)
    with TestClient(create_app(store)) as client:
        yield client


def test_the_rulebook_page_speaks_the_readers_language_with_each_grades_meaning(demo: TestClient) -> None:
    english, chinese = demo.get("/rulebook?lang=en").text, demo.get("/rulebook?lang=zh").text
    assert "Tax paid after its due date" in english and "逾期缴纳税款" not in english
    assert "逾期缴纳税款" in chinese and "Tax paid after its due date" not in chinese
    assert "失信被执行人名单" in chinese and "《中华人民共和国税收征收管理法》第七十二条" in chinese
    assert "Exemplary." in english and "诚信模范。" in chinese
    assert "一个中等城市的演示规则手册" in chinese


def test_lists_and_statistics_use_the_translated_titles(demo: TestClient) -> None:
    assert "失信被执行人名单" in demo.get("/lists?lang=zh").text
    assert "失信被执行人名单" in demo.get("/lists/dishonest-judgment-debtors?lang=zh").text
    assert "不得参加政府采购" in demo.get("/statistics?lang=zh").text
    assert "Excluded from public procurement" in demo.get("/statistics?lang=en").text
