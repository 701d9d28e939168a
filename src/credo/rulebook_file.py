"""Reading a rulebook from YAML, with every problem placed in the file.

Problems carry the path (``rules[3].tiers[0].points``) and the line, so an
operator can fix a rulebook without guessing. Types and unknown keys are
checked by the pydantic model, everything else by :mod:`credo.domain.policy`.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from credo.domain.policy import Path, Problem, format_path, problems_in
from credo.domain.rulebook import Rulebook
from credo.errors import BadInputError

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_RULEBOOK_BYTES",
    "LoadedRulebook",
    "PlacedProblem",
    "RulebookError",
    "load_rulebook",
    "parse_rulebook",
    "read_rulebook_text",
]

# Limits on the file itself (docs/rulebook.md, "Limits"; ADR 0010): a rulebook is a few kilobytes and a few
# levels deep, and needs no anchors or aliases, so a hostile file is refused before it costs anything.
MAX_RULEBOOK_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 20_000  # values (scalars, lists, mappings, keys included); the demo rulebook has about 800
ANCHOR_MESSAGE = "anchors and aliases (& and *) are not allowed in a rulebook; write each value out"


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


class RulebookError(BadInputError):
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


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models an annotation names directly (through Optional, unions and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif get_origin(annotation) is not tuple and get_origin(annotation) is not dict:
        for arg in get_args(annotation):
            yield from _models_in(arg)


def _inner(annotation: Any, part: str | int) -> Any:
    """The annotation one step down a problem's path, or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        info = annotation.model_fields.get(part) if isinstance(part, str) else None
        return info.annotation if info is not None else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is tuple and isinstance(part, int):
        return args[0]
    if origin is dict:
        return args[1]
    for arg in args:
        found = _inner(arg, part)
        if found is not None:
            return found
    return None


def _keys_at(path: Path) -> list[str]:
    """The keys the rulebook format allows in the mapping at ``path``."""
    annotation: Any = Rulebook
    for part in path:
        annotation = _inner(annotation, part)
    return sorted({name for model in _models_in(annotation) for name in model.model_fields})


_PLAIN_MESSAGES = {
    "missing": "required key is missing",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
    "too_short": "must not be empty",
    "date_type": "must be a date that exists, written YYYY-MM-DD",
    "date_parsing": "must be a date that exists, written YYYY-MM-DD",
    "date_from_datetime_parsing": "must be a date that exists, written YYYY-MM-DD",
    "date_from_datetime_inexact": "must be a date without a time of day, written YYYY-MM-DD",
}

_PATTERN_MESSAGES = {
    "category": "must be a dotted lowercase name such as tax.late_payment",
    "id": "must be lowercase letters, digits, '-' and '_', starting with a letter or digit",
}


def _message(detail: Any, loc: Path) -> str:
    kind = detail["type"]
    key = loc[-1] if loc else None
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(key), _keys_at(loc[:-1]), n=1, cutoff=0.75)
        return f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"
    if kind == "string_type" and isinstance(detail.get("input"), bool):
        return "must be text: put it in quotes (YAML reads yes, no, on, off, true and false as true or false)"
    if kind == "string_type" and isinstance(detail.get("input"), int | float):
        return f'must be text: put it in quotes ("{detail["input"]}")'
    if kind == "string_pattern_mismatch" and key in _PATTERN_MESSAGES:
        return _PATTERN_MESSAGES[str(key)]
    if kind in _PLAIN_MESSAGES:
        return _PLAIN_MESSAGES[kind]
    message = str(detail["msg"]).removeprefix("Value error, ")
    message = message.replace("Input should be greater than or equal to", "must be at least")
    return message.replace("Input should be", "must be")


def _data_path(loc: tuple[str | int, ...], data: Any) -> Path:
    """A pydantic location as a path in the document, without pydantic's own schema tags.

    Tags such as ``function-after[...]`` are told from keys by looking at the
    data: a key written ``"[bold]"`` in the file stays in the path.
    """
    kept: list[str | int] = []
    node = data
    for part in loc:
        is_key = isinstance(node, dict) and part in node
        if isinstance(part, str) and "[" in part and not is_key:
            continue
        kept.append(part)
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        node = node[part] if is_key or in_list else None
    return tuple(kept)


