"""What a batch run gave, summed up in SQL over its output files.

The scores file has one row per subject with ``grade``, ``lists``,
``measures`` and (with reasons) ``reasons``, the last three being ids joined
by ``;``. Every figure here is one DuckDB aggregate over that file; Python
only puts the few resulting rows in the rulebook's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from credo.domain.rulebook import Rulebook

__all__ = ["Count", "RunSummary", "summarize"]


@dataclass(frozen=True)
class Count:
    name: str
    count: int
    share: float  # of all scored subjects, 0..1
    kind: str = ""  # black/red for lists, reward/penalty for measures
    extra: int = 0  # for reasons: how many subjects have it as their principal (first) reason


@dataclass(frozen=True)
class RunSummary:
    subjects: int
    by_kind: dict[str, int]
    grades: tuple[Count, ...]
    lists: tuple[Count, ...]
    measures: tuple[Count, ...]
    reasons: tuple[Count, ...]
    rejects: tuple[Count, ...]


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def _ids(con: duckdb.DuckDBPyConnection, table: str, column: str) -> dict[str, int]:
    """How many subjects carry each id of a ``;``-joined column."""
    rows = con.execute(
        f"""SELECT id, count(*) FROM (
                SELECT unnest(string_split({column}, ';')) AS id FROM {table}
                WHERE {column} IS NOT NULL AND {column} <> '')
            GROUP BY id"""
    ).fetchall()
    return {str(name): int(n) for name, n in rows}


def summarize(scores: str, book: Rulebook, rejects: str | None = None, top: int = 10) -> RunSummary:
    """Grade distribution, list and measure counts, top reason codes and reject reasons of one run."""
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TEMP VIEW scores AS SELECT * FROM read_parquet({_quote(scores)})").fetchall()
        columns = {row[0] for row in con.execute("DESCRIBE scores").fetchall()}
        by_kind = {
            str(k): int(n) for k, n in con.execute("SELECT subject_kind, count(*) FROM scores GROUP BY 1").fetchall()
        }
        total = sum(by_kind.values())

        def share(n: int) -> float:
            return n / total if total else 0.0

        grade_counts = {
            str(g): int(n) for g, n in con.execute("SELECT grade, count(*) FROM scores GROUP BY 1").fetchall()
        }
        grades = tuple(
            Count(g.grade, grade_counts.get(g.grade, 0), share(grade_counts.get(g.grade, 0)))
            for g in sorted(book.grades, key=lambda g: -g.min)
        )
        on_list = _ids(con, "scores", "lists")
        lists = tuple(Count(x.id, on_list.get(x.id, 0), share(on_list.get(x.id, 0)), x.kind) for x in book.lists)
        in_force = _ids(con, "scores", "measures")
        measures = tuple(
            Count(m.id, in_force.get(m.id, 0), share(in_force.get(m.id, 0)), m.kind) for m in book.measures
        )
        reasons: tuple[Count, ...] = ()
        if "reasons" in columns:
            rows = con.execute(
                f"""SELECT code, count(*) AS n, count(*) FILTER (WHERE pos = 1) AS principal FROM (
                        SELECT unnest(codes) AS code, generate_subscripts(codes, 1) AS pos FROM (
                            SELECT string_split(reasons, ';') AS codes FROM scores
                            WHERE reasons IS NOT NULL AND reasons <> ''))
                    GROUP BY code ORDER BY n DESC, code LIMIT {int(top)}"""
            ).fetchall()
            reasons = tuple(Count(str(code), int(n), share(int(n)), extra=int(p)) for code, n, p in rows)
        reject_counts: tuple[Count, ...] = ()
        if rejects and Path(rejects).is_file() and Path(rejects).stat().st_size > 0:
            con.execute(
                f"CREATE TEMP VIEW rejects AS "
                f"SELECT * FROM read_csv({_quote(rejects)}, header = true, all_varchar = true)"
            ).fetchall()
            if "reason" in {row[0] for row in con.execute("DESCRIBE rejects").fetchall()}:
                rows = con.execute("SELECT reason, count(*) AS n FROM rejects GROUP BY 1 ORDER BY n DESC, 1").fetchall()
                n_rejects = sum(int(n) for _, n in rows)
                reject_counts = tuple(Count(str(r), int(n), int(n) / n_rejects) for r, n in rows)
    finally:
        con.close()
    return RunSummary(total, by_kind, grades, lists, measures, reasons, reject_counts)


def lowest_scored(scores: str) -> str | None:
    """The subject with the lowest score (ties by identifier), or None for an empty town."""
    con = duckdb.connect()
    try:
        row = con.execute(
            "SELECT subject_id FROM read_parquet(?) ORDER BY score, subject_id LIMIT 1", [scores]
        ).fetchall()
    finally:
        con.close()
    return str(row[0][0]) if row else None
