"""What a rulebook may not say (SCORING.md): each refusal, with its place and line in the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from credo.cli.app import app
from credo.domain.policy import Problem, format_path, problems_in
from credo.domain.protected import FORBIDDEN_NAMESPACES, PROTECTED_TERMS, protected_term
from credo.rulebook_file import parse_rulebook
from tests.support import BASE_YAML, at, book, edit, line_of

PENALTY_ON_LIST = "    when: {on_list: dishonest-judgment-debtors}"
PROCUREMENT_WHEN = "    when: {dimension_at_most: {fiscal: -80}}"


def refused(text: str, place: str) -> list[tuple[int | None, str]]:
    """(line, message) of the problems at ``place``; the rulebook must be refused."""
    loaded = parse_rulebook(text)
    assert not loaded.ok
    return [(p.line, p.message) for p in at(loaded.problems, place)]


def only_at(text: str, place: str) -> str:
    """The one message at ``place``, which must be the only problem."""
    loaded = parse_rulebook(text)
    assert [p.place for p in loaded.problems] == [place], loaded.problems
    return loaded.problems[0].message


def test_format_path() -> None:
    assert format_path(("rules", 3, "tiers", 0, "points")) == "rules[3].tiers[0].points"
    assert format_path(("dimensions", "fiscal", "min")) == "dimensions.fiscal.min"
    assert format_path(()) == "(top)"
    assert str(Problem(("measures", 2, "when"), "bad")) == "measures[2].when: bad"


# -- categories that score expression, belief or who a person is -------------------------


@pytest.mark.parametrize("namespace", FORBIDDEN_NAMESPACES)
def test_forbidden_namespace_for_a_rule(namespace: str) -> None:
    category = f"{namespace}.anything"
    text = edit(BASE_YAML, "  - category: civic.volunteer_service", f"  - category: {category}")
    [(line, message)] = refused(text, "rules[2].category")
    assert line == line_of(text, category)
    assert f"the {namespace!r} namespace scores expression, belief or who a person is" in message


def test_the_full_list_of_forbidden_namespaces() -> None:
    assert set(FORBIDDEN_NAMESPACES) == {
        "speech",
        "opinion",
        "politics",
        "religion",
        "ethnicity",
        "health",
        "sexuality",
        "biometric",
        "location",
        "family",
        "association",
    }


def test_a_bare_forbidden_namespace_is_refused_too() -> None:
    text = edit(BASE_YAML, "  - category: civic.volunteer_service", "  - category: religion")
    assert refused(text, "rules[2].category")


@pytest.mark.parametrize("namespace", ["speech", "politics", "family"])
def test_forbidden_namespace_in_a_list(namespace: str) -> None:
    text = edit(
        BASE_YAML,
        "{categories: [court.judgment_default]}",
        f"{{categories: [court.judgment_default, {namespace}.posts]}}",
    )
    [(line, message)] = refused(text, "lists[0].enter_when.categories[1]")
    assert line == line_of(text, f"{namespace}.posts")
    assert namespace in message


@pytest.mark.parametrize(
    ("category", "topic"),
    [
        ("market.protest_participation", "protest or petition"),
        ("social.ethnic_minority", "ethnicity"),
        ("civic.criticised_government_online", "criticism"),
        ("platform.negative_review", "reviews and opinions"),
        ("civic.speech_therapy_volunteer", "speech"),
    ],
)
def test_a_protected_term_anywhere_in_a_category_is_refused(category: str, topic: str) -> None:
    text = edit(BASE_YAML, "  - category: civic.volunteer_service", f"  - category: {category}")
    [(line, message)] = refused(text, "rules[2].category")
    assert line == line_of(text, category)
    assert message.startswith(f"names {topic} (")
    assert message.endswith("never expression, belief or who a person is; Credo refuses such rules")


def _latin_sample(term: str) -> str:
    """A word the term matches: a stem with a suffix, a phrase as it would be written."""
    words = term.rstrip("*").split(" ")
    if term.endswith("*"):
        words[-1] += "ing"
    return " ".join(words)


EVERY_TERM = [(topic, term) for topic, terms in PROTECTED_TERMS.items() for term in terms]


@pytest.mark.parametrize(("topic", "term"), EVERY_TERM)
def test_every_protected_term_is_refused_in_a_rule_title(topic: str, term: str) -> None:
    sample = _latin_sample(term) if term.isascii() else term
    title = f"Recorded {sample} of the subject" if term.isascii() else f"记录{sample}情况"
    text = edit(BASE_YAML, "    title: Late tax payment\n", f"    title: {title}\n")
    [(line, message)] = refused(text, "rules[0].title")
    assert line == line_of(text, title)
    assert message.startswith(f"names {topic} ({term.rstrip('*')!r})")


@pytest.mark.parametrize(("topic", "term"), [(topic, term) for topic, term in EVERY_TERM if term.isascii()])
def test_every_latin_protected_term_is_refused_in_any_segment_of_a_category(topic: str, term: str) -> None:
    words = _latin_sample(term).replace(" ", "_")
    for category in (f"market.{words}", f"market.x_{words}_y", f"{words}.market", f"market.{words}.late"):
        assert protected_term(category) == (topic, term.rstrip("*")), category
    text = edit(BASE_YAML, "  - category: civic.volunteer_service", f"  - category: market.late_{words}")
    assert refused(text, "rules[2].category")


def test_the_protected_topics() -> None:
    assert list(PROTECTED_TERMS) == [
        "ethnicity",
        "religion or belief",
        "political opinion",
        "protest or petition",
        "speech",
        "criticism",
        "reviews and opinions",
        "trade union membership",
        "health",
        "sexual orientation",
        "family members' conduct",
    ]
    for topic, terms in PROTECTED_TERMS.items():
        assert any(term.isascii() for term in terms) and any(not term.isascii() for term in terms), topic


@pytest.mark.parametrize(
    "category",
    [
        "market.consumer_complaint_upheld",
        "civic.blood_donation",
        "market.critical_safety_breach",
        "market.sector_fraud",
        "credit_union.loan_default",
        "market.bad_faith_registration",
        "insurance.claim_fraud",
        "market.parent_company_default",
        "traffic.three_strikes",
        "civic.cultural_heritage_damage",
        "tax.environmental_levy_evaded",
    ],
)
def test_near_misses_are_not_refused(category: str) -> None:
    assert protected_term(category) is None
    text = edit(BASE_YAML, "  - category: civic.volunteer_service", f"  - category: {category}")
    assert parse_rulebook(text).ok, parse_rulebook(text).problems


def test_a_protected_term_in_a_list_category_is_refused() -> None:
    text = edit(
        BASE_YAML,
        "{categories: [court.judgment_default]}",
        "{categories: [court.judgment_default, civic.petition_filed]}",
    )
    [(_, message)] = refused(text, "lists[0].enter_when.categories[1]")
    assert message.startswith("names protest or petition ('petition')")


# -- penalties ------------------------------------------------------------------------------------


@pytest.mark.parametrize("basis", [None, '""', '"   "'])
def test_penalty_without_legal_basis(basis: str | None) -> None:
    old = "    legal_basis: Public procurement law, debarment clause\n"
    new = "" if basis is None else f"    legal_basis: {basis}\n"
    text = edit(BASE_YAML, old, new)
    [(line, message)] = refused(text, "measures[2].legal_basis")
    assert message == "a penalty must cite its legal basis"
    # a missing key is placed on the measure, a blank one on its own line
    assert line == line_of(text, "id: procurement-exclusion" if basis is None else f"legal_basis: {basis}")


def test_a_penalty_with_a_malformed_when_still_needs_a_legal_basis() -> None:
    text = edit(BASE_YAML, "    legal_basis: Public procurement law, debarment clause\n", "")
    text = edit(text, PROCUREMENT_WHEN, "    when: {}")
    loaded = parse_rulebook(text)
    assert {p.place for p in loaded.problems} == {"measures[2].legal_basis", "measures[2].when"}


def test_a_reward_needs_no_legal_basis() -> None:
    assert "legal_basis" not in BASE_YAML.split("id: loan-fast-track")[1].split("- id:")[0]
    assert parse_rulebook(BASE_YAML).ok


def test_penalty_by_overall_grade() -> None:
    text = edit(BASE_YAML, PROCUREMENT_WHEN, "    when: {grade_at_least: B}")
    message = only_at(text, "measures[2].when.grade_at_least")
    assert message.startswith("a penalty may not be triggered by the overall grade")
    [(line, _)] = refused(text, "measures[2].when.grade_at_least")
    assert line == line_of(text, "{grade_at_least: B}")


def test_penalty_on_a_dimension_outside_its_context() -> None:
    text = edit(BASE_YAML, PROCUREMENT_WHEN, "    when: {dimension_at_most: {fiscal: -80, legal: -10}}")
    message = only_at(text, "measures[2].when.dimension_at_most.legal")
    assert message == "the penalty depends on dimension 'legal', which is not in its context"


def test_penalty_on_a_list_entered_through_a_dimension_outside_its_context() -> None:
    # tax.late_payment is a fiscal rule; the restriction's context is [legal]
    text = edit(
        BASE_YAML, "{categories: [court.judgment_default]}", "{categories: [court.judgment_default, tax.late_payment]}"
    )
    text = edit(text, "    gravity: minor\n    points: -5\n", "    gravity: serious\n    points: -5\n")
    message = only_at(text, "measures[1].when.on_list")
    assert "entered through tax.late_payment in dimension 'fiscal', which is not in this penalty's context" in message
    [(line, _)] = refused(text, "measures[1].when.on_list")
    assert line == line_of(text, PENALTY_ON_LIST.strip())


def test_widening_the_context_makes_that_penalty_acceptable() -> None:
    text = edit(
        BASE_YAML, "{categories: [court.judgment_default]}", "{categories: [court.judgment_default, tax.late_payment]}"
    )
    text = edit(text, "    gravity: minor\n    points: -5\n", "    gravity: serious\n    points: -5\n")
    text = edit(text, "    context: [legal]\n", "    context: [legal, fiscal]\n")
    assert parse_rulebook(text).ok


def test_penalty_on_a_list_entered_by_grade() -> None:
    text = edit(BASE_YAML, PENALTY_ON_LIST, "    when: {on_list: honour-roll}")
    message = only_at(text, "measures[1].when.on_list")
    assert message == "list 'honour-roll' is entered by grade, so this penalty would follow the overall grade"


def test_a_reward_may_follow_the_grade_or_a_grade_list() -> None:
    text = edit(BASE_YAML, "    when: {grade_at_least: AA}", "    when: {on_list: honour-roll}")
    assert parse_rulebook(text).ok


# -- black lists ---------------------------------------------------------------------------------


def test_black_list_reachable_by_a_minor_rule() -> None:
    text = edit(
        BASE_YAML,
        "{categories: [court.judgment_default]}",
        "{categories: [court.judgment_default, civic.volunteer_service]}",
    )
    text = edit(text, "    context: [legal]\n", "    context: [legal, civic]\n")
    message = only_at(text, "lists[0].enter_when.categories[1]")
    assert message.startswith(
        "black list 'dishonest-judgment-debtors' can be entered by a minor rule (civic.volunteer_service)"
    )


def test_a_red_list_may_be_entered_by_a_minor_rule() -> None:
    text = edit(BASE_YAML, "    kind: black\n", "    kind: red\n")
    text = edit(
        text,
        "{categories: [court.judgment_default]}",
        "{categories: [court.judgment_default, civic.volunteer_service]}",
    )
    text = edit(text, "    context: [legal]\n", "    context: [legal, civic]\n")
    assert parse_rulebook(text).ok


def test_black_list_by_grade() -> None:
    text = edit(BASE_YAML, "    kind: red\n    title: Honour roll", "    kind: black\n    title: Low grades")
    message = only_at(text, "lists[1].enter_when")
    assert message == "a black list must be entered by adjudicated categories, not by the overall grade"


# -- references ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "place", "message"),
    [
        (
            "    dimension: civic\n",
            "    dimension: civics\n",
            "rules[2].dimension",
            "dimension 'civics' is not defined",
        ),
        (
            "    context: [fiscal]\n    when: {grade",
            "    context: [fiscal, money]\n    when: {grade",
            "measures[0].context[1]",
            "dimension 'money' is not defined",
        ),
        (
            PROCUREMENT_WHEN,
            "    when: {dimension_at_most: {fiscal: -80, money: -1}}",
            "measures[2].when.dimension_at_most.money",
            "dimension 'money' is not defined",
        ),
        (PENALTY_ON_LIST, "    when: {on_list: debtors}", "measures[1].when.on_list", "list 'debtors' is not defined"),
        (
            "{grade_at_least: AA, clean_for: 1y}",
            "{grade_at_least: AAA, clean_for: 1y}",
            "lists[1].enter_when.grade_at_least",
            "grade 'AAA' is not defined",
        ),
        (
            "    when: {grade_at_least: AA}",
            "    when: {grade_at_least: AAA}",
            "measures[0].when.grade_at_least",
            "grade 'AAA' is not defined",
        ),
    ],
)
def test_undefined_references(old: str, new: str, place: str, message: str) -> None:
    text = edit(BASE_YAML, old, new)
    assert only_at(text, place) == message


# -- ranges and grades ---------------------------------------------------------------------------------


def test_score_min_above_max() -> None:
    text = edit(BASE_YAML, "score: {base: 1000, min: 0, max: 1300}", "score: {base: 1000, min: 1400, max: 1300}")
    loaded = parse_rulebook(text)
    assert at(loaded.problems, "score.min")[0].message == "min 1400 is above max 1300"
    assert at(loaded.problems, "score.min")[0].line == line_of(text, "score:")


def test_base_outside_the_score_range() -> None:
    text = edit(BASE_YAML, "score: {base: 1000, min: 0, max: 1300}", "score: {base: 1400, min: 0, max: 1300}")
    assert only_at(text, "score.base") == "base 1400 is outside [0, 1300]"


def test_dimension_min_above_max() -> None:
    text = edit(BASE_YAML, "  legal: {min: -400, max: 0}", "  legal: {min: 10, max: 0}")
    assert only_at(text, "dimensions.legal.min") == "min 10 is above max 0"
    [(line, _)] = refused(text, "dimensions.legal.min")
    assert line == line_of(text, "legal: {min: 10")


def test_lowest_grade_above_score_min() -> None:
    text = edit(BASE_YAML, "  - {grade: B, min: 0}", "  - {grade: B, min: 100}")
    message = only_at(text, "grades[2].min")
    assert message.startswith("the lowest grade starts at 100, above score.min 0")
    [(line, _)] = refused(text, "grades[2].min")
    assert line == line_of(text, "{grade: B, min: 100}")


def test_grades_defined_twice_or_starting_together() -> None:
    text = edit(BASE_YAML, "  - {grade: A, min: 960}", "  - {grade: AA, min: 960}")
    assert only_at(text, "grades[1].grade") == "grade 'AA' is defined twice"
    text = edit(BASE_YAML, "  - {grade: A, min: 960}", "  - {grade: A, min: 1030}")
    assert only_at(text, "grades[1].min") == "two grades start at 1030"


# -- rules --------------------------------------------------------------------------------------------------


def test_two_rules_for_the_same_category_and_kind() -> None:
    extra = (
        "  - {category: tax.late_payment, applies_to: [organization], dimension: fiscal,\n"
        "     gravity: minor, points: -1, counts_for: 1y}\n"
    )
    text = edit(BASE_YAML, "lists:\n", extra + "lists:\n")
    message = only_at(text, "rules[4].category")
    assert (
        message == "a second rule for category 'tax.late_payment' and kind 'organization' (rules[0] already scores it)"
    )
    [(line, _)] = refused(text, "rules[4].category")
    assert line == line_of(text, "applies_to: [organization]")


def test_one_rule_per_kind_for_the_same_category_is_fine() -> None:
    extra = (
        "  - {category: civic.volunteer_service, applies_to: [organization], dimension: civic,\n"
        "     gravity: minor, points: 5, counts_for: 1y}\n"
    )
    assert parse_rulebook(edit(BASE_YAML, "lists:\n", extra + "lists:\n")).ok


def test_a_kind_listed_twice() -> None:
    text = edit(
        BASE_YAML,
        "    applies_to: [person]\n    dimension: civic",
        "    applies_to: [person, person]\n    dimension: civic",
    )
    assert only_at(text, "rules[2].applies_to[1]") == "kind 'person' is listed twice"


def test_two_tiers_starting_at_the_same_amount() -> None:
    text = edit(BASE_YAML, "{min_amount: 10000, points: -20}", "{min_amount: 100000, points: -20}")
    assert only_at(text, "rules[0].tiers[1].min_amount") == "two tiers start at 100000"


# -- lists and measures, shape ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "place", "message"),
    [
        (
            "{categories: [court.judgment_default]}",
            "{categories: [court.judgment_default], grade_at_least: A}",
            "lists[0].enter_when",
            "give exactly one of categories or grade_at_least",
        ),
        (
            "{categories: [court.judgment_default]}",
            "{}",
            "lists[0].enter_when",
            "give exactly one of categories or grade_at_least",
        ),
        (
            "{categories: [court.judgment_default]}",
            "{categories: [court.judgment_default], clean_for: 1y}",
            "lists[0].enter_when.clean_for",
            "clean_for goes with grade_at_least",
        ),
        (
            PROCUREMENT_WHEN,
            "    when: {dimension_at_most: {fiscal: -80}, on_list: dishonest-judgment-debtors}",
            "measures[2].when",
            "give exactly one of on_list, grade_at_least, dimension_at_most",
        ),
        (
            "  - id: honour-roll",
            "  - id: dishonest-judgment-debtors",
            "lists[1].id",
            "list 'dishonest-judgment-debtors' is defined twice",
        ),
        (
            "  - id: procurement-exclusion",
            "  - id: loan-fast-track",
            "measures[2].id",
            "measure 'loan-fast-track' is defined twice",
        ),
    ],
)
def test_list_and_measure_shapes(old: str, new: str, place: str, message: str) -> None:
    text = edit(BASE_YAML, old, new)
    assert message in [m for _, m in refused(text, place)]


# -- the domain check, without YAML ---------------------------------------------------------------------------


def test_problems_in_reports_paths() -> None:
    b = book(
        [{"category": "politics.vote", "points": -1, "counts_for": "1y"}],
        measures=[{"id": "p", "kind": "penalty", "title": "P", "context": ["fiscal"], "when": {"grade_at_least": "A"}}],
    )
    assert {(p.path, p.message.split(":")[0].split(";")[0]) for p in problems_in(b)} == {
        (("rules", 0, "category"), "the 'politics' namespace scores expression, belief or who a person is"),
        (("measures", 0, "legal_basis"), "a penalty must cite its legal basis"),
        (("measures", 0, "when", "grade_at_least"), "a penalty may not be triggered by the overall grade"),
    }


def test_every_protected_term_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "rulebook.md").read_text(encoding="utf-8")
    section = doc.split("## Protected terms", 1)[1].split("\n## ", 1)[0]
    for topic, terms in PROTECTED_TERMS.items():
        row = next(line for line in section.splitlines() if line.startswith(f"| {topic} |"))
        for term in terms:
            assert f"`{term}`" in row, (topic, term)


# -- a declared catalogue of categories -------------------------------------------------------

CATALOGUE = """\
catalogue:
  - category: tax.late_payment
    title: Tax paid after its due date
    legal_basis: Tax collection law, art. 32
  - category: court.judgment_default
    legal_basis: Civil procedure law, art. 262
  - category: civic.volunteer_service
    legal_basis: Volunteer service regulations, art. 3
  - category: traffic.violation
    legal_basis: Road traffic safety law, art. 90
