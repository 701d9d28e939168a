"""Errors the store raises for things an operator can fix; the CLI prints them as one line.

    StoreError                  bad input or state: unknown source, duplicate, refused publish
    ├── KeyFileError            keys missing, unreadable, too open, or not this store's
    ├── NotInitialisedError     the database has no schema yet: run ``credo init``
    ├── NotFoundError           a named thing does not exist (HTTP 404)
    ├── ForbiddenError          the caller may not do this (HTTP 403)
    ├── ConflictError           the request conflicts with the current state (HTTP 409)
    └── UnavailableError        the database failed, not the request: busy, unreachable, connection lost (HTTP 503)
        ├── StorageFullError    the disk holding the database is full (HTTP 507)
        └── AuditChainError     the audit trail does not end at its head: nothing is written (HTTP 503)

Messages never carry an identifier of a person or organisation.
"""

from __future__ import annotations

__all__ = [
    "AuditChainError",
    "ConflictError",
    "ForbiddenError",
    "KeyFileError",
    "NotFoundError",
    "NotInitialisedError",
    "StorageFullError",
    "StoreError",
    "UnavailableError",
]


class StoreError(Exception):
    """Something the operator can correct; ``str()`` is a one-line message."""


class KeyFileError(StoreError):
    """The keys cannot be used: missing, unreadable, readable by others, or belonging to another store."""


class NotInitialisedError(StoreError):
    """The database is empty or behind the code's migrations."""


class NotFoundError(StoreError):
    """Something named in a request does not exist (an API answers 404)."""


class ForbiddenError(StoreError):
    """The caller may not do this (an API answers 403): another source's record, an unregistered measure."""


class ConflictError(StoreError):
    """The request conflicts with the current state (an API answers 409): a dispute already open or decided."""


class UnavailableError(StoreError):
    """The database failed, not the request (an API answers 503): what was being written was rolled back."""


class StorageFullError(UnavailableError):
    """The disk holding the database is full (an API answers 507): nothing more can be written until space is freed."""


class AuditChainError(UnavailableError):
    """The audit trail's entries do not end where its head says (an API answers 503): no write can be logged.

    Entries were added, removed or the head was changed outside Credo; every
    audited write is refused until an operator has looked (``credo audit verify``).
    """
