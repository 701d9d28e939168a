"""The operational store: sources, rulebook versions, subjects, records, quarantine, scores, outbox.

SQLAlchemy Core over SQLite (embedded default) or PostgreSQL, with the schema
kept by Alembic migrations shipped in this package (docs/adr/0004). Identifiers
never reach a table in the clear: :mod:`credo.store.keys` hashes and encrypts
them with keys kept outside the database.
"""

from credo.store.errors import KeyFileError, StoreError

__all__ = ["KeyFileError", "StoreError"]
