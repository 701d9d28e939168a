"""Sources: registration, category patterns, and what a source may report."""

from __future__ import annotations

import datetime as dt

import pytest

from credo.store.bootstrap import Store
from credo.store.errors import StoreError
from credo.store.sources import Source, add_source, disable_source, get_source, list_sources, source_allows

NOW = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("patterns", "category", "allowed"),
    [
        (["tax.*"], "tax.late_payment", True),
        (["tax.*"], "tax.vat.late", True),
        (["tax.*"], "tax", False),
        (["tax.*"], "taxi.fare", False),
        (["tax.late_payment"], "tax.late_payment", True),
        (["tax.late_payment"], "tax.late_payment_x", False),
        (["court.judgment_default", "loan.*"], "loan.overdue", True),
        (["court.judgment_default", "loan.*"], "court.other", False),
    ],
)
def test_category_patterns_match_exactly(patterns: list[str], category: str, allowed: bool) -> None:
    source = Source("s", "S", None, tuple(patterns), True)
    reason = source_allows(source, category)
    assert (reason is None) == allowed
    if not allowed:
        assert reason == f"category {category} is not registered for source s"


def test_a_disabled_source_may_report_nothing() -> None:
    assert source_allows(Source("s", "S", None, ("tax.*",), False), "tax.x") == "source s is disabled"


def test_add_list_and_disable(store: Store) -> None:
    with store.begin() as connection:
        add_source(connection, "tax-authority", ["tax.*", "tax.*"], NOW, title="Tax", legal_basis="Tax Law art. 1")
        add_source(connection, "court", ["court.judgment_default"], NOW)
    with store.begin() as connection:
        assert [s.id for s in list_sources(connection)] == ["court", "tax-authority"]
        assert get_source(connection, "tax-authority") == Source(
            "tax-authority", "Tax", "Tax Law art. 1", ("tax.*",), True
        )
        assert disable_source(connection, "court") is True
        assert disable_source(connection, "court") is False
    with store.begin() as connection:
        court = get_source(connection, "court")
        assert court is not None and not court.enabled


@pytest.mark.parametrize(
    ("source_id", "patterns", "message"),
    [
        ("tax", ["tax.*"], "source tax is already registered"),
        ("Tax Office", ["tax.*"], "source id 'Tax Office' is not valid"),
        ("new", [], "at least one --category"),
        ("new", ["*"], "category pattern '\\*' is not valid"),
        ("new", ["tax.*.late"], "is not valid"),
        ("new", ["Tax.late"], "is not valid"),
        ("new", ["tax."], "is not valid"),
    ],
)
def test_bad_registrations_are_refused_with_a_reason(
    store: Store, source_id: str, patterns: list[str], message: str
) -> None:
    with store.begin() as connection:
        add_source(connection, "tax", ["tax.*"], NOW)
    with pytest.raises(StoreError, match=message), store.begin() as connection:
        add_source(connection, source_id, patterns, NOW)


def test_disabling_an_unknown_source_is_a_clear_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no source nope is registered"), store.begin() as connection:
        disable_source(connection, "nope")
