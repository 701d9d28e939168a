"""The public statistics page: the counts of the operators' statistics, as charts and as a table of the same numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from credo.rulebook_file import parse_rulebook
from credo.web.charts import WIDTH, bars
from tests.apisupport import API_YAML, OTHER_PERSON, Api, record
from tests.websupport import listed


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with listed(tmp_path) as api:
        yield api


def _rows(page: str) -> dict[str, int]:
    return {
        label: int(n.replace(",", ""))
        for label, n in re.findall(r'<th scope="row">([^<]+)</th><td class="numeric">([\d,]+)</td>', page)
    }


def test_the_page_shows_the_same_counts_as_the_operators_statistics(api: Api) -> None:
    page = api.client.get("/statistics")
    assert page.status_code == 200
    stats = api.client.get("/v1/stats", headers=api.headers("operator", "ops")).json()
    shown = _rows(page.text)
    loaded = parse_rulebook(API_YAML)
    assert loaded.rulebook is not None
    book = loaded.rulebook
    for grade in book.grades:
        assert shown[grade.grade] == stats["grades"].get(grade.grade, 0)
    for entry in (*book.lists, *book.measures):
        counted = stats["lists"] if entry in book.lists else stats["measures"]
        assert shown[entry.title] == counted.get(entry.id, 0)
    assert sum(shown[g.grade] for g in book.grades) == stats["scored"] > 0
    assert stats["lists"], "someone is on a list, so the list counts are not all zero"
    assert "<svg" in page.text and 'aria-hidden="true"' in page.text  # the picture; the table is what is read


def test_the_counts_are_reused_for_a_minute(api: Api) -> None:
    first = _rows(api.client.get("/statistics").text)
    api.push(record("J-2", subject=OTHER_PERSON))
    assert _rows(api.client.get("/statistics").text) == first
    api.client.app.state.public_counts = None  # as a minute later
    assert _rows(api.client.get("/statistics").text) != first


def test_bars_are_scaled_to_the_largest_and_a_small_count_still_shows() -> None:
    chart = bars([("a", 1000), ("b", 1), ("c", 0)])
    longest, tiny, none = chart.bars
    assert longest.width == WIDTH - 90
    assert tiny.width == 1 and none.width == 0
    assert [b.y for b in chart.bars] == sorted(b.y for b in chart.bars)
    assert bars([]).bars == ()
