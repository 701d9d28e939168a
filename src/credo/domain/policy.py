"""What a rulebook may not say, beyond its field types.

Each check returns :class:`Problem` values naming their place in the file as
a path such as ``("measures", 2, "when", "grade_at_least")``; the YAML loader
turns paths into ``measures[2].when.grade_at_least`` and a line number.
These refusals are the product's promises (published, proportionate,
context-bound), so they are code, not configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from credo.domain.protected import forbidden_namespace, protected_term
from credo.domain.rulebook import ListDef, Rulebook

__all__ = [
    "Path",
    "Problem",
    "format_path",
    "problems_in",
]

Path = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{format_path(self.path)}: {self.message}"


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top)"


def problems_in(book: Rulebook) -> list[Problem]:
    """Every cross-field problem of a rulebook whose fields are well typed."""
    checks = (_ranges, _grades, _catalogue, _rules, _lists, _measures)
    return [problem for check in checks for problem in check(book)]


def _ranges(book: Rulebook) -> Iterator[Problem]:
    s = book.score
    if s.min > s.max:
        yield Problem(("score", "min"), f"min {s.min} is above max {s.max}")
    elif not s.min <= s.base <= s.max:
        yield Problem(("score", "base"), f"base {s.base} is outside [{s.min}, {s.max}]")
    for name, bounds in book.dimensions.items():
        if bounds.min > bounds.max:
            yield Problem(("dimensions", name, "min"), f"min {bounds.min} is above max {bounds.max}")


def _grades(book: Rulebook) -> Iterator[Problem]:
    seen_names: set[str] = set()
    seen_mins: set[int] = set()
    for i, grade in enumerate(book.grades):
        if grade.grade in seen_names:
            yield Problem(("grades", i, "grade"), f"grade {grade.grade!r} is defined twice")
        if grade.min in seen_mins:
            yield Problem(("grades", i, "min"), f"two grades start at {grade.min}")
        seen_names.add(grade.grade)
        seen_mins.add(grade.min)
    lowest = min(book.grades, key=lambda g: g.min)
    if lowest.min > book.score.min:
        index = book.grades.index(lowest)
        yield Problem(
            ("grades", index, "min"),
            f"the lowest grade starts at {lowest.min}, above score.min {book.score.min}: "
            "some scores would have no grade",
        )


def _refusal(category: str) -> str | None:
    """Why a category may not be scored or enter a list, or None."""
    namespace = forbidden_namespace(category)
    if namespace:
        return f"the {namespace!r} namespace scores expression, belief or who a person is"
    found = protected_term(category)
    return _names(found) if found else None


def _names(found: tuple[str, str]) -> str:
    topic, term = found
    return f"names {topic} ({term!r}): Credo scores adjudicated conduct, never expression, belief or who a person is"


def _titles(place: Path, title: str | None, texts: Mapping[str, Any]) -> Iterator[tuple[Path, str]]:
    """A part's title and its title in every other language the rulebook gives, each with its place."""
    if title:
        yield (*place, "title"), title
    for language, local in texts.items():
        if local.title:
            yield (*place, "texts", language, "title"), local.title


def _catalogue(book: Rulebook) -> Iterator[Problem]:
    """The catalogue's own entries, and every category used outside it (docs/rulebook.md, ``catalogue``)."""
    if book.catalogue is None:
        return
    seen: set[str] = set()
    for i, entry in enumerate(book.catalogue):
        place: Path = ("catalogue", i)
        refusal = _refusal(entry.category)
        if refusal:
            yield Problem((*place, "category"), refusal)
        if entry.category in seen:
            yield Problem((*place, "category"), f"category {entry.category!r} is in the catalogue twice")
        seen.add(entry.category)
        for title_place, title in _titles(place, entry.title, entry.texts):
            found = protected_term(title)
            if found:
                yield Problem(title_place, _names(found))
        if not entry.legal_basis.strip():
            yield Problem((*place, "legal_basis"), "a catalogue entry must cite the law that defines the breach")
    outside = "is not in the rulebook's catalogue: add it with the law that defines the breach, or leave it out"
    for i, rule in enumerate(book.rules):
        if rule.category not in seen:
            yield Problem(("rules", i, "category"), f"category {rule.category!r} {outside}")
    for i, lst in enumerate(book.lists):
        for j, category in enumerate(lst.enter_when.categories or ()):
            if category not in seen:
                yield Problem(("lists", i, "enter_when", "categories", j), f"category {category!r} {outside}")


