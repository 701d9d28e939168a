"""Finding the stored subjects an identifier names: by keyed hash, the same work whether Credo holds them or not.

The keys are computed, not looked up, so how long a lookup takes does not tell who is in the store; an
identifier that is valid for neither kind is refused before anything is read.
"""

from __future__ import annotations

from credo.domain.identifiers import problem_with_identifier
from credo.domain.records import KINDS
from credo.services.unit_of_work import UnitOfWork
from credo.store.errors import NotFoundError, StoreError
from credo.store.snapshots import SubjectSnapshot, read_snapshot

__all__ = ["own_subjects", "snapshots", "subject_ids", "subject_keys", "valid_kinds"]

NOT_AN_IDENTIFIER = "the subject is not a valid identifier (resident identity number or USCC, check character included)"


def valid_kinds(identifier: str, kind: str | None = None) -> list[str]:
    """The kinds (``kind``, or each kind) the identifier is valid for, check character included."""
    return [k for k in ([kind] if kind is not None else KINDS) if problem_with_identifier(identifier, k) is None]


def subject_keys(uow: UnitOfWork, identifier: str, kind: str | None = None) -> list[bytes]:
    """The keyed hashes the identifier has as each kind it is valid for; valid for none: ``StoreError``."""
    valid = valid_kinds(identifier, kind)
    if not valid:
        raise StoreError(NOT_AN_IDENTIFIER)
    return [uow.ring.subject_key(identifier, k) for k in valid]


def snapshots(uow: UnitOfWork, identifier: str, kind: str | None = None) -> list[SubjectSnapshot]:
    """The stored subjects the identifier names, with their stored states."""
    return read_snapshot(uow.connection, subject_keys(uow, identifier, kind))


def subject_ids(uow: UnitOfWork, identifier: str, kind: str | None = None) -> list[tuple[int, str]]:
    """(surrogate id, kind) of the stored subjects the identifier names."""
    return [(s.subject_id, s.kind) for s in snapshots(uow, identifier, kind)]


def own_subjects(uow: UnitOfWork, identifier: str, kind: str | None) -> list[tuple[int, str]]:
    """A subject's own stored subjects (as :func:`subject_ids`); none is ``NotFoundError``."""
    found = subject_ids(uow, identifier, kind)
    if not found:
        raise NotFoundError("Credo holds no record about you")
    return found