"""


def with_catalogue(catalogue: str = CATALOGUE) -> str:
    return edit(BASE_YAML, "rules:\n", catalogue + "rules:\n")


def test_a_rulebook_within_its_catalogue_is_valid() -> None:
    loaded = parse_rulebook(with_catalogue())
    assert loaded.ok, loaded.problems
    assert loaded.rulebook is not None and loaded.rulebook.catalogue is not None
    assert [e.category for e in loaded.rulebook.catalogue][:2] == ["tax.late_payment", "court.judgment_default"]


def test_a_rule_outside_the_catalogue_is_refused() -> None:
    text = with_catalogue(
        edit(CATALOGUE, "  - category: traffic.violation\n    legal_basis: Road traffic safety law, art. 90\n", "")
    )
    [(line, message)] = refused(text, "rules[3].category")
    assert line == line_of(text, "- category: traffic.violation")
    assert message == (
        "category 'traffic.violation' is not in the rulebook's catalogue: "
        "add it with the law that defines the breach, or leave it out"
    )


def test_a_list_category_outside_the_catalogue_is_refused() -> None:
    text = edit(
        with_catalogue(),
        "{categories: [court.judgment_default]}",
        "{categories: [court.judgment_default, court.contempt]}",
    )
    [(_, message)] = refused(text, "lists[0].enter_when.categories[1]")
    assert message.startswith("category 'court.contempt' is not in the rulebook's catalogue")


@pytest.mark.parametrize("basis", ['""', '"  "'])
def test_a_catalogue_entry_must_cite_its_law(basis: str) -> None:
    text = with_catalogue(edit(CATALOGUE, "legal_basis: Civil procedure law, art. 262", f"legal_basis: {basis}"))
    assert only_at(text, "catalogue[1].legal_basis") == "a catalogue entry must cite the law that defines the breach"
    missing = with_catalogue(edit(CATALOGUE, "    legal_basis: Civil procedure law, art. 262\n", ""))
    assert only_at(missing, "catalogue[1].legal_basis") == "required key is missing"


def test_a_catalogue_entry_twice_or_protected_is_refused() -> None:
    twice = with_catalogue(CATALOGUE + "  - category: tax.late_payment\n    legal_basis: again\n")
    assert only_at(twice, "catalogue[4].category") == "category 'tax.late_payment' is in the catalogue twice"
    protected = with_catalogue(
        CATALOGUE + "  - category: civic.petition_filed\n    legal_basis: Letters and visits rules\n"
    )
    assert only_at(protected, "catalogue[4].category").startswith("names protest or petition ('petition')")
    titled = with_catalogue(edit(CATALOGUE, "title: Tax paid after its due date", "title: 宗教活动"))
    assert only_at(titled, "catalogue[0].title").startswith("names religion or belief ('宗教')")


def test_an_empty_catalogue_is_refused() -> None:
    assert only_at(with_catalogue("catalogue: []\n"), "catalogue") == "must not be empty"


def test_check_summarises_a_declared_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(with_catalogue(), encoding="utf-8")
    result = CliRunner().invoke(app, ["rulebook", "check", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "  catalogue  4 categories, each with the law that defines the breach\n  rules      4\n" in result.stdout
