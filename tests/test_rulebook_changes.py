"""What changed between two rulebook versions (credo.domain.rulebook_changes): pure, part by part."""

from __future__ import annotations

from credo.domain.rulebook import Rulebook
from credo.domain.rulebook_changes import Change, FieldChange, changes_between
from credo.rulebook_file import parse_rulebook
from tests.support import BASE_YAML


def book(text: str) -> Rulebook:
    loaded = parse_rulebook(text)
    assert loaded.rulebook is not None, loaded.problems
    return loaded.rulebook


def test_the_same_rulebook_has_no_changes() -> None:
    assert changes_between(book(BASE_YAML), book(BASE_YAML)) == []


def test_a_changed_field_names_the_part_the_field_and_both_values() -> None:
    newer = BASE_YAML.replace("score: {base: 1000,", "score: {base: 1040,").replace(
        "{grade: AA, min: 1030}", "{grade: AA, min: 1050}"
    )
    found = changes_between(book(BASE_YAML), book(newer))
    assert Change("score", "score", "changed", None, (FieldChange("base", 1000, 1040),)) in found
    assert Change("grade", "AA", "changed", None, (FieldChange("min", 1030, 1050),)) in found
    assert len(found) == 2


def test_added_and_removed_parts_are_found_by_what_names_them() -> None:
    old = book(BASE_YAML)
    dropped = old.model_copy(update={"measures": old.measures[1:], "rules": old.rules[:-1]})
    found = changes_between(old, dropped)
    removed = {(c.part, c.key) for c in found if c.what == "removed"}
    last = old.rules[-1]
    assert removed == {("measure", old.measures[0].id), ("rule", f"{last.category} ({', '.join(last.applies_to)})")}
    back = changes_between(dropped, old)
    assert {(c.part, c.key) for c in back if c.what == "added"} == removed
    assert all(c.title for c in back)  # a rule and a measure are named by their titles too
