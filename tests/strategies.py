"""Hypothesis strategies: small random rulebooks and records that hit the contract's edges.

Values are drawn from tiny pools on purpose, so that generated data lands on
the edges the contract cares about: several records on one day, sources that
differ only by case (binary collation), amounts exactly on tier boundaries,
counting periods that end on the as-of date, linear decay landing on halves.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from credo.domain.identifiers import make_resident_id, make_uscc
from credo.domain.policy import problems_in
from credo.domain.rulebook import Rulebook

AS_OF = dt.date(2026, 6, 30)
CATEGORIES = ("tax.late", "tax.evasion", "court.default", "civic.help")
UNRULED = "misc.unscored"
PEOPLE = (make_resident_id("110101", dt.date(1980, 2, 29), 7), make_resident_id("310104", dt.date(1999, 12, 31), 42))
ORGS = (make_uscc("91110101", "MA00000A"),)
TIER_AMOUNTS = (0.0, 50.0, 100.5, 1000.0)

durations = st.integers(min_value=1, max_value=40).map(lambda d: f"{d}d")


@st.composite
def rules(draw: st.DrawFn, category: str, dims: tuple[str, ...]) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "category": category,
        "applies_to": draw(st.sampled_from([["person"], ["organization"], ["person", "organization"]])),
        "dimension": draw(st.sampled_from(dims)),
        "gravity": draw(st.sampled_from(["minor", "serious", "grave"])),
        "points": draw(st.integers(-25, 15)),
        "counts_for": draw(durations),
        "decay": draw(st.sampled_from(["none", "linear"])),
    }
    tiers = draw(st.lists(st.sampled_from(TIER_AMOUNTS), max_size=3, unique=True))
    if tiers:
        rule["tiers"] = [{"min_amount": a, "points": draw(st.integers(-60, 20))} for a in tiers]
    if draw(st.booleans()):
        rule["repeat"] = {
            "window": draw(durations),
            "factor": draw(st.integers(1, 3)),
            "first_is_warning": draw(st.booleans()),
        }
    if draw(st.booleans()):
        rule["ends_after_resolution"] = f"{draw(st.integers(0, 20))}d"
    return rule


@st.composite
def rulebooks(draw: st.DrawFn) -> Rulebook:
    dims = ("fiscal", "legal")
    dimensions = {}
    for name in dims:
        low = draw(st.integers(-80, 0))
        dimensions[name] = {"min": low, "max": draw(st.integers(low, 40))}
    score_min = draw(st.integers(0, 50))
    base = draw(st.integers(score_min, score_min + 100))
    score_max = draw(st.integers(base, base + 100))
    cats = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=len(CATEGORIES), unique=True))
    data: dict[str, Any] = {
        "rulebook": "generated",
        "version": "1",
        "effective_from": "2020-01-01",
        "score": {"base": base, "min": score_min, "max": score_max},
        "grades": [
            {"grade": "A", "min": base + draw(st.integers(-5, 10))},
            {"grade": "B", "min": base - draw(st.integers(6, 30))},
            {"grade": "C", "min": score_min},
        ],
        "dimensions": dimensions,
        "rules": [draw(rules(c, dims)) for c in cats],
        "lists": [
            {"id": "watch", "kind": "red", "title": "Watch", "enter_when": {"categories": list(cats[:2])}},
            {
                "id": "honour",
                "kind": "red",
                "title": "Honour",
                "enter_when": {"grade_at_least": "A", "clean_for": draw(durations)},
            },
        ],
        "measures": [
            {"id": "m-list", "kind": "reward", "title": "t", "context": ["legal"], "when": {"on_list": "watch"}},
            {"id": "m-grade", "kind": "reward", "title": "t", "context": ["fiscal"], "when": {"grade_at_least": "B"}},
            {
                "id": "m-dims",
                "kind": "reward",
                "title": "t",
                "context": ["fiscal", "legal"],
                "when": {"dimension_at_most": {"fiscal": draw(st.integers(-10, 5)), "legal": 0}},
            },
        ],
    }
    book = Rulebook.model_validate(data)
    if len({g.min for g in book.grades}) < 3 or problems_in(book):
        return draw(st.nothing())
    return book


@st.composite
def record_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows as a source would send them (text dates), re-sends and withdrawals included."""
    rows = []
    for _ in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(["person", "person", "organization"]))
        subject = draw(st.sampled_from(PEOPLE if kind == "person" else ORGS))
        occurred = AS_OF + dt.timedelta(days=draw(st.integers(-70, 5)))
        row: dict[str, Any] = {
            "source": draw(st.sampled_from(["court", "Court", "tax"])),
            "record_id": draw(st.sampled_from(["r1", "r2", "r3", "R1", "r10", "r4", "r5", "r6"])),
            "subject_id": subject,
            "subject_kind": kind,
            "category": draw(st.sampled_from((*CATEGORIES, UNRULED))),
            "occurred_on": occurred.isoformat(),
            "status": draw(st.sampled_from(["active", "active", "active", "withdrawn"])),
        }
        amount = draw(st.sampled_from([None, None, 0, 49.99, 50, 100.5, 999.99, 1000, 5000]))
        if amount is not None:
            row["amount"] = amount
        if draw(st.booleans()):
            row["resolved_on"] = (occurred + dt.timedelta(days=draw(st.integers(0, 30)))).isoformat()
        rows.append(row)
    return rows
