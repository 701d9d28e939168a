"""Reading a rulebook file: field-level problems, each with its place and line (SCORING.md, Rulebook)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from credo.domain.durations import parse_duration
from credo.rulebook_file import RulebookError, load_rulebook, parse_rulebook
from tests.support import BASE_YAML, VECTORS, at, edit, line_of, needs_vectors


def problems(text: str) -> list[str]:
    return [str(p) for p in parse_rulebook(text).problems]


def test_the_base_rulebook_is_valid() -> None:
    loaded = parse_rulebook(BASE_YAML, "base.yaml")
    assert loaded.ok, loaded.problems
    assert loaded.rulebook is not None
    assert loaded.rulebook.rulebook == "test-city"
    assert loaded.rulebook.rules[0].counts_for == 730
    assert loaded.rulebook.rules[0].repeat is not None
    assert loaded.rulebook.rules[0].repeat.window == 365
    assert loaded.rulebook.disputes.while_open == "suspend"
    assert loaded.rulebook.disputes.decide_within == 30
    assert loaded.checksum == hashlib.sha256(BASE_YAML.encode()).hexdigest()


@needs_vectors
@pytest.mark.parametrize("name", ["v1", "v2", "v3"])
def test_published_vector_rulebooks_load_cleanly(name: str) -> None:
    path = VECTORS / f"{name}-rulebook.yaml"
    loaded = parse_rulebook(path.read_text(encoding="utf-8"), str(path))
    assert loaded.problems == ()
    assert loaded.ok
    assert load_rulebook(path).rulebook == f"vector-{name[1]}"


# -- unknown keys --------------------------------------------------------------------


def test_unknown_key_deep_in_a_list_has_its_place_and_line() -> None:
    text = edit(BASE_YAML, "{min_amount: 500, points: -10}", "{min_amount: 500, points: -10, colour: red}")
    found = at(parse_rulebook(text).problems, "rules[3].tiers[0].colour")
    assert len(found) == 1
    assert found[0].line == line_of(text, "colour: red")
    assert found[0].message == "unknown key"


def test_unknown_key_suggests_the_key_meant() -> None:
    text = edit(BASE_YAML, "    counts_for: 5y\n", "    count_for: 5y\n")
    found = at(parse_rulebook(text).problems, "rules[1].count_for")
    assert found[0].message == "unknown key (did you mean 'counts_for'?)"
    assert found[0].line == line_of(text, "count_for: 5y")
    # and the real key is now missing, placed on the rule
    missing = at(parse_rulebook(text).problems, "rules[1].counts_for")
    assert missing[0].message == "required key is missing"
    assert missing[0].line == line_of(text, "category: court.judgment_default")


@pytest.mark.parametrize(
    ("old", "new", "place"),
    [
        ("description: A rulebook for tests.\n", "owner: someone\n", "owner"),
        (
            "    title: Late tax payment\n",
            "    title: Late tax payment\n    reaches_family: true\n",
            "rules[0].reaches_family",
        ),
        (
            "    enter_when: {categories: [court.judgment_default]}",
            "    enter_when: {categories: [court.judgment_default], relatives: true}",
            "lists[0].enter_when.relatives",
        ),
        (
            "    when: {on_list: dishonest-judgment-debtors}",
            "    when: {on_list: dishonest-judgment-debtors}\n    also_applies_to: [children]",
            "measures[1].also_applies_to",
        ),
        ("score: {base: 1000, min: 0, max: 1300}", "score: {base: 1000, min: 0, max: 1300, step: 5}", "score.step"),
        ("  civic: {min: 0, max: 100}", "  civic: {min: 0, max: 100, weight: 2}", "dimensions.civic.weight"),
    ],
)
def test_unknown_keys_are_errors_everywhere(old: str, new: str, place: str) -> None:
    text = edit(BASE_YAML, old, new)
    found = at(parse_rulebook(text).problems, place)
    assert [p.message.split(" (")[0] for p in found] == ["unknown key"]
    assert found[0].line == line_of(text, place.rsplit(".", 1)[-1] + ":")


# -- missing keys -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["rulebook", "version", "effective_from", "score", "grades", "dimensions"])
def test_missing_top_level_key(key: str) -> None:
    lines = BASE_YAML.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    text = "".join(lines[:start] + lines[end:])
    found = at(parse_rulebook(text).problems, key)
    assert [(p.line, p.message) for p in found] == [(1, "required key is missing")]


CIVIC_RULE = """\
  - category: civic.volunteer_service
    applies_to: [person]
    dimension: civic
    gravity: minor
    points: 10
    counts_for: 1y
