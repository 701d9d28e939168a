"""The synthetic town through the operational store, as a deployment would receive it.

``credo demo`` scores the town twice, on purpose: once with the batch engine
over the file (explanations, reason codes), and once by loading it into the
store through ingestion (:func:`credo.services.ingest.ingest_path`: validation,
quarantine, keyed hashes and encryption, real-time scoring chunk by chunk).
:func:`compare_with_batch` then checks, subject by subject, that the two agree.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from credo.demo.rates import CATEGORIES
from credo.rulebook_file import parse_rulebook
from credo.services.actor import Actor, operation
from credo.services.ingest import IngestSummary, ingest_path
from credo.store.audit import AuditEntry, append
from credo.store.bootstrap import Store, init_store
from credo.store.errors import StoreError
from credo.store.rulebooks import activate, publish, version_at
from credo.store.sources import add_source, list_sources
from credo.store.tables import current_scores, outbox, subjects

__all__ = ["Agreement", "StoreLoad", "compare_with_batch", "load_town", "town_sources"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class StoreLoad:
    """What loading the town into the store did."""

    rulebook_version: str
    sources_added: int
    ingest: IngestSummary
    subjects: int  # subjects in the store, each with a current score
    events: int  # outbox events written (first scores, lists entered, measures applied, ...)


@dataclass(frozen=True)
class Agreement:
    """The store's current scores against the batch engine's, subject by subject."""

    compared: int
    differ: int
    only_in_batch: int
    only_in_store: int

    @property
    def equal(self) -> bool:
        return self.differ == self.only_in_batch == self.only_in_store == 0


def town_sources() -> dict[str, list[str]]:
    """The town's sources and the categories each reports (:data:`credo.demo.rates.CATEGORIES`)."""
    found: dict[str, list[str]] = {}
    for rate in CATEGORIES:
        found.setdefault(rate.source, [])
        if rate.category not in found[rate.source]:
            found[rate.source].append(rate.category)
    return found


def load_town(
    store: Store,
    records: str,
    rulebook_text: str,
    day: dt.date,
    now: dt.datetime,
    *,
    actor: str,
    progress: Progress | None = None,
) -> StoreLoad:
    """Initialise the store, register the town's sources, put the rulebook in force, ingest the records.

    Idempotent: an existing store keeps its sources and rulebook versions, and
    ingesting the same file again finds every record unchanged. Each write is
    in the audit trail as the operator ``actor``, with the same actions as the
    commands that do it one by one (``source.add``, ``rulebook.publish``,
    ``rulebook.activate``, ``records.ingest``).
    """
    loaded = parse_rulebook(rulebook_text, "demo rulebook")
    if loaded.rulebook is None:
        raise StoreError("the demo rulebook does not pass the checker")
    book = loaded.rulebook
    if day < book.effective_from:
        raise StoreError(
            f"the store scores under the rulebook in force, and {book.version} takes effect on "
            f"{book.effective_from}, after {day}: use a later --as-of, or --no-store"
        )
    init_store(store)
    added = 0
    with store.begin() as connection:
        entries = []
        known = {source.id for source in list_sources(connection)}
        for source, categories in town_sources().items():
            if source not in known:
                add_source(connection, source, categories, now, title=f"{source} (synthetic town)")
                entries.append(_entry(actor, "source.add", {"source": source, "categories": categories}))
                added += 1
        done = publish(connection, rulebook_text, f"{book.rulebook}.yaml", now)
        if done.created:
            entries.append(_entry(actor, "rulebook.publish", {"version": done.version, "checksum": done.checksum}))
        if version_at(connection, day) != book.version:
            active = activate(connection, book.version, now)  # from its effective_from
            detail = {"version": active.version, "from": active.active_from.isoformat()}
            entries.append(_entry(actor, "rulebook.activate", detail))
        append(connection, entries, store.clock())  # when it was done; ``now`` is the town's day
    summary = ingest_path(store, records, today=day, progress=progress)
    with store.begin() as connection:
        append(connection, [_entry(actor, "records.ingest", summary.audit_detail())], store.clock())
        n_subjects = connection.execute(sa.select(sa.func.count()).select_from(current_scores)).scalar_one()
        n_events = connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
    return StoreLoad(book.version, added, summary, int(n_subjects), int(n_events))


def _entry(actor: str, action: str, detail: Mapping[str, object]) -> AuditEntry:
    return operation(Actor("operator", actor), action, detail)


def compare_with_batch(store: Store, scores: str) -> Agreement:
    """Compare every subject's stored score, grade, lists and measures with the batch output ``scores``.

    The batch names subjects by identifier, the store by keyed hash: each
    identifier of the batch output is hashed with the store's key to join them.
    """

    def ids(text: str | None) -> str:
        return json.dumps(sorted(x for x in (text or "").split(";") if x))

    con = duckdb.connect()
    try:
        batch = con.sql(
            f"SELECT subject_id, subject_kind, CAST(score AS BIGINT) AS score, grade, lists, measures "
            f"FROM read_parquet('{_quoted(scores)}')"
        ).fetchall()
        with store.begin() as connection:
            ring = store.keys(connection)
            stored = connection.execute(
                sa.select(
                    subjects.c.subject_key,
                    current_scores.c.score,
                    current_scores.c.grade,
                    current_scores.c.lists,
                    current_scores.c.measures,
                ).join(current_scores, current_scores.c.subject_id == subjects.c.id)
            ).all()
        from_batch = pa.table(
            {
                "k": pa.array([ring.subject_key(r[0], r[1]) for r in batch], pa.binary()),
                "state": pa.array([json.dumps([r[2], r[3], ids(r[4]), ids(r[5])]) for r in batch], pa.string()),
            }
        )
        from_store = pa.table(
            {
                "k": pa.array([bytes(r[0]) for r in stored], pa.binary()),
                "state": pa.array(
                    [json.dumps([r[1], r[2], json.dumps(sorted(r[3])), json.dumps(sorted(r[4]))]) for r in stored],
                    pa.string(),
                ),
            }
        )
        con.register("b", from_batch)
        con.register("s", from_store)
        compared, differ, only_b, only_s = con.sql("""
            SELECT count(*) FILTER (WHERE b.k IS NOT NULL AND s.k IS NOT NULL),
                   count(*) FILTER (WHERE b.k IS NOT NULL AND s.k IS NOT NULL AND b.state <> s.state),
                   count(*) FILTER (WHERE s.k IS NULL), count(*) FILTER (WHERE b.k IS NULL)
            FROM b FULL JOIN s ON b.k = s.k""").fetchall()[0]
    finally:
        con.close()
    return Agreement(int(compared), int(differ), int(only_b), int(only_s))


def _quoted(path: str) -> str:
    return path.replace("'", "''")
