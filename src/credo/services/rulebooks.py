"""A rulebook's life as every edge runs it: published (immutable), activated from a day, read as in force.

Publishing and activating are operators' actions in the audit trail; the published text and its versions
are public (no entry: not personal data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from credo.domain.rulebook import Rulebook
from credo.domain.rulebook_changes import Change, changes_between
from credo.services.actor import Actor, operation
from credo.services.unit_of_work import UnitOfWork
from credo.store import rulebooks

__all__ = ["InForce", "activate", "changes", "in_force", "in_force_book", "publish", "versions"]


def publish(uow: UnitOfWork, operator: Actor, text: str, path: str) -> rulebooks.Publication:
    """Store a checked rulebook as a version; the identical content again changes nothing (and is not audited)."""
    done = rulebooks.publish(uow.connection, text, path, uow.now)
    if done.created:
        detail = {"version": done.version, "checksum": done.checksum}
        uow.audit(operation(operator, "rulebook.publish", detail))
    return done


def activate(uow: UnitOfWork, operator: Actor, version: str, active_from: dt.date | None) -> rulebooks.Activation:
    """Put a published version in force from a day (default: its ``effective_from``)."""
    done = rulebooks.activate(uow.connection, version, uow.now, active_from)
    detail = {"version": done.version, "from": done.active_from.isoformat()}
    uow.audit(operation(operator, "rulebook.activate", detail))
    return done


def versions(uow: UnitOfWork) -> list[rulebooks.PublishedVersion]:
    """Every published version, oldest first, with the days it was activated from."""
    return rulebooks.list_versions(uow.connection)


def in_force(uow: UnitOfWork) -> dict[str, Any]:
    """The version in force today as published: its text, and the day it came into force."""
    version, _ = rulebooks.rulebook_at(uow.connection, uow.today)
    row = rulebooks.published_text(uow.connection, version)
    since = next(
        max(d for d in v.active_from if d <= uow.today) for v in rulebooks.list_versions(uow.connection)
        if v.version == version
    )  # fmt: skip
    return {
        "version": row.version, "name": row.name, "effective_from": row.effective_from.isoformat(),
        "checksum": row.checksum, "in_force_since": since.isoformat(), "content": row.content,
    }  # fmt: skip


@dataclass(frozen=True)
class InForce:
    """The rulebook in force today, parsed: what the public pages explain in plain words."""

    version: str
    since: dt.date
    book: Rulebook


def in_force_book(uow: UnitOfWork) -> InForce:
    """The rulebook in force today and the day it came into force (no rulebook: ``NoActiveRulebookError``)."""
    version, book = rulebooks.rulebook_at(uow.connection, uow.today)
    since = max(
        d for v in rulebooks.list_versions(uow.connection) if v.version == version for d in v.active_from
        if d <= uow.today
    )  # fmt: skip
    return InForce(version, since, book)


def changes(uow: UnitOfWork, old: str, new: str) -> list[Change]:
    """What changed from published version ``old`` to ``new`` (either not published: ``StoreError``)."""
    books = rulebooks.Versions(uow.connection)
    return changes_between(books.get(old), books.get(new))
