"""What changed between two rulebook versions, part by part: pure, for people to read before and after a change.

Each rule, list, measure, grade and dimension is matched by what names it (a rule by its category and the
kinds it applies to, a list or measure by its id, a grade by its name); what is in one version only is added
or removed, and what is in both with other values is changed, field by field. The score range, dispute
rules and retention are compared as wholes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from credo.domain.rulebook import Rule, Rulebook

__all__ = ["Change", "FieldChange", "changes_between"]

Part = Literal["score", "grade", "dimension", "disputes", "retention", "rule", "list", "measure"]


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """One part that was added, removed or changed (``fields``: what changed in it, for ``changed``)."""

    part: Part
    key: str
    what: Literal["added", "removed", "changed"]
    title: str | None = None
    fields: tuple[FieldChange, ...] = ()


def _fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, before.get(name), after.get(name))
        for name in dict.fromkeys([*before, *after])
        if before.get(name) != after.get(name)
    )


def _keyed(
    part: Part, old: Mapping[str, Any], new: Mapping[str, Any], titles: Mapping[str, str | None]
) -> Iterator[Change]:
    for key in dict.fromkeys([*old, *new]):
        if key not in new:
            yield Change(part, key, "removed", titles.get(key))
        elif key not in old:
            yield Change(part, key, "added", titles.get(key))
        elif fields := _fields(old[key], new[key]):
            yield Change(part, key, "changed", titles.get(key), fields)


def _whole(part: Part, key: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Iterator[Change]:
    if old == new:
        return
    if old is None or new is None:
        yield Change(part, key, "added" if old is None else "removed")
    else:
        yield Change(part, key, "changed", None, _fields(old, new))


def changes_between(old: Rulebook, new: Rulebook) -> list[Change]:
    """Every difference from ``old`` to ``new``, in the order of the rulebook's sections."""

    def dump(model: BaseModel) -> dict[str, Any]:
        return model.model_dump(mode="json")

    def rule_key(rule: Rule) -> str:
        return f"{rule.category} ({', '.join(rule.applies_to)})"

    found: list[Change] = []
    found += _whole("score", "score", dump(old.score), dump(new.score))
    found += _keyed("grade", {g.grade: dump(g) for g in old.grades}, {g.grade: dump(g) for g in new.grades}, {})
    found += _keyed(
        "dimension",
        {n: dump(b) for n, b in old.dimensions.items()},
        {n: dump(b) for n, b in new.dimensions.items()},
        {},
    )
    found += _whole("disputes", "disputes", dump(old.disputes), dump(new.disputes))
    found += _whole(
        "retention", "retention", None if old.retention is None else dump(old.retention),
        None if new.retention is None else dump(new.retention),
    )  # fmt: skip
    titles = {rule_key(r): r.label for r in (*old.rules, *new.rules)}
    found += _keyed(
        "rule", {rule_key(r): dump(r) for r in old.rules}, {rule_key(r): dump(r) for r in new.rules}, titles
    )
    titles = {x.id: x.title for x in (*old.lists, *new.lists)}
    found += _keyed("list", {x.id: dump(x) for x in old.lists}, {x.id: dump(x) for x in new.lists}, titles)
    titles = {x.id: x.title for x in (*old.measures, *new.measures)}
    found += _keyed("measure", {x.id: dump(x) for x in old.measures}, {x.id: dump(x) for x in new.measures}, titles)
    return found
