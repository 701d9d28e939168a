"""How real-time scoring chooses between its two paths, as a value passed in (not a module constant).

The per-subject path scores each subject with the domain in Python; the bulk
path runs the store plan on an engine (:mod:`credo.engines`) for many
subjects at once. Both give the same states and events; the bulk path is
faster from a few hundred subjects on (measured: docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_POLICY", "ScoringPolicy"]


@dataclass(frozen=True)
class ScoringPolicy:
    """From ``bulk_from`` subjects on, score in bulk on the engine named ``engine``; fewer, one by one."""

    bulk_from: int = 300
    engine: str = "duckdb"

    def in_bulk(self, subjects: int) -> bool:
        return subjects >= self.bulk_from


DEFAULT_POLICY = ScoringPolicy()
