"""The store's tables, as SQLAlchemy Core (docs/store.md describes each one).

Core rather than the ORM: ingestion and rescoring move rows in bulk, and the
batch engine exchanges whole tables as Arrow; there is no object graph to map.
The migrations in ``credo/store/migrations`` create exactly these tables; a
test compares the two.

Nothing here holds a raw identifier: ``subjects.subject_key`` is a keyed hash,
``subjects.identifier_enc`` and ``quarantine.raw_enc`` are AES-GCM ciphertexts.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "audit_log",
    "consents",
    "current_scores",
    "decisions",
    "deliveries",
    "disputes",
    "list_members",
    "metadata",
    "outbox",
    "quarantine",
    "records",
    "relying_parties",
    "rulebook_activations",
    "rulebook_versions",
    "signin_links",
    "sources",
    "store_meta",
    "subject_contacts",
    "subjects",
    "tombstones",
    "web_sessions",
    "webhooks",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
TS = sa.DateTime(timezone=True)

store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

sources = sa.Table(
    "sources",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=True),
    sa.Column("categories", sa.JSON, nullable=False),  # list of patterns, see credo.store.sources
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

rulebook_versions = sa.Table(
    "rulebook_versions",
    metadata,
    sa.Column("version", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),  # sha256 hex of the YAML text
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("published_at", TS, nullable=False),
)

rulebook_activations = sa.Table(
    "rulebook_activations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.ForeignKey("rulebook_versions.version"), nullable=False),
    sa.Column("active_from", sa.Date, nullable=False, index=True),
    sa.Column("activated_at", TS, nullable=False),
)

subjects = sa.Table(
    "subjects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_key", sa.LargeBinary(32), nullable=False, unique=True),  # HMAC-SHA256(kind, identifier)
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("identifier_enc", sa.LargeBinary, nullable=False),  # AES-GCM, key version prefixed
    sa.Column("key_version", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sqlite_autoincrement=True,  # ids are never reused (migration 0008)
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.ForeignKey("sources.id"), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("subject_id", sa.ForeignKey("subjects.id"), nullable=False, index=True),
    sa.Column("category", sa.String(200), nullable=False),
    sa.Column("occurred_on", sa.Date, nullable=False),
    # A double, as in the batch engine: tiers compare amounts the same way on every engine.
    sa.Column("amount", sa.Float, nullable=True),
    sa.Column("resolved_on", sa.Date, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reference", sa.Text, nullable=True),
    sa.Column("content_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("is_latest", sa.Boolean, nullable=False),
    # Finds a record's versions and its latest (is_latest: the highest version, kept so by ingestion).
    sa.UniqueConstraint("source_id", "record_id", "version"),
    sqlite_autoincrement=True,  # ids are never reused (migration 0008)
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("file", sa.Text, nullable=False),
    sa.Column("row_number", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),  # never names an identifier
    sa.Column("raw_enc", sa.LargeBinary, nullable=False),  # the row as read, AES-GCM (it holds identifiers)
    sa.Column("received_at", TS, nullable=False),
    sa.Column("retried_at", TS, nullable=True),
    sa.Column("resolved_at", TS, nullable=True),
    sa.Column("state", sa.String(20), nullable=False),  # open | resolved
)

current_scores = sa.Table(
    "current_scores",
    metadata,
    sa.Column("subject_id", sa.ForeignKey("subjects.id"), primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("rulebook_version", sa.ForeignKey("rulebook_versions.version"), nullable=False),
    # NULL: a person not scored without consent (score.requires_consent; credo.domain.consent).
    sa.Column("score", sa.Integer, nullable=True),
    sa.Column("grade", sa.String(20), nullable=True),
    sa.Column("dimensions", sa.JSON, nullable=False),  # {dimension: hundredths}
    sa.Column("lists", sa.JSON, nullable=False),
    sa.Column("measures", sa.JSON, nullable=False),
    sa.Column("computed_at", TS, nullable=False),
    # The first day after as_of on which the state can change with time alone (credo.domain.changes);
    # NULL: never. A stored state is exact on every day before it.
    sa.Column("next_change", sa.Date, nullable=True, index=True),
)

list_members = sa.Table(
    "list_members",
    metadata,
    # Who is on which list now: the read model the public list lookup reads, and nothing else (ADR 0008). Kept
    # from the list events wherever they are written (credo.store.list_members), keyed by the subject's keyed hash.
    sa.Column("list_id", sa.String(100), primary_key=True),
    sa.Column("subject_key", sa.LargeBinary(32), primary_key=True),  # subjects.subject_key: HMAC-SHA256(kind, id)
    sa.Column("subject_id", sa.ForeignKey("subjects.id"), nullable=False, index=True),
    sa.Column("since", sa.Date, nullable=True),  # the day the subject last entered the list (its list_entered event)
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_id", sa.ForeignKey("subjects.id"), nullable=False, index=True),
    sa.Column("event_type", sa.String(50), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("delivered_at", TS, nullable=True, index=True),
    sqlite_autoincrement=True,  # ids are never reused (migration 0008)
)

relying_parties = sa.Table(
    "relying_parties",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("measures", sa.JSON, nullable=False),  # the measure ids it may ask about (purpose limitation)
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.String(36), nullable=False, unique=True),  # a UUID, what the relying party keeps
    sa.Column("relying_id", sa.ForeignKey("relying_parties.id"), nullable=False),
    # The surrogate subject id, not a foreign key: a decision outlives a subject's purge (issue 5). NULL: a subject
    # Credo holds nothing about, answered as one with no records (migration 0011, ADR 0008).
    sa.Column("subject_id", sa.Integer, nullable=True, index=True),
    sa.Column("measure_id", sa.String(100), nullable=False),
    sa.Column("applies", sa.Boolean, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("rulebook_version", sa.String(100), nullable=False),
    # What the answer was made on: the subject's state, the measure's trigger, the reason, the record versions.
    sa.Column("explanation", sa.JSON, nullable=False),
    sa.Column("asked_at", TS, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor_role", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),  # a principal id, or a pseudonym (credo.store.audit)
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("subject_id", sa.Integer, nullable=True, index=True),  # the surrogate id: pseudonymous
    sa.Column("purpose", sa.String(200), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),  # never an identifier or record content
    sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)

disputes = sa.Table(
    "disputes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dispute_id", sa.String(36), nullable=False, unique=True),  # a UUID, what the subject and reviewer use
    # dispute: the record is contested; repair: early removal of a resolved record is asked for (credit repair).
    sa.Column("kind", sa.String(20), nullable=False, server_default="dispute"),
    sa.Column("subject_id", sa.ForeignKey("subjects.id"), nullable=False, index=True),
    sa.Column("source_id", sa.String(100), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("statement_enc", sa.LargeBinary, nullable=False),  # the subject's own words, AES-GCM
    # Whether the record stops counting while the dispute is open: the rulebook's while_open when it was opened.
    sa.Column("suspends", sa.Boolean, nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),  # decided for the subject (removed) if still open on this day
    sa.Column("state", sa.String(20), nullable=False),  # open | decided
    # upheld | corrected | removed; repairs: granted | refused; both: moved (the source gave the record to another)
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("reasons", sa.Text, nullable=True),
    sa.Column("decided_by", sa.String(100), nullable=True),  # a reviewer's name, or "deadline"
    sa.Column("decided_on", sa.Date, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    # When it was decided (migration 0010; NULL for decisions made before): orders the subject's notices.
    sa.Column("decided_at", TS, nullable=True),
    sa.Index("ix_disputes_record", "source_id", "record_id"),
)

subject_contacts = sa.Table(
    "subject_contacts",
    metadata,
    # Where a subject wants its notices by email: given by the subject itself, removable at any time.
    sa.Column("subject_id", sa.ForeignKey("subjects.id"), primary_key=True),
    sa.Column("email_enc", sa.LargeBinary, nullable=False),  # AES-GCM, like identifiers
    sa.Column("since", TS, nullable=False),  # notices from this moment on are delivered
)

consents = sa.Table(
    "consents",
    metadata,
    # The history of a person's consent to be scored (score.requires_consent); the latest row on or before a
    # day is what holds on that day.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_id", sa.ForeignKey("subjects.id"), nullable=False, index=True),
    sa.Column("given", sa.Boolean, nullable=False),  # true: given; false: withdrawn
    sa.Column("on", sa.Date, nullable=False),
    sa.Column("at", TS, nullable=False),
    sqlite_autoincrement=True,  # ids are never reused (migration 0008)
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    # Where a relying party or a source wants its events, signed with HMAC-SHA256 under its own secret.
    sa.Column("party_kind", sa.String(20), primary_key=True),  # relying | source
    sa.Column("party_id", sa.String(100), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret_enc", sa.LargeBinary, nullable=False),  # AES-GCM; shown once to the operator who set it
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    # A replaced secret that still signs beside the new one until previous_until (a rotation's overlap).
    sa.Column("previous_secret_enc", sa.LargeBinary, nullable=True),
    sa.Column("previous_until", TS, nullable=True),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    # One row per message owed to one party: kept until delivered or given up, so nothing is lost on restart.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(20), nullable=False),  # email | webhook
    sa.Column("party_kind", sa.String(20), nullable=False),  # subject | relying | source
    sa.Column("party_id", sa.String(100), nullable=False),  # a subject's surrogate id, or the party's id
    sa.Column("event_key", sa.String(120), nullable=False),  # a notice id, or a webhook event's own id
    sa.Column("event_type", sa.String(50), nullable=False),
    sa.Column("payload_enc", sa.LargeBinary, nullable=False),  # the message as it will be sent, AES-GCM
    # pending | delivered | failed (given up) | cancelled (its webhook or address was removed or replaced)
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", TS, nullable=True, index=True),
    sa.Column("last_error", sa.Text, nullable=True),  # never holds the payload or an address
    sa.Column("created_at", TS, nullable=False),
    sa.Column("delivered_at", TS, nullable=True),
    # Whom the message is about (a surrogate id): a purge drops every message about a subject that disappears.
    sa.Column("subject_id", sa.Integer, nullable=True, index=True),
    # One message per channel, party and event, unless cancelled: an event may be owed again to a new address.
    sa.Index(
        None,
        "channel",
        "party_kind",
        "party_id",
        "event_key",
        unique=True,
        sqlite_where=sa.text("state <> 'cancelled'"),
        postgresql_where=sa.text("state <> 'cancelled'"),
    ),
    sqlite_autoincrement=True,  # ids are never reused (migration 0008)
)

tombstones = sa.Table(
    "tombstones",
    metadata,
    # What is left of a purged record (retention): no subject and no content, only that it was and went.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_id", sa.String(100), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("versions", sa.Integer, nullable=False),
    sa.Column("category", sa.String(200), nullable=False),
    sa.Column("content_hash", sa.LargeBinary(32), nullable=False),  # of the latest version
    sa.Column("counted_until", sa.Date, nullable=True),  # the last day it could count; NULL: it never counted
    sa.Column("purged_on", sa.Date, nullable=False),
    sa.Column("purged_at", TS, nullable=False),
    sa.UniqueConstraint("source_id", "record_id"),
)

# Signing in to the pages (docs/web.md): a one-time link an operator issues, and the session it starts. Codes
# and session tokens are kept only as SHA-256 hashes; the principal (a subject's identifier) only encrypted.
signin_links = sa.Table(
    "signin_links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("principal_enc", sa.LargeBinary, nullable=False),
    sa.Column("kind", sa.String(20), nullable=True),  # a subject's kind (person | organization)
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS, nullable=True),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("principal_enc", sa.LargeBinary, nullable=False),
    sa.Column("kind", sa.String(20), nullable=True),
    sa.Column("csrf", sa.String(64), nullable=False),  # the session's token for its forms
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_seen_at", TS, nullable=False),
    sa.Column("ended_at", TS, nullable=True),
)
