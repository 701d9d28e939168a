"""The store's errors, under :class:`credo.errors.StoreError` (the whole tree is drawn in :mod:`credo.errors`).

    StoreError                  bad input or state: unknown source, duplicate, refused publish
    ├── KeyFileError            keys missing, unreadable, too open, or not this store's
    ├── NotInitialisedError     the database has no schema yet: run ``credo init``
    ├── NotFoundError           a named thing does not exist (HTTP 404)
    ├── ForbiddenError          the caller may not do this (HTTP 403)
    ├── ConflictError           the request conflicts with the current state (HTTP 409)
    └── UnavailableError        the database failed, not the request: busy, unreachable, connection lost (HTTP 503)
        ├── StorageFullError    the disk holding the database is full (HTTP 507)
        └── AuditChainError     the audit trail does not end at its head: nothing is written (HTTP 503)

They are defined in :mod:`credo.errors` and named here too, where the store's
modules and their callers have always imported them from.
Messages never carry an identifier of a person or organisation.
"""

from __future__ import annotations

from credo.errors import (
    AuditChainError,
    ConflictError,
    ForbiddenError,
    KeyFileError,
    NotFoundError,
    NotInitialisedError,
    StorageFullError,
    StoreError,
    UnavailableError,
)

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
