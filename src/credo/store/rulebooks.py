"""Published rulebook versions and their activations.

A published version is immutable: its YAML and sha256 are stored as sent, so
any stored score can be recomputed under exactly the rules it was made with.
Activations are a history too: the version in force on a date is the one with
the latest ``active_from`` on or before it (ties: the later activation wins).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.rulebook import Rulebook
from credo.errors import NoActiveRulebookError
from credo.rulebook_file import parse_rulebook
from credo.store.errors import StoreError
from credo.store.tables import rulebook_activations, rulebook_versions

__all__ = [
    "Activation",
    "NoActiveRulebookError",
    "PublishedVersion",
    "Switch",
    "Versions",
    "activate",
    "categories_known",
    "list_versions",
    "publish",
    "published_text",
    "rulebook_at",
    "version_at",
    "version_switches",
    "versions_in_force",
]


@dataclass(frozen=True)
class PublishedVersion:
    version: str
    name: str
    checksum: str
    effective_from: dt.date
    published_at: dt.datetime
    active_from: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class Publication:
    version: str
    checksum: str
    created: bool  # False: the identical content was already published


@dataclass(frozen=True)
class Activation:
    version: str
    active_from: dt.date


def publish(connection: Connection, text: str, path: str, now: dt.datetime) -> Publication:
    """Store a checked rulebook as an immutable version; identical content again is a no-op."""
    loaded = parse_rulebook(text, path)
    if not loaded.ok or loaded.rulebook is None:
        first = loaded.problems[0] if loaded.problems else "no details"
        more = f" (and {len(loaded.problems) - 1} more; see credo rulebook check)" if len(loaded.problems) > 1 else ""
        raise StoreError(f"{path} is not a valid rulebook: {first}{more}")
    book = loaded.rulebook
    checksum = hashlib.sha256(text.encode()).hexdigest()
    existing = connection.execute(
        sa.select(rulebook_versions.c.checksum).where(rulebook_versions.c.version == book.version)
    ).scalar()
    if existing == checksum:
        return Publication(book.version, checksum, created=False)
    if existing is not None:
        raise StoreError(
            f"version {book.version} is already published with other content (sha256 {existing[:12]}...); "
            "a published version never changes: give the new rulebook a new version"
        )
    connection.execute(
        sa.insert(rulebook_versions).values(
            version=book.version,
            name=book.rulebook,
            checksum=checksum,
            content=text,
            effective_from=book.effective_from,
            published_at=now,
        )
    )
    return Publication(book.version, checksum, created=True)


def activate(connection: Connection, version: str, now: dt.datetime, active_from: dt.date | None = None) -> Activation:
    """Put a published version in force from a date (default: its ``effective_from``)."""
    effective = connection.execute(
        sa.select(rulebook_versions.c.effective_from).where(rulebook_versions.c.version == version)
    ).scalar()
    if effective is None:
        raise StoreError(f"rulebook version {version} is not published: run credo rulebook publish first")
    start = active_from or effective
    connection.execute(sa.insert(rulebook_activations).values(version=version, active_from=start, activated_at=now))
    return Activation(version, start)


def list_versions(connection: Connection) -> list[PublishedVersion]:
    rows = connection.execute(
        sa.select(rulebook_versions).order_by(rulebook_versions.c.published_at, rulebook_versions.c.version)
    ).all()
    activations: dict[str, list[dt.date]] = {}
    query = sa.select(rulebook_activations.c.version, rulebook_activations.c.active_from).order_by(
        rulebook_activations.c.active_from, rulebook_activations.c.id
    )
    for version, start in connection.execute(query):
        activations.setdefault(version, []).append(start)
    return [
        PublishedVersion(
            r.version, r.name, r.checksum, r.effective_from, r.published_at, tuple(activations.get(r.version, ()))
        )
        for r in rows
    ]


# Built once: every rescoring asks it (a statement costs more to build than to run).
_IN_FORCE = (
    sa.select(rulebook_versions.c.version, rulebook_versions.c.content)
    .join(rulebook_activations, rulebook_activations.c.version == rulebook_versions.c.version)
    .where(rulebook_activations.c.active_from <= sa.bindparam("day", type_=sa.Date))
    .order_by(rulebook_activations.c.active_from.desc(), rulebook_activations.c.id.desc())
    .limit(1)
)


def rulebook_at(connection: Connection, day: dt.date) -> tuple[str, Rulebook]:
    """The version in force on ``day`` and its rulebook."""
    row = connection.execute(_IN_FORCE, {"day": day}).first()
    if row is None:
        first = connection.execute(sa.select(sa.func.min(rulebook_activations.c.active_from))).scalar()
        hint = f"the first active version starts on {first}" if first else "no version is activated yet"
        raise NoActiveRulebookError(f"no rulebook is in force on {day}: {hint} (credo rulebook activate)")
    return row.version, _parsed(row.version, row.content)


def versions_in_force(connection: Connection, first: dt.date, last: dt.date) -> list[tuple[dt.date, str, Rulebook]]:
    """Each version in force on some day of [first, last], with the first of those days, in order."""
    starts = connection.execute(
        sa.select(rulebook_activations.c.active_from)
        .where(rulebook_activations.c.active_from > first, rulebook_activations.c.active_from <= last)
        .distinct()
    ).scalars()
    found: list[tuple[dt.date, str, Rulebook]] = []
    for day in sorted({first, *starts}):
        version, book = rulebook_at(connection, day)
        if not found or found[-1][1] != version:
            found.append((day, version, book))
    return found


def categories_known(connection: Connection, today: dt.date | None) -> set[str] | None:
    """The categories a version in force on ``today``, or activated for a later day, knows; None without any.

    A rulebook knows the categories of its rules, of its lists' ``enter_when`` and of its ``catalogue``.
    ``today`` None: every activated version.
    """
    query = sa.select(rulebook_activations.c.version, rulebook_activations.c.active_from)
    activations = connection.execute(query).all()
    if not activations:
        return None
    wanted = {v for v, start in activations if today is None or start > today}
    if today is not None:
        row = connection.execute(_IN_FORCE, {"day": today}).first()
        if row is not None:
            wanted.add(row.version)
    known: set[str] = set()
    rows = connection.execute(
        sa.select(rulebook_versions.c.version, rulebook_versions.c.content).where(
            rulebook_versions.c.version.in_(sorted(wanted))
        )
    )
    for version, content in rows:
        book = _parsed(version, content)
        known.update(rule.category for rule in book.rules)
        known.update(c for lst in book.lists for c in lst.enter_when.categories or ())
        known.update(entry.category for entry in book.catalogue or ())
    return known


class Versions:
    """Published rulebook versions by name: each read at most once per use, parsed at most once per process.

    The one rulebook cache: :func:`_parsed` keeps what was parsed (by version and text, so two stores in one
    process cannot mix), and this keeps a use (a rescoring, a refresh) from reading a version twice.
    :meth:`get` is for a version the caller must score with (not published: ``StoreError``);
    :meth:`previous` for an earlier state's version, which events about dropped lists and measures may use
    (not published: None).
    """

    def __init__(self, connection: Connection, known: Mapping[str, Rulebook] | None = None) -> None:
        self.connection = connection
        self.found: dict[str, Rulebook | None] = dict(known or {})

    def previous(self, version: str) -> Rulebook | None:
        if version not in self.found:
            content = self.connection.execute(
                sa.select(rulebook_versions.c.content).where(rulebook_versions.c.version == version)
            ).scalar()
            self.found[version] = None if content is None else _parsed(version, content)
        return self.found[version]

    def get(self, version: str) -> Rulebook:
        book = self.previous(version)
        if book is None:
            raise StoreError(f"rulebook version {version} is not published")
        return book


@functools.lru_cache(maxsize=32)
def _parsed(version: str, content: str) -> Rulebook:
    """A stored version parsed once per process: an ingest asks for it on every chunk."""
    loaded = parse_rulebook(content, f"rulebook version {version}")
    if loaded.rulebook is None:  # stored content was checked at publish; only a newer, stricter checker gets here
        raise StoreError(f"stored rulebook version {version} no longer passes the checker")
    return loaded.rulebook


def published_text(connection: Connection, version: str) -> Any:
    """A published version's row: its name, effective_from, checksum and the YAML text as published."""
    return connection.execute(sa.select(rulebook_versions).where(rulebook_versions.c.version == version)).one()