def _rules(book: Rulebook) -> Iterator[Problem]:
    seen: dict[tuple[str, str], int] = {}
    for i, rule in enumerate(book.rules):
        refusal = _refusal(rule.category)
        if refusal:
            yield Problem(("rules", i, "category"), f"{refusal}; Credo refuses such rules")
        for title_place, title in _titles(("rules", i), rule.title, rule.texts):
            found = protected_term(title)
            if found:
                yield Problem(title_place, f"{_names(found)}; Credo refuses such rules")
        if rule.dimension not in book.dimensions:
            yield Problem(("rules", i, "dimension"), f"dimension {rule.dimension!r} is not defined")
        for j, kind in enumerate(rule.applies_to):
            if kind in rule.applies_to[:j]:
                yield Problem(("rules", i, "applies_to", j), f"kind {kind!r} is listed twice")
            elif (rule.category, kind) in seen:
                yield Problem(
                    ("rules", i, "category"),
                    f"a second rule for category {rule.category!r} and kind {kind!r} "
                    f"(rules[{seen[rule.category, kind]}] already scores it)",
                )
            else:
                seen[rule.category, kind] = i
        amounts = [t.min_amount for t in rule.tiers]
        for j, amount in enumerate(amounts):
            if amount in amounts[:j]:
                yield Problem(("rules", i, "tiers", j, "min_amount"), f"two tiers start at {amount:g}")


def _lists(book: Rulebook) -> Iterator[Problem]:
    grade_names = {g.grade for g in book.grades}
    seen: set[str] = set()
    for i, lst in enumerate(book.lists):
        place: Path = ("lists", i)
        if lst.id in seen:
            yield Problem((*place, "id"), f"list {lst.id!r} is defined twice")
        seen.add(lst.id)
        trigger = lst.enter_when
        by_category = trigger.categories is not None
        by_grade = trigger.grade_at_least is not None
        if by_category == by_grade:
            yield Problem((*place, "enter_when"), "give exactly one of categories or grade_at_least")
            continue
        if trigger.clean_for is not None and not by_grade:
            yield Problem((*place, "enter_when", "clean_for"), "clean_for goes with grade_at_least")
        if by_grade and trigger.grade_at_least not in grade_names:
            yield Problem(
                (*place, "enter_when", "grade_at_least"),
                f"grade {trigger.grade_at_least!r} is not defined",
            )
        if by_grade and lst.kind == "black":
            yield Problem(
                (*place, "enter_when"),
                "a black list must be entered by adjudicated categories, not by the overall grade",
            )
        for j, category in enumerate(trigger.categories or ()):
            refusal = _refusal(category)
            if refusal:
                yield Problem((*place, "enter_when", "categories", j), refusal)
            if lst.kind != "black":
                continue
            for rule in book.rules:
                if rule.category == category and rule.gravity == "minor":
                    yield Problem(
                        (*place, "enter_when", "categories", j),
                        f"black list {lst.id!r} can be entered by a minor rule ({category}); "
                        "only serious or grave conduct may blacklist",
                    )


def _measures(book: Rulebook) -> Iterator[Problem]:
    lists = {lst.id: lst for lst in book.lists}
    grade_names = {g.grade for g in book.grades}
    seen: set[str] = set()
    for i, measure in enumerate(book.measures):
        place: Path = ("measures", i)
        if measure.id in seen:
            yield Problem((*place, "id"), f"measure {measure.id!r} is defined twice")
        seen.add(measure.id)
        for j, dim in enumerate(measure.context):
            if dim not in book.dimensions:
                yield Problem((*place, "context", j), f"dimension {dim!r} is not defined")
        penalty = measure.kind == "penalty"
        if penalty and not (measure.legal_basis or "").strip():
            yield Problem((*place, "legal_basis"), "a penalty must cite its legal basis")
        when = measure.when
        given = [k for k in ("on_list", "grade_at_least", "dimension_at_most") if getattr(when, k) is not None]
        if len(given) != 1:
            yield Problem((*place, "when"), "give exactly one of on_list, grade_at_least, dimension_at_most")
            continue
        if when.grade_at_least is not None:
            if when.grade_at_least not in grade_names:
                yield Problem((*place, "when", "grade_at_least"), f"grade {when.grade_at_least!r} is not defined")
            if penalty:
                yield Problem(
                    (*place, "when", "grade_at_least"),
                    "a penalty may not be triggered by the overall grade: use a list or dimensions of its context",
                )
        for dim in when.dimension_at_most or {}:
            if dim not in book.dimensions:
                yield Problem((*place, "when", "dimension_at_most", dim), f"dimension {dim!r} is not defined")
            elif penalty and dim not in measure.context:
                yield Problem(
                    (*place, "when", "dimension_at_most", dim),
                    f"the penalty depends on dimension {dim!r}, which is not in its context",
                )
        if when.on_list is not None:
            yield from _on_list(book, lists, when.on_list, context=measure.context, penalty=penalty, place=place)


def _on_list(
    book: Rulebook,
    lists: dict[str, ListDef],
    list_id: str,
    *,
    context: tuple[str, ...],
    penalty: bool,
    place: Path,
) -> Iterator[Problem]:
    where: Path = (*place, "when", "on_list")
    lst = lists.get(list_id)
    if lst is None:
        yield Problem(where, f"list {list_id!r} is not defined")
        return
    if not penalty:
        return
    if lst.enter_when.grade_at_least is not None:
        yield Problem(where, f"list {list_id!r} is entered by grade, so this penalty would follow the overall grade")
        return
    for category in lst.enter_when.categories or ():
        for rule in book.rules:
            if rule.category == category and rule.dimension not in context:
                yield Problem(
                    where,
                    f"list {list_id!r} is entered through {category} in dimension {rule.dimension!r}, "
                    "which is not in this penalty's context",
                )
