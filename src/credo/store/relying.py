"""Relying parties, and the measures each may ask about (purpose limitation).

Like the parties to a joint-measures memorandum, a bank or a service counter
is registered for the measures its purpose needs, and asking about any other
is refused (the API answers 403). Measures are named by id; registering one
that the active rulebook does not define is refused, so a typo cannot grant
nothing silently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from credo.store.errors import NotFoundError, StoreError
from credo.store.sources import SOURCE_ID
from credo.store.tables import relying_parties

__all__ = [
    "RelyingParty",
    "add_relying",
    "disable_relying",
    "get_relying",
    "list_relying",
]


@dataclass(frozen=True)
class RelyingParty:
    id: str
    title: str
    measures: tuple[str, ...]
    enabled: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "measures": list(self.measures), "enabled": self.enabled}


def _of(row: Any) -> RelyingParty:
    return RelyingParty(row.id, row.title, tuple(row.measures), bool(row.enabled))


_COLUMNS = (relying_parties.c.id, relying_parties.c.title, relying_parties.c.measures, relying_parties.c.enabled)


def get_relying(connection: Connection, relying_id: str) -> RelyingParty | None:
    row = connection.execute(sa.select(*_COLUMNS).where(relying_parties.c.id == relying_id)).first()
    return None if row is None else _of(row)


def list_relying(connection: Connection) -> list[RelyingParty]:
    return [_of(r) for r in connection.execute(sa.select(*_COLUMNS).order_by(relying_parties.c.id))]


def _check_measures(measures: list[str], known: set[str]) -> list[str]:
    if not measures:
        raise StoreError("a relying party needs at least one --measure")
    unknown = sorted(set(measures) - known)
    if unknown:
        raise StoreError(
            f"the rulebook in force defines no measure {', '.join(unknown)} (it has: {', '.join(sorted(known))})"
        )
    return list(dict.fromkeys(measures))


def add_relying(
    connection: Connection,
    relying_id: str,
    measures: list[str],
    known_measures: set[str],
    now: dt.datetime,
    *,
    title: str | None = None,
) -> RelyingParty:
    """Register a relying party for ``measures`` (each must be in ``known_measures``)."""
    if not SOURCE_ID.fullmatch(relying_id):
        raise StoreError(
            f"relying party id {relying_id!r} is not valid: lowercase letters, digits, '-', '_' and '.', "
            "starting with a letter or digit, at most 100 characters"
        )
    unique = _check_measures(measures, known_measures)
    if get_relying(connection, relying_id) is not None:
        raise StoreError(f"relying party {relying_id} is already registered")
    party = RelyingParty(relying_id, title or relying_id, tuple(unique), True)
    try:
        with connection.begin_nested():
            connection.execute(
                sa.insert(relying_parties).values(
                    id=party.id, title=party.title, measures=unique, enabled=True, created_at=now
                )
            )
    except IntegrityError:
        raise StoreError(f"relying party {relying_id} is already registered") from None
    return party


def disable_relying(connection: Connection, relying_id: str) -> bool:
    """Disable a party; False when it was already disabled. Its past decisions stay."""
    party = get_relying(connection, relying_id)
    if party is None:
        raise NotFoundError(f"no relying party {relying_id} is registered")
    if not party.enabled:
        return False
    connection.execute(sa.update(relying_parties).where(relying_parties.c.id == relying_id).values(enabled=False))
    return True
