"""Who a newcomer can be after the demo: one-time sign-in links, on the demo's store, for a person with a record
worth disputing, a reviewer, a bank's clerk and an operator (docs/web.md, "Looking around after the demo").

The bank is registered here (audited, as ``credo relying add`` would) because the town has sources but no one
who asks; the links are issued as ``credo signin-link`` issues them, so each is in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from credo.services import administration, signin
from credo.services.actor import Actor
from credo.services.unit_of_work import unit_of_work
from credo.store.bootstrap import Store

__all__ = ["BANK", "LINKS_LAST", "Visitor", "visitors", "worth_disputing"]

BANK = "demo-bank"
BANK_MEASURES = ("preferential-credit", "high-consumption-restriction")
REVIEWER = "demo-reviewer"
OPERATOR = "demo-operator"
LINKS_LAST = "1d"  # a day: long enough to look around after the demo; each link still works once


@dataclass(frozen=True)
class Visitor:
    """Someone to sign in as: who, in plain words, and the link."""

    who: str
    link: str


def worth_disputing(records: str, scores: str) -> str | None:
    """A person on a black list because of a single record: disputing it takes them off the list.

    The first such person by identifier (the same on every run of the same town), or None.
    """
    con = duckdb.connect()
    try:
        found = con.execute(
            """
            SELECT s.subject_id
            FROM read_parquet(?) AS s
            JOIN (SELECT subject_id, count(*) AS n FROM read_parquet(?) GROUP BY subject_id) AS r USING (subject_id)
            WHERE s.subject_kind = 'person' AND s.lists LIKE '%dishonest-judgment-debtors%' AND r.n = 1
            ORDER BY s.subject_id LIMIT 1
            """,
            [scores, records],
        ).fetchall()
    finally:
        con.close()
    return str(found[0][0]) if found else None


def visitors(store: Store, subject: str | None, *, actor: str, base_url: str) -> list[Visitor]:
    """Register the demo bank if it is not yet, and issue a sign-in link for each kind of visitor."""
    operator = Actor("operator", actor)
    with unit_of_work(store) as uow:
        book = uow.rulebook()
        if BANK not in {party.id for party in administration.list_relying(uow)}:
            measures = [m for m in BANK_MEASURES if m in {x.id for x in book.measures}]
            administration.add_relying(uow, operator, BANK, measures, title="Demo City Bank (synthetic)")
        wanted: list[tuple[str, str, str, str | None]] = [
            ("a clerk at the counter of Demo City Bank", "relying", BANK, None),
            ("a reviewer of disputes", "reviewer", REVIEWER, None),
            ("an operator", "operator", OPERATOR, None),
        ]
        if subject is not None:
            wanted.insert(
                0, ("a person on the black list, with a record worth disputing", "subject", subject, "person")
            )
        return [
            Visitor(who, f"{base_url}/signin/{signin.issue_link(uow, operator, role, name, LINKS_LAST, kind=kind)}")
            for who, role, name, kind in wanted
        ]
