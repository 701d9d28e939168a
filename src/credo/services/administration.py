"""Registering who may send records (sources) and who may ask about measures (relying parties).

Every change is an operator's action in the audit trail (``source.add``, ``relying.disable``, ...); reading
the registers is not personal data and leaves no entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from credo.services.actor import Actor, operation
from credo.services.unit_of_work import UnitOfWork
from credo.store import relying, sources

__all__ = [
    "SourceIn",
    "add_relying",
    "add_source",
    "allow_categories",
    "disable_relying",
    "disable_source",
    "list_relying",
    "list_sources",
    "source_json",
]


@dataclass(frozen=True)
class SourceIn:
    """A source to register: its id as records name it, the categories (or ``tax.*`` namespaces) it may report."""

    id: str
    categories: Sequence[str]
    title: str | None = None
    legal_basis: str | None = None


def source_json(source: sources.Source) -> dict[str, Any]:
    return {
        "id": source.id, "title": source.title, "legal_basis": source.legal_basis,
        "categories": list(source.categories), "enabled": source.enabled,
    }  # fmt: skip


def list_sources(uow: UnitOfWork) -> list[sources.Source]:
    return sources.list_sources(uow.connection)


def add_source(uow: UnitOfWork, operator: Actor, new: SourceIn) -> sources.Source:
    """Register a source; an id already registered is refused, and so is a category no rulebook knows."""
    sources.refuse_unknown_patterns(uow.connection, list(new.categories), uow.now.date())
    added = sources.add_source(
        uow.connection, new.id, list(new.categories), uow.now, title=new.title, legal_basis=new.legal_basis
    )
    uow.audit(operation(operator, "source.add", {"source": added.id, "categories": list(added.categories)}))
    return added


def allow_categories(uow: UnitOfWork, operator: Actor, source_id: str, categories: Sequence[str]) -> sources.Source:
    """Let a registered source report more categories (an unknown source: not found)."""
    if sources.get_source(uow.connection, source_id) is not None:  # an unknown source is a NotFoundError, below
        sources.refuse_unknown_patterns(uow.connection, list(categories), uow.now.date())
    changed = sources.allow_categories(uow.connection, source_id, list(categories))
    uow.audit(operation(operator, "source.allow", {"source": source_id, "categories": list(changed.categories)}))
    return changed


def disable_source(uow: UnitOfWork, operator: Actor, source_id: str) -> bool:
    """Stop accepting a source's records (they stay); False if it was disabled already."""
    return _disable(uow, operator, ("source", source_id), sources.disable_source)


def list_relying(uow: UnitOfWork) -> list[relying.RelyingParty]:
    return relying.list_relying(uow.connection)


def add_relying(
    uow: UnitOfWork, operator: Actor, relying_id: str, measures: Sequence[str], title: str | None = None
) -> relying.RelyingParty:
    """Register a relying party for measures of the rulebook in force (asking about any other is refused)."""
    known = {m.id for m in uow.rulebook().measures}
    party = relying.add_relying(uow.connection, relying_id, list(measures), known, uow.now, title=title)
    uow.audit(operation(operator, "relying.add", party.to_json()))
    return party


def disable_relying(uow: UnitOfWork, operator: Actor, relying_id: str) -> bool:
    """Stop answering a relying party (its past decisions stay); False if it was disabled already."""
    return _disable(uow, operator, ("relying", relying_id), relying.disable_relying)


def _disable(
    uow: UnitOfWork, operator: Actor, party: tuple[str, str], disable: Callable[[Connection, str], bool]
) -> bool:
    """Disable a source or relying party (``party``: kind and id); the change, not a repeat, is audited."""
    kind, party_id = party
    changed = disable(uow.connection, party_id)
    if changed:
        uow.audit(operation(operator, f"{kind}.disable", {kind: party_id}))
    return changed
