"""Registered sources, and which categories each may report.

A category pattern is either an exact category (``tax.late_payment``) or a
namespace followed by ``.*`` (``tax.*``), which matches every category under
that namespace at any depth (``tax.late_payment``, ``tax.vat.late``) but not
the namespace itself (``tax``) nor a longer word (``taxi.fare``). Matching is
exact and case-sensitive; there is no catch-all ``*``: a source reports only
what it was registered for.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from credo.domain.records import CATEGORY_PATTERN
from credo.store.errors import NotFoundError, StoreError
from credo.store.rulebooks import categories_known
from credo.store.tables import sources

__all__ = [
    "Source",
    "add_source",
    "allow_categories",
    "disable_source",
    "get_source",
    "list_sources",
    "pattern_problem",
    "refuse_unknown_patterns",
    "source_allows",
]

SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    legal_basis: str | None
    categories: tuple[str, ...]
    enabled: bool


def pattern_problem(pattern: str) -> str | None:
    """Why a category pattern is not valid, or None."""
    body = pattern[:-2] if pattern.endswith(".*") else pattern
    if not re.fullmatch(CATEGORY_PATTERN, body):
        return (
            f"category pattern {pattern!r} is not valid: use a category such as tax.late_payment "
            "or a namespace with .* such as tax.*"
        )
    return None


def matches(pattern: str, category: str) -> bool:
    if pattern.endswith(".*"):
        return category.startswith(pattern[:-1])
    return category == pattern


def refuse_unknown_patterns(connection: Connection, patterns: list[str], today: dt.date | None) -> None:
    """Refuse a pattern that matches no category the rulebook in force on ``today`` (or activated for later) knows.

    ``court`` where ``court.*`` was meant would otherwise be accepted and match nothing. Without any
    activated rulebook there is nothing to compare with, and every valid pattern is accepted. ``today``
    None: any activated version. ``credo source add`` and ``credo source allow`` call it.
    """
    known = categories_known(connection, today)
    if known is None:
        return
    for pattern in patterns:
        if pattern_problem(pattern) is not None or any(matches(pattern, category) for category in known):
            continue  # an invalid pattern is refused by add_source and allow_categories, with its reason
        if not pattern.endswith(".*") and any(matches(f"{pattern}.*", category) for category in known):
            hint = f"did you mean {pattern}.*?"
        else:
            examples = ", ".join(sorted(known)[:3])
            hint = f"it knows {len(known)} categories, such as {examples}" if known else "it has no categories"
        raise StoreError(f"category pattern {pattern!r} matches no category the rulebook in force knows: {hint}")


def source_allows(source: Source, category: str) -> str | None:
    """None when ``source`` may report ``category``; otherwise the reason, for the quarantine."""
    if not source.enabled:
        return f"source {source.id} is disabled"
    if not any(matches(p, category) for p in source.categories):
        return f"category {category} is not registered for source {source.id}"
    return None


def _row_to_source(row: sa.Row[Any, Any, Any, Any, Any]) -> Source:
    return Source(row.id, row.title, row.legal_basis, tuple(row.categories), bool(row.enabled))


_COLUMNS = (sources.c.id, sources.c.title, sources.c.legal_basis, sources.c.categories, sources.c.enabled)
# Built once: every push looks its source up, and building the statement cost more than running it.
_BY_ID = sa.select(*_COLUMNS).where(sources.c.id == sa.bindparam("source_id"))


def get_source(connection: Connection, source_id: str) -> Source | None:
    row = connection.execute(_BY_ID, {"source_id": source_id}).first()
    return None if row is None else _row_to_source(row)


def list_sources(connection: Connection) -> list[Source]:
    return [_row_to_source(row) for row in connection.execute(sa.select(*_COLUMNS).order_by(sources.c.id))]


def add_source(
    connection: Connection,
    source_id: str,
    categories: list[str],
    now: dt.datetime,
    *,
    title: str | None = None,
    legal_basis: str | None = None,
) -> Source:
    if not SOURCE_ID.fullmatch(source_id):
        raise StoreError(
            f"source id {source_id!r} is not valid: lowercase letters, digits, '-', '_' and '.', "
            "starting with a letter or digit, at most 100 characters"
        )
    if not categories:
        raise StoreError("a source needs at least one --category")
    for pattern in categories:
        if problem := pattern_problem(pattern):
            raise StoreError(problem)
    unique = list(dict.fromkeys(categories))
    if get_source(connection, source_id) is not None:
        raise StoreError(f"source {source_id} is already registered")
    source = Source(source_id, title or source_id, legal_basis, tuple(unique), True)
    try:
        with connection.begin_nested():
            connection.execute(
                sa.insert(sources).values(
                    id=source.id,
                    title=source.title,
                    legal_basis=legal_basis,
                    categories=unique,
                    enabled=True,
                    created_at=now,
                )
            )
    except IntegrityError:  # registered concurrently since the check above
        raise StoreError(f"source {source_id} is already registered") from None
    return source


def allow_categories(connection: Connection, source_id: str, categories: list[str]) -> Source:
    """Let a registered source report more categories (patterns as for :func:`add_source`); the others stay."""
    source = get_source(connection, source_id)
    if source is None:
        raise NotFoundError(f"no source {source_id} is registered")
    if not categories:
        raise StoreError("give at least one --category")
    for pattern in categories:
        if problem := pattern_problem(pattern):
            raise StoreError(problem)
    merged = list(dict.fromkeys([*source.categories, *categories]))
    connection.execute(sa.update(sources).where(sources.c.id == source_id).values(categories=merged))
    return Source(source.id, source.title, source.legal_basis, tuple(merged), source.enabled)


def disable_source(connection: Connection, source_id: str) -> bool:
    """Disable a source; False when it was already disabled. Its records stay; new ones are refused."""
    source = get_source(connection, source_id)
    if source is None:
        raise NotFoundError(f"no source {source_id} is registered")
    if not source.enabled:
        return False
    connection.execute(sa.update(sources).where(sources.c.id == source_id).values(enabled=False))
    return True
