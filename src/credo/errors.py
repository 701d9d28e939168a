"""Every error Credo raises on purpose, in one tree under :class:`CredoError` (ADR 0019).

    CredoError                      something Credo refuses or cannot do; ``str()`` is one line
    ├── BadInputError               what was given cannot be used as it stands (API 400)
    │   ├── RulebookError           a rulebook file that is invalid or unreadable (credo.rulebook_file)
    │   ├── InputError              a records file that cannot be read at all: missing, unknown format, bad bytes
    │   ├── OutputError             an output path that cannot be written: unknown extension, no folder
    │   ├── BadValueError           an option's value outside what it takes (``--as-of 2026-02-30``)
    │   └── EngineError             an engine that cannot be used as asked (``--engine``; credo.engines)
    │       ├── UnknownEngine       no engine is registered under the name
    │       └── Unsupported         the engine declares a gap for what was asked
    ├── StoreError                  the store or a service refuses the request as it stands (API 422)
    │   ├── KeyFileError            keys missing, unreadable, too open, or not this store's
    │   ├── NotInitialisedError     the database has no schema yet: run ``credo init``
    │   ├── NoActiveRulebookError   no rulebook version is in force on the date
    │   ├── NotFoundError           a named thing does not exist (API 404)
    │   │   ├── SubjectNotInStore   no stored subject has the identifier
    │   │   └── SubjectNotFound     no accepted record in the files names the subject
    │   ├── ForbiddenError          the caller may not do this (API 403)
    │   ├── ConflictError           the request conflicts with the current state (API 409)
    │   └── UnavailableError        the database failed, not the request: busy, unreachable (API 503)
    │       ├── StorageFullError    the disk holding the database is full (API 507)
    │       └── AuditChainError     the audit trail does not end at its head: nothing is written (API 503)
    ├── AuthError                   a missing, malformed, expired or untrusted token (API 401)
    ├── DeliveryError               a webhook receiver answered, but not with success
    ├── OidcError                   a sign-in with the OpenID Connect provider did not complete (credo.adapters.oidc)
    └── Problem                     an answer the API gives as it is, with its own code (credo.api.problems)

Each edge translates the tree in one place: the command line prints any
``CredoError`` as one ``error: ...`` line and exits 1 (``credo.cli.errors``);
the API answers with the RFC 9457 problem its class maps to
(``credo.api.problems.PROBLEMS``). The modules that raised these before keep
exporting them under the same names (``credo.store.errors.StoreError`` ...).

This module imports nothing from Credo, so every layer may use it, except
``domain/``, which imports nothing outside itself and raises ``ValueError``
(its callers turn that into a ``CredoError`` where it is a person's input).

Messages never carry an identifier of a person or organisation.
"""

from __future__ import annotations

__all__ = [
    "AuditChainError",
    "AuthError",
    "BadInputError",
    "BadValueError",
    "ConflictError",
    "CredoError",
    "DeliveryError",
    "EngineError",
    "ForbiddenError",
    "InputError",
    "KeyFileError",
    "NoActiveRulebookError",
    "NotFoundError",
    "NotInitialisedError",
    "OutputError",
    "StorageFullError",
    "StoreError",
    "SubjectNotFound",
    "SubjectNotInStore",
    "UnavailableError",
    "UnknownEngine",
    "Unsupported",
]


class CredoError(Exception):
    """Something a person or program can act on; ``str()`` is a one-line message without identifiers."""


class BadInputError(CredoError):
    """What was given (a file, a path, an option's value) cannot be used as it stands."""


class InputError(BadInputError):
    """The input cannot be read at all: no such file, unknown format, unreadable bytes."""


class OutputError(BadInputError):
    """An output path Credo cannot write (unknown extension, missing folder, no permission)."""


class BadValueError(BadInputError):
    """An option's value outside what it takes; the message names the option (``--as-of is not a valid date``)."""


class EngineError(BadInputError):
    """An engine cannot be used as asked (the message is one line, for the user)."""


class UnknownEngine(EngineError):
    """No engine is registered under the name."""


class Unsupported(EngineError):
    """The engine declares a gap for what was asked."""


class StoreError(CredoError):
    """Something the operator can correct; ``str()`` is a one-line message."""


class KeyFileError(StoreError):
    """The keys cannot be used: missing, unreadable, readable by others, or belonging to another store."""


class NotInitialisedError(StoreError):
    """The database is empty or behind the code's migrations."""


class NoActiveRulebookError(StoreError):
    """A date before any activated rulebook version."""


class NotFoundError(StoreError):
    """Something named in a request does not exist (an API answers 404)."""


class SubjectNotInStore(NotFoundError):
    """No subject with this identifier (the message never repeats it)."""


class SubjectNotFound(NotFoundError):
    """No accepted record in the files names the subject (the message never repeats the identifier)."""


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


class AuthError(CredoError):
    """A missing, malformed, expired or untrusted token (401); never names the principal."""


class DeliveryError(CredoError):
    """A receiver that answered, but not with success; ``permanent``: trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
