"""Sources: registration, category patterns, and what a source may report."""

from __future__ import annotations

import datetime as dt

import pytest

from credo.store.bootstrap import Store
from credo.store.errors import StoreError
from credo.store.rulebooks import activate, publish
from credo.store.sources import (
    Source,
    add_source,
    disable_source,
    get_source,
    list_sources,
    refuse_unknown_patterns,
    source_allows,
)
from tests.support import BASE_YAML

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


# -- a pattern must match a category the rulebook in force knows (issue 11, finding 26) -----------------


def _in_force(store: Store, *, active_from: dt.date | None = None) -> None:
    with store.begin() as connection:
        publish(connection, BASE_YAML, "book.yaml", NOW)
        activate(connection, "2026.1", NOW, active_from)


def test_a_pattern_matching_no_category_of_the_rulebook_in_force_is_refused(store: Store) -> None:
    _in_force(store)
    today = NOW.date()
    with pytest.raises(StoreError) as caught, store.begin() as connection:
        refuse_unknown_patterns(connection, ["court"], today)
    assert str(caught.value) == (
        "category pattern 'court' matches no category the rulebook in force knows: did you mean court.*?"
    )
    with pytest.raises(StoreError) as caught, store.begin() as connection:
        refuse_unknown_patterns(connection, ["court.*", "court.judgement_default"], today)
    assert str(caught.value) == (
        "category pattern 'court.judgement_default' matches no category the rulebook in force knows: "
        "it knows 4 categories, such as civic.volunteer_service, court.judgment_default, tax.late_payment"
    )
    with store.begin() as connection:
        refuse_unknown_patterns(connection, ["court.*", "court.judgment_default", "traffic.violation"], today)
        refuse_unknown_patterns(connection, ["Not valid!"], today)  # refused by add_source, with its own reason


def test_a_pattern_for_a_version_activated_for_later_is_accepted(store: Store) -> None:
    later = BASE_YAML.replace('version: "2026.1"', 'version: "2026.2"').replace(
        "  - category: traffic.violation", "  - category: loan.default"
    )
    _in_force(store)
    with store.begin() as connection:
        publish(connection, later, "later.yaml", NOW)
        activate(connection, "2026.2", NOW, dt.date(2026, 9, 1))
        refuse_unknown_patterns(connection, ["loan.default"], NOW.date())  # known from 2026-09-01
        refuse_unknown_patterns(connection, ["traffic.*"], NOW.date())  # known today
        with pytest.raises(StoreError, match="traffic"):  # no longer known once 2026.2 is in force
            refuse_unknown_patterns(connection, ["traffic.*"], dt.date(2026, 9, 1))


def test_without_a_rulebook_every_valid_pattern_is_accepted(store: Store) -> None:
    with store.begin() as connection:
        refuse_unknown_patterns(connection, ["whatever.*", "court"], NOW.date())
