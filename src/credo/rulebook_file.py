"""Reading a rulebook from YAML, with every problem placed in the file.

Problems carry the path (``rules[3].tiers[0].points``) and the line, so an
operator can fix a rulebook without guessing. Types and unknown keys are
checked by the pydantic model, everything else by :mod:`credo.domain.policy`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import yaml
from pydantic import ValidationError

from credo.domain.policy import Path, Problem, format_path, problems_in
from credo.domain.rulebook import Rulebook

__all__ = ["LoadedRulebook", "PlacedProblem", "RulebookError", "load_rulebook", "parse_rulebook"]


@dataclass(frozen=True, order=True)
class PlacedProblem:
    line: int | None
    place: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.place}: {self.message}"


@dataclass(frozen=True)
class LoadedRulebook:
    """A rulebook file read and checked: the model when valid, every problem otherwise."""

    path: str
    checksum: str  # sha256 of the file's bytes, so a published version can be pinned
    rulebook: Rulebook | None
    problems: tuple[PlacedProblem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.rulebook is not None and not self.problems


class RulebookError(Exception):
    """An invalid or unreadable rulebook; ``problems`` lists every one found."""

    def __init__(self, path: str, problems: tuple[PlacedProblem, ...]) -> None:
        self.path = path
        self.problems = problems
        first = problems[0] if problems else "no details"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{path}: invalid rulebook: {first}{more}")


def _lines(node: yaml.Node, path: Path = ()) -> Iterator[tuple[Path, int]]:
    """Every path in the document and the 1-based line where it starts."""
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value
            yield (*path, name), key.start_mark.line + 1
            for sub, line in _lines(value, (*path, name)):
                if sub != (*path, name):
                    yield sub, line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _lines(item, (*path, i))


def _duplicate_keys(node: yaml.Node, path: Path = ()) -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield Problem((*path, key.value), "key given twice")
            seen.add(key.value)
            yield from _duplicate_keys(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, i))


def _pydantic_problems(error: ValidationError) -> Iterator[Problem]:
    for detail in error.errors(include_url=False):
        loc = tuple(p for p in detail["loc"] if not (isinstance(p, str) and "[" in p))
        kind = detail["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "required key is missing"
        else:
            message = detail["msg"].removeprefix("Value error, ")
        yield Problem(loc, message)


def _place(problems: list[Problem], lines: dict[Path, int]) -> tuple[PlacedProblem, ...]:
    placed = []
    for problem in problems:
        path = problem.path
        while path and path not in lines:
            path = path[:-1]
        placed.append(PlacedProblem(lines.get(path), format_path(problem.path), problem.message))
    return tuple(sorted(set(placed), key=lambda p: (p.line or 0, p.place, p.message)))


def parse_rulebook(text: str, path: str = "<rulebook>") -> LoadedRulebook:
    """Check rulebook text; never raises for bad content."""
    checksum = hashlib.sha256(text.encode()).hexdigest()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return LoadedRulebook(path, checksum, None, (PlacedProblem(line, "(yaml)", f"not valid YAML: {reason}"),))
    if node is None or not isinstance(data, dict):
        return LoadedRulebook(path, checksum, None, (PlacedProblem(1, "(top)", "a rulebook is a YAML mapping"),))
    lines = dict(_lines(node))
    problems = list(_duplicate_keys(node))
    try:
        book = Rulebook.model_validate(data)
    except ValidationError as exc:
        return LoadedRulebook(path, checksum, None, _place([*problems, *_pydantic_problems(exc)], lines))
    problems += problems_in(book)
    if not problems:
        from credo.examples import example_problems  # examples need the scorer; keep load light

        problems += example_problems(book)
    return LoadedRulebook(path, checksum, book, _place(problems, lines))


def load_rulebook(path: str | FilePath) -> Rulebook:
    """Read and check a rulebook file, raising :class:`RulebookError` when it is not usable."""
    name = str(path)
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RulebookError(name, (PlacedProblem(None, "(file)", f"cannot read: {reason}"),)) from None
    loaded = parse_rulebook(text, name)
    if not loaded.ok or loaded.rulebook is None:
        raise RulebookError(name, loaded.problems)
    return loaded.rulebook
