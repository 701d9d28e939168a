"""Aggregate statistics for operators and the public record: no subject appears in them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.store.tables import current_scores, quarantine, records, subjects

__all__ = ["store_statistics"]


def store_statistics(connection: Connection, today: dt.date) -> dict[str, Any]:
    """Grade distribution, list sizes and measures in force over the stored states, and store sizes."""
    query = sa.select(current_scores.c.grade, sa.func.count()).group_by(current_scores.c.grade)
    grades: dict[str, int] = {}
    unconsented = 0  # persons not scored without consent: no grade, not counted as scored
    for g, n in connection.execute(query):
        if g is None:
            unconsented = int(n)
        else:
            grades[str(g)] = int(n)
    lists: Counter[str] = Counter()
    measures: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    stale = 0
    for listed, applied, version, next_change in connection.execute(
        sa.select(
            current_scores.c.lists,
            current_scores.c.measures,
            current_scores.c.rulebook_version,
            current_scores.c.next_change,
        )
    ):
        lists.update(listed)
        measures.update(applied)
        versions[version] += 1
        stale += next_change is not None and next_change <= today

    def count(table: sa.Table, *where: Any) -> int:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())

    return {
        "as_of": today.isoformat(),
        "subjects": count(subjects),
        "scored": sum(grades.values()),
        "not_scored_without_consent": unconsented,
        "records": count(records, records.c.is_latest),
        "record_versions": count(records),
        "quarantine_open": count(quarantine, quarantine.c.state == "open"),
        "grades": {g: int(n) for g, n in sorted(grades.items())},
        "lists": dict(sorted(lists.items())),
        "measures": dict(sorted(measures.items())),
        "rulebook_versions": dict(sorted(versions.items())),
        "due_for_refresh": stale,
    }