def version_at(connection: Connection, day: dt.date) -> str | None:
    """The rulebook version in force on ``day`` (as :func:`rulebook_at`), without parsing it; None before any."""
    return connection.execute(
        sa.select(rulebook_activations.c.version)
        .where(rulebook_activations.c.active_from <= day)
        .order_by(rulebook_activations.c.active_from.desc(), rulebook_activations.c.id.desc())
        .limit(1)
    ).scalar()


@dataclass(frozen=True)
class Switch:
    """From ``day`` on, another rulebook version is in force."""

    day: dt.date
    version: str


def version_switches(connection: Connection, version: str, since: dt.date, until: dt.date) -> list[Switch]:
    """The days in (since, until] on which the version in force changes, starting from ``version``.

    ``since + 1`` is looked at too: a version activated afterwards with an
    earlier ``active_from`` takes over from the first day after the stored state.
    """
    days = set(
        connection.execute(
            sa.select(rulebook_activations.c.active_from).where(
                rulebook_activations.c.active_from > since, rulebook_activations.c.active_from <= until
            )
        ).scalars()
    )
    if since < until:
        days.add(since + dt.timedelta(days=1))
    switches = []
    current = version
    for day in sorted(days):
        in_force = version_at(connection, day)
        if in_force is not None and in_force != current:
            switches.append(Switch(day, in_force))
            current = in_force
    return switches