"""


@pytest.mark.parametrize("key", ["category", "dimension", "gravity", "points", "counts_for"])
def test_missing_rule_key_is_placed_on_the_rule(key: str) -> None:
    kept = [line for line in CIVIC_RULE.splitlines(keepends=True) if not line[4:].startswith(f"{key}:")]
    kept[0] = "  - " + kept[0][4:]  # the list dash moves to the first key left
    text = edit(BASE_YAML, CIVIC_RULE, "".join(kept))
    found = at(parse_rulebook(text).problems, f"rules[2].{key}")
    assert [p.message for p in found] == ["required key is missing"]
    assert found[0].line == line_of(text, kept[0].strip())


def test_missing_nested_keys() -> None:
    text = edit(BASE_YAML, "score: {base: 1000, min: 0, max: 1300}", "score: {base: 1000, min: 0}")
    assert problems(text) == [f"line {line_of(text, 'score:')}: score.max: required key is missing"]
    text = edit(BASE_YAML, "    kind: red\n    title: Honour roll\n", "    kind: red\n")
    assert at(parse_rulebook(text).problems, "lists[1].title")[0].message == "required key is missing"


# -- wrong types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "place", "message"),
    [
        (
            "{min_amount: 500, points: -10}",
            "{min_amount: 500, points: lots}",
            "rules[3].tiers[0].points",
            "must be a whole number",
        ),
        (
            "{min_amount: 500, points: -10}",
            "{min_amount: 500, points: -10.5}",
            "rules[3].tiers[0].points",
            "must be a whole number",
        ),
        (
            "{min_amount: 500, points: -10}",
            "{min_amount: many, points: -10}",
            "rules[3].tiers[0].min_amount",
            "must be a number",
        ),
        (
            "{min_amount: 500, points: -10}",
            "{min_amount: -1, points: -10}",
            "rules[3].tiers[0].min_amount",
            "must be between 0 and 1000000000000000",
        ),
        ('version: "2026.1"', "version: 2026.1", "version", 'must be text: put it in quotes ("2026.1")'),
        ("    points: -100\n", '    points: "-100"\n', "rules[1].points", "must be a whole number"),
        ("    gravity: grave\n", "    gravity: severe\n", "rules[1].gravity", "must be 'minor', 'serious' or 'grave'"),
        (
            "    applies_to: [person]\n    dimension: civic",
            "    applies_to: [person, robot]\n    dimension: civic",
            "rules[2].applies_to[1]",
            "must be 'person' or 'organization'",
        ),
        (
            "    applies_to: [person]\n    dimension: civic",
            "    applies_to: person\n    dimension: civic",
            "rules[2].applies_to",
            "must be a list",
        ),
        ("    decay: linear\n", "    decay: exponential\n", "rules[0].decay", "must be 'none' or 'linear'"),
        (
            "first_is_warning: true",
            "first_is_warning: maybe",
            "rules[0].repeat.first_is_warning",
            "must be true or false",
        ),
        ("factor: 2,", "factor: 0,", "rules[0].repeat.factor", "must be between 1 and 100"),
        ("factor: 2,", "factor: 1.5,", "rules[0].repeat.factor", "must be a whole number"),
        ("  civic: {min: 0, max: 100}", "  civic: 100", "dimensions.civic", "must be a mapping of keys to values"),
        ("    kind: red\n", "    kind: pink\n", "lists[1].kind", "must be 'black' or 'red'"),
        ("    context: [legal]\n", "    context: []\n", "measures[1].context", "must not be empty"),
        ("    kind: reward\n", "    kind: bonus\n", "measures[0].kind", "must be 'reward' or 'penalty'"),
        (
            "  - id: loan-fast-track",
            "  - id: Loan Fast Track",
            "measures[0].id",
            "must be lowercase letters, digits, '-' and '_', starting with a letter or digit",
        ),
        (
            "  - category: tax.late_payment",
            "  - category: Tax.Late",
            "rules[0].category",
            "must be a dotted lowercase name such as tax.late_payment",
        ),
        (
            "effective_from: 2026-01-01",
            "effective_from: 2026-02-30",
            "effective_from",
            "must be a date that exists, written YYYY-MM-DD",
        ),
        (
            "effective_from: 2026-01-01",
            "effective_from: soon",
            "effective_from",
            "must be a date that exists, written YYYY-MM-DD",
        ),
    ],
)
def test_wrong_types_are_placed(old: str, new: str, place: str, message: str) -> None:
    text = edit(BASE_YAML, old, new)
    found = at(parse_rulebook(text).problems, place)
    assert [p.message for p in found] == [message]
    assert found[0].line == line_of(text, new.strip().splitlines()[0])


def test_a_yaml_boolean_where_text_belongs() -> None:
    text = edit(BASE_YAML, "  - {grade: B, min: 0}", "  - {grade: NO, min: 0}")
    [problem] = at(parse_rulebook(text).problems, "grades[2].grade")
    assert problem.message.startswith("must be text: put it in quotes (YAML reads yes, no, on, off")


def test_a_number_as_a_key() -> None:
    text = edit(BASE_YAML, "  civic: {min: 0, max: 100}", "  7: {min: 0, max: 100}")
    assert at(parse_rulebook(text).problems, "dimensions.7")[0].message == "a key must be text"


def test_the_whole_document_must_be_a_mapping() -> None:
    assert problems("- a\n- b\n") == ["line 1: (top): a rulebook is a YAML mapping"]
    assert problems("") == ["line 1: (top): a rulebook is a YAML mapping"]


def test_problems_are_ordered_by_line() -> None:
    text = edit(BASE_YAML, "    kind: red\n", "    kind: pink\n")
    text = edit(text, 'version: "2026.1"', "version: 3")
    lines = [p.line or 0 for p in parse_rulebook(text).problems]
    assert lines == sorted(lines)
    assert len(lines) == 2


# -- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"), [("0d", 0), ("1d", 1), ("90d", 90), ("3w", 21), ("2m", 60), ("1y", 365), ("7y", 2555)]
)
def test_durations(text: str, days: int) -> None:
    assert parse_duration(text) == days


@pytest.mark.parametrize("text", ["", "d", "90", "1.5y", "-1d", "90D", "90 d", " 90d", "01d", "1h", "1yr", "2y1d"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2x", "'2x' is not a duration: write a whole number and one of d, w, m, y (e.g. 90d, 2y)"),
        ("1.5y", "'1.5y' is not a duration: write a whole number and one of d, w, m, y (e.g. 90d, 2y)"),
        ('"90"', "'90' is not a duration: write a whole number and one of d, w, m, y (e.g. 90d, 2y)"),
        ("0d", "must be at least one day (e.g. 1d)"),
        ("[1, y]", "a duration is text such as 90d, 6m or 2y"),
    ],
)
def test_bad_counts_for_in_a_rulebook(value: str, message: str) -> None:
    text = edit(BASE_YAML, "    counts_for: 5y\n", f"    counts_for: {value}\n")
    found = at(parse_rulebook(text).problems, "rules[1].counts_for")
    assert [(p.line, p.message) for p in found] == [(line_of(text, f"counts_for: {value}"), message)]


def test_a_duration_without_unit_is_explained() -> None:
    text = edit(BASE_YAML, "    ends_after_resolution: 90d\n", "    ends_after_resolution: 90\n")
    found = at(parse_rulebook(text).problems, "rules[0].ends_after_resolution")
    assert found[0].message == "90 has no unit: a duration is a whole number and one of d, w, m, y (e.g. 90d)"


@pytest.mark.parametrize(
    ("old", "new", "place"),
    [
        ("window: 1y,", "window: 0d,", "rules[0].repeat.window"),
        ("clean_for: 1y}", "clean_for: 0d}", "lists[1].enter_when.clean_for"),
        ("score: {base", "disputes: {decide_within: 0d}\nscore: {base", "disputes.decide_within"),
    ],
)
def test_zero_length_durations_are_refused_where_they_make_no_sense(old: str, new: str, place: str) -> None:
    found = at(parse_rulebook(edit(BASE_YAML, old, new)).problems, place)
    assert [p.message for p in found] == ["must be at least one day (e.g. 1d)"]


def test_ends_after_resolution_may_be_zero() -> None:
    loaded = parse_rulebook(edit(BASE_YAML, "    ends_after_resolution: 90d\n", "    ends_after_resolution: 0d\n"))
    assert loaded.ok


# -- YAML itself -----------------------------------------------------------------------------------


def test_yaml_syntax_error_gives_a_line() -> None:
    text = edit(BASE_YAML, "    gravity: grave\n", "    gravity: [grave\n")
    found = parse_rulebook(text).problems
    assert len(found) == 1
    assert found[0].place == "(yaml)"
    assert found[0].message.startswith("not valid YAML: ")
    assert found[0].line is not None
    assert found[0].line >= line_of(text, "gravity: [grave")


def test_bad_indentation_gives_its_line() -> None:
    text = edit(BASE_YAML, 'version: "2026.1"\n', 'version: "2026.1"\n  extra: indented\n')
    found = parse_rulebook(text).problems
    assert [(p.line, p.place) for p in found] == [(line_of(text, "extra: indented"), "(yaml)")]


def test_python_tags_are_not_constructed() -> None:
    found = parse_rulebook("rulebook: !!python/object/apply:os.system [echo hi]\n").problems
    assert found[0].place == "(yaml)"
    assert "constructor" in found[0].message


def test_an_explicit_impossible_timestamp_is_a_problem_not_a_crash() -> None:
    found = parse_rulebook("rulebook: t\neffective_from: !!timestamp 2026-02-30\n").problems
    assert [p.place for p in found] == ["(yaml)"]


@pytest.mark.parametrize(
    ("old", "new", "place", "needle", "nth"),
    [
        ('version: "2026.1"\n', 'version: "2026.1"\nversion: "2026.2"\n', "version", "version:", 2),
        (
            "    dimension: legal\n    gravity: grave\n",
            "    dimension: legal\n    gravity: grave\n    dimension: fiscal\n",
            "rules[1].dimension",
            "dimension: fiscal",
            2,
        ),
        ("  civic: {min: 0, max: 100}", "  civic: {min: 0, max: 100, min: 5}", "dimensions.civic.min", "civic:", 1),
    ],
)
def test_duplicate_keys_are_refused(old: str, new: str, place: str, needle: str, nth: int) -> None:
    text = edit(BASE_YAML, old, new)
    loaded = parse_rulebook(text)
    assert not loaded.ok
    found = [p for p in at(loaded.problems, place) if p.message == "key given twice"]
    assert len(found) == 1
    assert found[0].line == line_of(text, needle, nth)


# -- files ------------------------------------------------------------------------------------------


def test_load_rulebook_returns_the_model(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(BASE_YAML, encoding="utf-8")
    assert load_rulebook(path).version == "2026.1"


def test_load_rulebook_raises_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    text = edit(edit(BASE_YAML, "    kind: red\n", "    kind: pink\n"), 'version: "2026.1"', "version: 3")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError) as caught:
        load_rulebook(path)
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith(f"{path}: invalid rulebook: line 2: version: must be text")
    assert str(caught.value).endswith("(and 1 more)")


def test_load_rulebook_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RulebookError) as caught:
        load_rulebook(tmp_path / "nowhere.yaml")
    assert [(p.place, p.message) for p in caught.value.problems] == [
        ("(file)", "cannot read: No such file or directory")
    ]


def test_load_rulebook_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rulebook: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(RulebookError) as caught:
        load_rulebook(path)
    assert caught.value.problems[0].place == "(file)"


def test_a_key_written_with_brackets_keeps_its_place() -> None:
    text = edit(BASE_YAML, "  civic: {min: 0, max: 100}", '  civic: {min: 0, max: 100, "[x]": 1}')
    found = at(parse_rulebook(text).problems, "dimensions.civic.[x]")
    assert [(p.line, p.message) for p in found] == [(line_of(text, '"[x]"'), "unknown key")]
