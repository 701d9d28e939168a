"""Rulebook versions: immutable once published; the version in force on a date."""

from __future__ import annotations

import datetime as dt

import pytest

from credo.store.bootstrap import Store
from credo.store.errors import StoreError
from credo.store.rulebooks import NoActiveRulebookError, activate, list_versions, publish, rulebook_at
from tests.support import BASE_YAML

NOW = dt.datetime(2026, 6, 30, tzinfo=dt.UTC)
V2 = BASE_YAML.replace('version: "2026.1"', 'version: "2026.2"').replace(
    "effective_from: 2026-01-01", "effective_from: 2026-07-01"
)
D = dt.date.fromisoformat


def test_publishing_is_immutable_and_idempotent(store: Store) -> None:
    with store.begin() as connection:
        first = publish(connection, BASE_YAML, "a.yaml", NOW)
        again = publish(connection, BASE_YAML, "a.yaml", NOW)
    assert first.created and not again.created and first.checksum == again.checksum
    changed = BASE_YAML.replace("A rulebook for tests.", "Changed.")
    with pytest.raises(StoreError, match=r"2026\.1 is already published with other content"), store.begin() as c:
        publish(c, changed, "b.yaml", NOW)
    with store.begin() as connection:
        [stored] = list_versions(connection)
    assert stored.version == "2026.1" and stored.checksum == first.checksum


def test_an_invalid_rulebook_is_not_published(store: Store) -> None:
    with pytest.raises(StoreError, match=r"bad\.yaml is not a valid rulebook"), store.begin() as connection:
        publish(connection, "rulebook: x\n", "bad.yaml", NOW)
    with store.begin() as connection:
        assert list_versions(connection) == []


def test_the_version_in_force_on_a_date(store: Store) -> None:
    with store.begin() as connection:
        publish(connection, BASE_YAML, "a.yaml", NOW)
        publish(connection, V2, "b.yaml", NOW)
        with pytest.raises(StoreError, match=r"9\.9 is not published"):
            activate(connection, "9.9", NOW)
        assert activate(connection, "2026.1", NOW).active_from == D("2026-01-01")  # default: effective_from
        assert activate(connection, "2026.2", NOW, D("2026-08-01")).active_from == D("2026-08-01")
    with store.begin() as connection:
        with pytest.raises(NoActiveRulebookError, match=r"no rulebook is in force on 2025-12-31.*2026-01-01"):
            rulebook_at(connection, D("2025-12-31"))
        assert rulebook_at(connection, D("2026-01-01"))[0] == "2026.1"
        assert rulebook_at(connection, D("2026-07-31"))[0] == "2026.1"
        version, book = rulebook_at(connection, D("2026-08-01"))
        assert version == "2026.2" and book.version == "2026.2"
        activate(connection, "2026.1", NOW, D("2026-08-01"))  # a later activation on the same day wins
        assert rulebook_at(connection, D("2026-09-01"))[0] == "2026.1"
        assert [v.active_from for v in list_versions(connection)] == [
            (D("2026-01-01"), D("2026-08-01")),
            (D("2026-08-01"),),
        ]


def test_no_activation_at_all_is_a_clear_error(store: Store) -> None:
    with pytest.raises(NoActiveRulebookError, match="no version is activated yet"), store.begin() as connection:
        rulebook_at(connection, D("2026-01-01"))