def _pydantic_problems(error: ValidationError, data: Any) -> Iterator[Problem]:
    for detail in error.errors(include_url=False):
        raw = detail["loc"]
        if detail["type"] == "invalid_key" or "[key]" in raw:  # a number where a name belongs
            head = _data_path(raw[: raw.index("[key]")] if "[key]" in raw else raw, data)
            yield Problem((*head[:-1], str(head[-1])), "a key must be text")
            continue
        loc = _data_path(raw, data)
        yield Problem(loc, _message(detail, loc))


def _place(problems: list[Problem], lines: dict[Path, int]) -> tuple[PlacedProblem, ...]:
    placed = []
    for problem in problems:
        path = problem.path
        while path and path not in lines:
            path = path[:-1]
        placed.append(PlacedProblem(lines.get(path), format_path(problem.path), problem.message))
    return tuple(sorted(set(placed), key=lambda p: (p.line or 0, p.place, p.message)))


class _Loader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so an impossible date is a placed problem, not a crash.

    It also refuses anchors and aliases (no billion laughs, no recursive structures) and nesting deeper
    than :data:`MAX_DEPTH` or with more than :data:`MAX_NODES` values, all while composing, before any
    node is expanded, recursion gets deep or time is spent on a flood of values.
    """

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, ANCHOR_MESSAGE, event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise yaml.composer.ComposerError(None, None, f"more than {MAX_NODES} values", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree (for line numbers) and the plain data built from it."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _too_large() -> PlacedProblem:
    return PlacedProblem(None, "(file)", f"larger than {MAX_RULEBOOK_BYTES // 1024} KiB: a rulebook is at most that")


def _first_line(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "unreadable"
    return first if len(first) <= 200 else first[:200] + "..."


def parse_rulebook(text: str, path: str = "<rulebook>") -> LoadedRulebook:
    """Check rulebook text; never raises for bad content."""
    checksum = hashlib.sha256(text.encode(errors="surrogatepass")).hexdigest()
    if len(text.encode(errors="surrogatepass")) > MAX_RULEBOOK_BYTES:
        return LoadedRulebook(path, checksum, None, (_too_large(),))
    try:
        node, data = _read_yaml(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        # ValueError: an explicit !!timestamp that does not exist, an integer of more than 4300 digits
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or _first_line(str(exc))
        if reason == ANCHOR_MESSAGE:
            return LoadedRulebook(path, checksum, None, (PlacedProblem(line, "(yaml)", reason),))
        return LoadedRulebook(path, checksum, None, (PlacedProblem(line, "(yaml)", f"not valid YAML: {reason}"),))
    if node is None or not isinstance(data, dict):
        return LoadedRulebook(path, checksum, None, (PlacedProblem(1, "(top)", "a rulebook is a YAML mapping"),))
    lines = dict(_lines(node))
    problems = list(_duplicate_keys(node))
    try:
        book = Rulebook.model_validate(data)
    except ValidationError as exc:
        return LoadedRulebook(path, checksum, None, _place([*problems, *_pydantic_problems(exc, data)], lines))
    problems += problems_in(book)
    if not problems:
        from credo.examples import example_problems  # examples need the scorer; keep load light

        problems += example_problems(book)
    return LoadedRulebook(path, checksum, book, _place(problems, lines))


def read_rulebook_text(path: str | FilePath) -> str:
    """A rulebook file's text, read no further than the size limit.

    Raises ``OSError`` or ``UnicodeDecodeError`` as reading does, and :class:`RulebookError` for a file
    larger than :data:`MAX_RULEBOOK_BYTES` (never read whole).
    """
    with FilePath(path).open("rb") as fh:
        raw = fh.read(MAX_RULEBOOK_BYTES + 1)
    if len(raw) > MAX_RULEBOOK_BYTES:
        raise RulebookError(str(path), (_too_large(),))
    return raw.decode("utf-8")


def load_rulebook(path: str | FilePath) -> Rulebook:
    """Read and check a rulebook file, raising :class:`RulebookError` when it is not usable."""
    name = str(path)
    try:
        text = read_rulebook_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RulebookError(name, (PlacedProblem(None, "(file)", f"cannot read: {reason}"),)) from None
    loaded = parse_rulebook(text, name)
    if not loaded.ok or loaded.rulebook is None:
        raise RulebookError(name, loaded.problems)
    return loaded.rulebook
